// Added latency. Preferred: a real delayed IP link between two network namespaces, made by the
// workspace's tunlink.py (../shared/tools/tunlink.py next to the repository, else the copy in
// bench/lib/tunlink.py). Needs root, `ip` and python3. When any of that is missing the benchmark
// falls back to a user-space TCP proxy that delays every chunk (lib/delay-proxy.mjs); the output
// then says so. The proxy is weaker: no slow start, and its connect costs an emulated round trip
// instead of a real handshake.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { BENCH, REPO } from './support.mjs'
import { startChild } from './child.mjs'

const CLIENT_NS = 'h2push-bench-c'
const SERVER_NS = 'h2push-bench-s'
const CLIENT_ADDR = '10.77.0.1'
const SERVER_ADDR = '10.77.0.2'

function tunlinkPath() {
  for (const candidate of [path.join(REPO, '../shared/tools/tunlink.py'), path.join(BENCH, 'lib/tunlink.py')]) {
    if (fs.existsSync(candidate)) return candidate
  }
  return undefined
}

/** Why tunlink cannot be used here, or undefined when it can. */
export function tunlinkUnavailable() {
  if (process.env.BENCH_LINK === 'proxy') return 'BENCH_LINK=proxy'
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root'
  if (!tunlinkPath()) return 'tunlink.py not found'
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 missing'
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) missing'
  if (!fs.existsSync('/dev/net/tun')) return '/dev/net/tun missing'
  return undefined
}

/** No added latency: everything on loopback in this namespace. */
export function loopback() {
  return {
    mechanism: 'loopback',
    rttMs: 0,
    clientNs: undefined,
    serverNs: undefined,
    bindHost: '127.0.0.1',
    publicHost: '127.0.0.1',
    wrap: async (url) => url,
    stop: async () => {},
  }
}

/** Starts a link with the given round-trip time and, when `rateMbit` > 0, that bandwidth per direction (tunlink only). */
export async function startLink(rttMs, logFile, rateMbit = 0) {
  const reason = tunlinkUnavailable()
  if (!reason) {
    try {
      return await startTunlink(rttMs, logFile, rateMbit)
    } catch (error) {
      process.stderr.write(`tunlink failed (${error.message}); using the delaying TCP proxy instead\n`)
      return startProxy(rttMs, logFile, `tunlink failed: ${error.message}${rateMbit ? '; no bandwidth cap' : ''}`)
    }
  }
  return startProxy(rttMs, logFile, `${reason}${rateMbit ? '; no bandwidth cap' : ''}`)
}

async function startTunlink(rttMs, logFile, rateMbit) {
  const script = tunlinkPath()
  const log = fs.createWriteStream(logFile, { flags: 'a' })
  const args = [script, '--delay', String(rttMs / 2), '--cns', CLIENT_NS, '--sns', SERVER_NS]
  if (rateMbit > 0) args.push('--rate', String(rateMbit))
  const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.pipe(log, { end: false })
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "tunlink up" within 15 s')), 15_000)
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      log.write(chunk)
      if (out.includes('tunlink up')) {
        clearTimeout(timer)
        resolve()
      }
    })
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`tunlink exited (${code})`))
    })
  })
  return {
    mechanism: 'tunlink',
    script: path.relative(REPO, script),
    rttMs,
    rateMbit,
    clientNs: CLIENT_NS,
    serverNs: SERVER_NS,
    bindHost: SERVER_ADDR,
    publicHost: SERVER_ADDR,
    clientAddr: CLIENT_ADDR,
    wrap: async (url) => url,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      log.end()
    },
  }
}

/**
 * A tunnel: the delaying TCP proxy on loopback at `rttMs`, whatever else is available, so the
 * server sees what an SSH tunnel or a port forward shows it: a client on 127.0.0.1 whose round
 * trip is `rttMs` (`--latency tunnel40`).
 */
export async function startTunnel(rttMs, logFile) {
  const link = await startProxy(rttMs, logFile, 'a loopback tunnel, as an SSH tunnel or a port forward')
  return { ...link, mechanism: 'tunnel' }
}

async function startProxy(rttMs, logFile, reason) {
  const proxy = await startChild(path.join(BENCH, 'lib/delay-proxy.mjs'), [String(rttMs / 2)], { logFile })
  return {
    mechanism: 'tcp-proxy',
    reason,
    rttMs,
    clientNs: undefined,
    serverNs: undefined,
    bindHost: '127.0.0.1',
    publicHost: '127.0.0.1',
    /** Returns the URL through a new delaying listener in front of `url`'s port. */
    async wrap(url) {
      const target = new URL(url)
      const { port } = await proxy.request('add', { port: Number(target.port) })
      target.port = String(port)
      return target.origin
    },
    stop: () => proxy.close(),
  }
}
