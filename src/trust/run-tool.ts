// Runs the trust stores' command-line tools (certutil, security) with the user's home and PATH.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** Where the tools run: the user's home, the environment (PATH) and the OS. */
export interface ToolContext {
  home: string
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** The first `name` on the context's PATH (with Windows' extensions), or undefined. */
export function findExecutable(name: string, ctx: ToolContext): string | undefined {
  const extensions = ctx.platform === 'win32' ? (ctx.env.PATHEXT ?? '.EXE;.CMD').split(';') : ['']
  const delimiter = ctx.platform === 'win32' ? ';' : ':'
  for (const dir of (ctx.env.PATH ?? ctx.env.Path ?? '').split(delimiter)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension)
      try {
        if (fs.statSync(candidate).isFile()) return candidate
      } catch {
        // not here
      }
    }
  }
  return undefined
}

export function run(command: string, args: string[], ctx: ToolContext): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...ctx.env, HOME: ctx.home }, windowsHide: true }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && code === -1 ? error.message : '') })
    })
  })
}
