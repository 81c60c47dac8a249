// The push-accepting client (configuration 4 and its baselines): a browser-like node:http2
// loader, test/support/http2-clients.ts's TestClient, run as a child process (inside the client's
// network namespace when there is a delay link). Each load uses a fresh connection: the time runs
// from connect() to "every module of the static closure received" (TLS handshake included, as in
// a browser navigation). The connection gets Chromium's flow-control windows (6 MiB per stream,
// 15 MiB per connection) so it is not held back by node's 64 KiB defaults on a slow link.
//
// IPC commands: load, record (the floor's recording), hold / release (memory per connection), close.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { performance } from 'node:perf_hooks'
import { serveRequests } from './lib/child.mjs'
import { DOCUMENT_REQUEST } from '../test/support/browser-headers.mjs'
import { importSupport } from './lib/support.mjs'

const { TestClient } = await importSupport('http2-clients')

const STREAM_WINDOW = 6 * 1024 * 1024
const CONNECTION_WINDOW = 15 * 1024 * 1024

function newClient(origin, enablePush) {
  const client = new TestClient(origin, {
    enablePush,
    useResponseCache: true,
    settings: { initialWindowSize: STREAM_WINDOW },
  })
  try {
    client.session.setLocalWindowSize(CONNECTION_WINDOW)
  } catch {
    client.session.once('connect', () => client.session.setLocalWindowSize(CONNECTION_WINDOW))
  }
  return client
}

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

const held = []

/** TestClient.loadPage's options: the page's dynamic imports (a framework app), and a browser's Referer. */
function loadOptions(origin, path, { dynamicImports, referer }) {
  return { dynamicImports, referer: referer ? `${origin}${path}` : undefined }
}

function encode(response) {
  return { status: response.status, headers: response.headers, body: response.body.toString('base64') }
}

serveRequests({
  async load({ origin, path, push = true, timeoutMs = 120_000, dynamicImports, referer = false }) {
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    const client = newClient(origin, push)
    try {
      const load = await withTimeout(
        (async () => {
          await client.ready()
          return client.loadPage(path, loadOptions(origin, path, { dynamicImports, referer }))
        })(),
        timeoutMs,
        `loading ${origin}${path}`,
      )
      const ms = performance.now() - started
      const cpu = process.cpuUsage(cpuBefore)
      const notOk = [...load.closure]
        .filter(([, response]) => response.status !== 200)
        .map(([key, r]) => `${key} ${r.status}`)
      return {
        ok: notOk.length === 0,
        error: notOk.length ? `not 200: ${notOk.slice(0, 5).join(', ')}` : undefined,
        ms,
        clientCpuMs: (cpu.user + cpu.system) / 1000,
        closure: load.closure.size,
        requested: load.requested.size,
        fromPush: load.fromPush.size,
        pushesReceived: load.pushesReceived.length,
        unusedPushes: client.unusedPushKeys().length,
        waves: load.requestWaves,
        bytes: [...load.closure.values()].reduce((sum, r) => sum + r.body.length, 0),
      }
    } catch (error) {
      return { ok: false, error: error.message, ms: performance.now() - started }
    } finally {
      client.session.destroy()
    }
  },

  /** Records what the floor replays: every response of the page's closure as a GET returns it. */
  async record({ origin, path, file, dynamicImports, referer = false }) {
    const refusing = newClient(origin, false)
    const accepting = newClient(origin, true)
    try {
      await refusing.ready()
      const load = await refusing.loadPage(path, loadOptions(origin, path, { dynamicImports, referer }))
      const htmlPreload = await refusing.get(path, DOCUMENT_REQUEST)
      await accepting.ready()
      const htmlPush = await accepting.get(path, DOCUMENT_REQUEST)
      const resources = [...load.closure].map(([key, response]) => ({
        key,
        path: key.startsWith('style:') ? key.slice('style:'.length) : key,
        as: key.startsWith('style:') ? 'style' : 'script',
        ...encode(response),
      }))
      fs.writeFileSync(
        file,
        JSON.stringify({ page: path, origin, htmlPreload: encode(htmlPreload), htmlPush: encode(htmlPush), resources }),
      )
      return {
        resources: resources.length,
        bytes: resources.reduce((sum, r) => sum + Buffer.byteLength(r.body, 'base64'), 0),
      }
    } finally {
      refusing.session.destroy()
      accepting.session.destroy()
    }
  },

  /** Opens `count` push-accepting connections, loads the page on each and keeps them open. */
  async hold({ origin, path, count }) {
    for (let i = 0; i < count; i++) {
      const client = newClient(origin, true)
      await client.ready()
      await client.loadPage(path)
      held.push(client)
    }
    return { held: held.length }
  },

  async release() {
    const clients = held.splice(0)
    await Promise.all(
      clients.map((client) => withTimeout(client.close(), 5000, 'close').catch(() => client.session.destroy())),
    )
    return { released: clients.length }
  },

  /** Round-trip time as TCP connect() sees it (SYN → SYN-ACK), median of `count`. */
  async rtt({ host, port, count = 5 }) {
    const times = []
    for (let i = 0; i < count; i++) {
      const started = performance.now()
      await new Promise((resolve, reject) => {
        const socket = net.connect({ host, port }, () => {
          times.push(performance.now() - started)
          socket.destroy()
          resolve()
        })
        socket.once('error', reject)
      })
    }
    times.sort((a, b) => a - b)
    return { medianMs: times[times.length >> 1], times }
  },

  /**
   * base64 SHA-256 of the public key of the certificate the server presents (what Chromium's
   * `--ignore-certificate-errors-spki-list` takes): asked of the running server, because the
   * plugin renews its certificate when it serves a new host.
   */
  async spki({ host, port }) {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host, port, servername: 'localhost', rejectUnauthorized: false })
      socket.once('secureConnect', () => {
        const key = socket.getPeerX509Certificate().publicKey.export({ type: 'spki', format: 'der' })
        resolve(crypto.createHash('sha256').update(key).digest('base64'))
        socket.end()
      })
      socket.once('error', reject)
    })
  },

  close() {
    for (const client of held.splice(0)) client.session.destroy()
    return true
  },
})

process.send({ type: 'ready', pid: process.pid })
