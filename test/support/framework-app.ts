import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify, stripVTControlCharacters } from 'node:util'

/**
 * Real framework apps for the tests: each fixture under `test/frameworks/<name>/` has a
 * `package.json` and a committed `package-lock.json` (the framework and the Vite it needs, pinned),
 * a little source, and a `generate.mjs` that writes its ~300 components.
 *
 * {@link prepareFrameworkApp}:
 * 1. `npm ci` of the fixture's manifest + lockfile into a cache dir under the OS temp dir, keyed by
 *    the hash of both files (so a rerun does not install again);
 * 2. a fresh temp copy of the fixture source, with the cached `node_modules` hard-linked in (`cp -al`,
 *    a copy where hard links are not possible);
 * 3. the plugin from `npm pack` of this repo installed into that copy with `npm install --no-save`
 *    (so the plugin's `import 'vite'` resolves to the fixture's own Vite, and its dependencies come
 *    from its manifest, as in a user's app);
 * 4. `node generate.mjs`.
 *
 * {@link startFrameworkApp} runs the framework's own dev CLI on a free port and waits for its
 * https Local URL.
 */

const run = promisify(execFile)
const REPO = path.resolve(import.meta.dirname, '../..')
const FIXTURES = path.join(REPO, 'test/frameworks')
const CACHE = path.join(os.tmpdir(), 'vite-plugin-http2-push-frameworks')
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

export type FrameworkName = 'sveltekit' | 'astro' | 'react-router' | 'vitepress'

export interface FrameworkSpec {
  name: FrameworkName
  /** The dev CLI (path in the app dir) and its arguments before `--port`. */
  cli: string[]
  /** The routes the fixture has: a home route with 300 components, a lazy one and a slow part, and one more. */
  routes: [string, string]
  /** Whether the framework streams its HTML (and the home route has a deliberately slow part). */
  streams: boolean
  /** The component the HMR test edits, and how (the edit makes `#c0` read `edited`). */
  hmr: { file: string; edit: (source: string) => string }
}

export const FRAMEWORKS: Record<FrameworkName, FrameworkSpec> = {
  sveltekit: {
    name: 'sveltekit',
    cli: ['node_modules/vite/bin/vite.js', 'dev'],
    routes: ['/', '/about'],
    streams: true,
    hmr: { file: 'src/lib/generated/C0.svelte', edit: (source) => source.replace('{label(0)}', 'edited') },
  },
  astro: {
    name: 'astro',
    cli: ['node_modules/astro/astro.js', 'dev'],
    routes: ['/', '/about'],
    streams: true,
    hmr: { file: 'src/components/generated/C0.astro', edit: (source) => source.replace('>c0<', '>edited<') },
  },
  'react-router': {
    name: 'react-router',
    cli: ['node_modules/@react-router/dev/bin.js', 'dev'],
    routes: ['/', '/about'],
    streams: true,
    hmr: { file: 'app/components/generated/C0.jsx', edit: (source) => source.replace('{label(0)}', 'edited') },
  },
  vitepress: {
    name: 'vitepress',
    cli: ['node_modules/vitepress/bin/vitepress.js', 'dev', 'docs'],
    routes: ['/', '/about'],
    streams: false,
    hmr: { file: 'docs/components/generated/C0.vue', edit: (source) => source.replace('{{ label(0) }}', 'edited') },
  },
}

/** How long preparing took, for the report. */
export interface PreparedApp {
  dir: string
  /** Whether `npm ci` ran (false: the cached install was reused). */
  installed: boolean
  installMs: number
  prepareMs: number
  /** Size of the cached install, in bytes. */
  installBytes: number
}

let packedTarball: Promise<string> | undefined

/** `npm pack` of this repo (its `prepack` builds `dist/`), once per test process. */
function packPlugin(): Promise<string> {
  packedTarball ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-pack-'))
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: REPO })
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>
    return path.join(dir, packed!.filename)
  })()
  return packedTarball
}

/** A fresh copy of the fixture with its dependencies and the packed plugin installed, and its components generated. */
export async function prepareFrameworkApp(name: FrameworkName, components = 300): Promise<PreparedApp> {
  const started = performance.now()
  const source = path.join(FIXTURES, name)
  const manifest = fs.readFileSync(path.join(source, 'package.json'))
  const lockfile = fs.readFileSync(path.join(source, 'package-lock.json'))
  const hash = createHash('sha256').update(manifest).update('\0').update(lockfile).digest('hex').slice(0, 16)
  const cached = path.join(CACHE, `${name}-${hash}`)
  let installed = false
  let installMs = 0
  if (!fs.existsSync(path.join(cached, '.complete'))) {
    const installStarted = performance.now()
    fs.rmSync(cached, { recursive: true, force: true })
    fs.mkdirSync(cached, { recursive: true })
    fs.writeFileSync(path.join(cached, 'package.json'), manifest)
    fs.writeFileSync(path.join(cached, 'package-lock.json'), lockfile)
    await run(NPM, ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: cached,
      env: npmEnv(),
      maxBuffer: 64 * 1024 * 1024,
    })
    fs.writeFileSync(path.join(cached, '.complete'), '')
    installed = true
    installMs = performance.now() - installStarted
  }
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `h2push-${name}-`)))
  fs.cpSync(source, dir, {
    recursive: true,
    filter: (file) => !/[\\/](node_modules|\.svelte-kit|\.astro|\.react-router|cache|generated)$/.test(file),
  })
  await linkTree(path.join(cached, 'node_modules'), path.join(dir, 'node_modules'))
  // npm's hidden lockfile would be shared through the hard link (and npm rewrites it): drop this copy's.
  fs.rmSync(path.join(dir, 'node_modules/.package-lock.json'), { force: true })
  await run(NPM, ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', await packPlugin()], {
    cwd: dir,
    env: npmEnv(),
  })
  await run(process.execPath, ['generate.mjs', String(components)], { cwd: dir })
  return { dir, installed, installMs, prepareMs: performance.now() - started, installBytes: await duBytes(cached) }
}

/** A running framework dev server. */
export interface FrameworkApp {
  spec: FrameworkSpec
  dir: string
  /** `https://localhost:PORT` */
  origin: string
  port: number
  /** Everything the dev server printed (stdout and stderr), ANSI colors removed. */
  output(): string
  close(): Promise<void>
}

/** Starts the framework's dev CLI on a free port in `dir` and waits until it prints its Local URL. */
export async function startFrameworkApp(
  spec: FrameworkSpec,
  dir: string,
  env: Record<string, string> = {},
): Promise<FrameworkApp> {
  const port = await freePort()
  const chunks: string[] = []
  // The dev server as a developer runs it: not in vitest's environment (VITEST, NODE_ENV=test
  // turn off parts of some frameworks' dev servers, Astro's file watching among them).
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(VITEST|VITE_|TEST$|NODE_ENV$)/.test(key)),
  )
  const child: ChildProcess = spawn(process.execPath, [...spec.cli, '--port', String(port), '--strictPort'], {
    cwd: dir,
    env: {
      ...inherited,
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      BROWSER: 'none',
      ASTRO_TELEMETRY_DISABLED: '1',
      CI: '', // some CLIs turn off their dev conveniences on CI; the tests want the ordinary dev server
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = () => stripVTControlCharacters(chunks.join(''))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name} did not start in 90 s:\n${output()}`)), 90_000)
    const onData = (chunk: Buffer) => {
      chunks.push(chunk.toString())
      const match = /Local\W+(https?:\/\/[^\s/]+)/.exec(output())
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${spec.name} exited with ${code}:\n${output()}`))
    })
  })
  return {
    spec,
    dir,
    origin,
    port,
    output,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

function npmEnv(): NodeJS.ProcessEnv {
  // The repo's own npm settings (workspaces) must not leak into the fixture's install.
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key]
  return env
}

/** Hard-links a directory tree (fast, no extra disk); copies where linking is not possible. */
async function linkTree(from: string, to: string): Promise<void> {
  if (process.platform !== 'win32') {
    try {
      await run('cp', ['-al', from, to])
      return
    } catch {
      fs.rmSync(to, { recursive: true, force: true })
    }
  }
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true })
}

async function duBytes(dir: string): Promise<number> {
  try {
    const { stdout } = await run('du', ['-sk', dir])
    return Number(stdout.split(/\s/)[0]) * 1024
  } catch {
    return 0
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, 'localhost', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
