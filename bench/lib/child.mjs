// Child processes with an IPC channel, optionally inside a network namespace.
// `ip netns exec NS node …` execs node in place, so the pid, the IPC fd and /proc accounting
// all belong to the node process itself.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Starts `node script …args` (in `netns` when given) with stdout/stderr appended to `logFile`.
 * Resolves once the child sends `{ type: 'ready', … }`; the result has `request(cmd, data)`.
 */
export function startChild(
  script,
  args,
  { netns, execArgv = [], env = process.env, logFile, readyTimeoutMs = 120_000 } = {},
) {
  const nodeArgv = [...execArgv, script, ...args]
  const [command, argv] = netns
    ? ['ip', ['netns', 'exec', netns, process.execPath, ...nodeArgv]]
    : [process.execPath, nodeArgv]
  fs.mkdirSync(path.dirname(logFile), { recursive: true })
  const log = fs.createWriteStream(logFile, { flags: 'a' })
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  let nextId = 1
  const pending = new Map()
  let exited = false
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true
      for (const { reject } of pending.values())
        reject(new Error(`${path.basename(script)} exited (${code ?? signal}) before answering; see ${logFile}`))
      pending.clear()
      resolve({ code, signal })
    })
  })
  child.on('error', () => {})
  child.on('message', (message) => {
    if (message?.id && pending.has(message.id)) {
      const { resolve, reject } = pending.get(message.id)
      pending.delete(message.id)
      if (message.error) reject(new Error(message.error))
      else resolve(message.result)
    }
  })
  const handle = {
    pid: child.pid,
    child,
    logFile,
    exited: exitPromise,
    request(cmd, data = {}, timeoutMs = 300_000) {
      if (exited) return Promise.reject(new Error(`${path.basename(script)} has exited; see ${logFile}`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${cmd} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        })
        child.send({ id, cmd, ...data })
      })
    },
    async close() {
      if (exited) return
      try {
        await handle.request('close', {}, 10_000)
      } catch {}
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exitPromise
      clearTimeout(timer)
      log.end()
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(
          `${path.basename(script)} ${args.join(' ')} was not ready after ${readyTimeoutMs} ms; see ${logFile}`,
        ),
      )
    }, readyTimeoutMs)
    const onMessage = (message) => {
      if (message?.type !== 'ready') return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(Object.assign(handle, { info: message }))
    }
    child.on('message', onMessage)
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(
        new Error(
          `${path.basename(script)} exited (${code ?? signal}) before it was ready; see ${logFile}:\n${tail(logFile)}`,
        ),
      )
    })
  })
}

/** The child side: answers `{ id, cmd }` messages with `handlers[cmd](message)`. */
export function serveRequests(handlers) {
  process.on('message', async (message) => {
    const { id, cmd } = message ?? {}
    if (!id) return
    try {
      const handler = handlers[cmd]
      if (!handler) throw new Error(`unknown command ${cmd}`)
      const result = await handler(message)
      process.send?.({ id, result })
      if (cmd === 'close') setImmediate(() => process.exit(0))
    } catch (error) {
      process.send?.({ id, error: error?.stack ?? String(error) })
    }
  })
  process.on('disconnect', () => process.exit(0))
}

export function tail(file, lines = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}
