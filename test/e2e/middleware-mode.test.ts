import fs from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http2Push from 'vite-plugin-http2-push'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'
import { SCRIPT_REQUEST } from '../support/browser-headers.mjs'
import { capturingLogger } from '../support/capturing-logger.js'
import { http1Get } from '../support/http1.js'
import { TestClient } from '../support/http2-clients.js'
import { expectFullPush } from '../support/push-checks.js'
import { smallApp } from '../support/apps.js'
import { tempDir } from '../support/temp-dirs.js'
import { tlsPeer } from '../support/tls-peer.js'
import { viteBlocksRequestsWithoutHost, viteVersion } from '../support/vite-version.js'

/** The user's own HTTP/2 host, with Vite in middleware mode inside it; closes itself (and its temp dirs) with `await using`. */
interface Host extends AsyncDisposable {
  origin: string
  vite: ViteDevServer
  logs: string[]
  certDir: string
  hostHandled: string[]
  close(): Promise<void>
}

async function startHost(appType: 'custom' | 'spa', { copyAuthority = true } = {}): Promise<Host> {
  const app = smallApp(`mw-${appType}`, 'host')
  const root = app.path
  const certParent = tempDir('mw-certdir')
  const certDir = certParent.join('never')
  const logs: string[] = []
  const hostHandled: string[] = []

  const { key, cert } = createLeafCertificate({ commonName: 'host-cert.test' })
  const host = http2.createSecureServer({ allowHTTP1: true, key, cert })
  const vite = await createServer({
    root,
    configFile: false,
    logLevel: 'info',
    customLogger: capturingLogger(logs),
    cacheDir: path.join(root, 'node_modules/.vite'),
    appType,
    server: { middlewareMode: true, hmr: { server: host } },
    plugins: [http2Push({ certDir })],
  })

  // What a typical custom (SSR-less) host does: Vite's middlewares first, then its own HTML.
  host.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    // HTTP/2 requests carry `:authority`, not `host`; Vite 6's host check rejects a missing host.
    if (copyAuthority && req.headers.host === undefined && req.authority) req.headers.host = req.authority
    const nodeReq = req as unknown as IncomingMessage
    const nodeRes = res as unknown as ServerResponse
    vite.middlewares(nodeReq, nodeRes, async (error?: unknown) => {
      try {
        if (error) throw error
        const url = req.url
        if (appType === 'custom' && (url === '/' || url === '/index.html')) {
          hostHandled.push(url)
          const template = fs.readFileSync(path.join(root, 'index.html'), 'utf8')
          const html = await vite.transformIndexHtml(url, template)
          res.setHeader('content-type', 'text/html')
          res.end(html)
          return
        }
        res.statusCode = 404
        res.end('not found')
      } catch (caught) {
        vite.ssrFixStacktrace(caught as Error)
        res.statusCode = 500
        res.end(String(caught))
      }
    })
  })
  await new Promise<void>((resolve) => host.listen(0, 'localhost', resolve))
  const { port } = host.address() as AddressInfo
  const close = async () => {
    await vite.close()
    await new Promise<void>((resolve) => host.close(() => resolve()))
    app.remove()
    certParent.remove()
  }
  return { origin: `https://localhost:${port}`, vite, logs, certDir, hostHandled, close, [Symbol.asyncDispose]: close }
}

describe.each(['custom', 'spa'] as const)('middlewareMode in a node:http2 host, appType %s', (appType) => {
  let host: Host

  beforeAll(async () => {
    host = await startHost(appType)
  })
  afterAll(async () => {
    await host?.close()
  })

  it('serves with the host certificate; the plugin creates none', async () => {
    const peer = await tlsPeer(host.origin)
    expect(peer.alpn).toBe('h2')
    expect(peer.commonName).toBe('host-cert.test')
    expect(fs.existsSync(host.certDir)).toBe(false)
    expect(host.logs.filter((line) => line.includes('Created'))).toEqual([])
    expect(host.vite.config.server.https).toBeFalsy()
  })

  it('pushes the whole closure to a client that takes push, identical to GETs', async () => {
    await using client = new TestClient(host.origin)
    await client.ready()
    expect((client.session.socket as unknown as TLSSocket).getPeerCertificate().subject.CN).toBe('host-cert.test')
    const load = await client.loadPage('/')
    if (appType === 'custom') expect(host.hostHandled).toContain('/')
    const keys = [...load.closure.keys()]
    for (const key of [
      '/@vite/client',
      '/src/main.ts',
      '/src/a.ts',
      '/src/b.ts',
      '/src/style.css',
      'style:/src/page.css',
    ]) {
      expect(keys).toContain(key)
    }
    await expectFullPush(host.origin, client, load)
    expect(load.html).not.toContain('modulepreload')
    expect(host.logs.some((line) => /\[vite-plugin-http2-push\] \/: pushed \d+/.test(line))).toBe(true)

    // a reload on the same connection pushes nothing
    const reload = await client.loadPage('/')
    expect(reload.pushesReceived).toEqual([])
  })

  it('gives a client that refuses push modulepreload links and no push', async () => {
    await using client = new TestClient(host.origin, { enablePush: false })
    const load = await client.loadPage('/')
    expect(client.pushes).toEqual([])
    expect(load.html).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
    expect(load.requested.size).toBe(load.closure.size)
    expect(load.requestWaves).toBe(1)
  })

  it('still answers HTTP/1.1 (with preload links) and takes the HMR websocket on the same port', async () => {
    const page = await http1Get(`${host.origin}/`)
    expect(page.httpVersion).toBe('1.1')
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain('/@vite/client')
    expect(page.body.toString()).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
    const module = await http1Get(`${host.origin}/src/b.ts`, { accept: SCRIPT_REQUEST.accept })
    expect(module.status).toBe(200)
    expect(module.body.toString()).toContain(`export const b = "b"`)

    const token = (host.vite.config as { webSocketToken?: string }).webSocketToken
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(`${host.origin}/${token ? `?token=${token}` : ''}`, {
        rejectUnauthorized: false,
        agent: false,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-protocol': 'vite-hmr',
        },
      })
      req.on('upgrade', (res, socket) => {
        socket.destroy()
        resolve(res.statusCode!)
      })
      req.on('response', (res) => resolve(res.statusCode!))
      req.on('error', reject)
      req.end()
    })
    expect(status, `HMR websocket upgrade on Vite ${viteVersion}`).toBe(101)
  })
})

describe('an HTTP/2 request without a host header (Vite host check)', () => {
  const blocks = viteBlocksRequestsWithoutHost

  it(`${blocks ? 'is blocked' : 'passes'} on Vite ${viteVersion} when the host does not copy :authority to host`, async () => {
    await using host = await startHost('spa', { copyAuthority: false })
    await using client = new TestClient(host.origin)
    const load = await client.loadPage('/')
    if (blocks) {
      // Vite 6 adds its host check when server.https is unset (middleware mode) and 403s a missing host header
      expect(load.html).toContain('Blocked request')
      expect(client.pushes).toEqual([])
    } else {
      expect(load.html).toContain('/@vite/client')
      expect(load.fromPush.size).toBe(load.closure.size)
    }
  })
})
