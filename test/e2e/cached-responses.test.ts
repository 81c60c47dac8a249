import fs from 'node:fs'
import type { Plugin } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicApp, type BasicApp } from '../support/basic-app.js'
import { SCRIPT_REQUEST as SCRIPT, STYLE_REQUEST as STYLE } from '../support/browser-headers.mjs'
import { plainGet, TestClient, type FetchedResponse } from '../support/http2-clients.js'
import { crawl, expectSameResponse, waitFor } from '../support/push-checks.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// A browser's module and stylesheet GETs are answered from the plugin's response cache (what
// pushes are made of) while it is current. Each must be exactly what Vite itself returns for the
// same request (a GET with `Cache-Control: no-cache`, which the plugin leaves to Vite), must never
// be stale after an edit, and must not skip the middlewares of the server or of other plugins.

/** The request headers a browser sends for a closure key. */
const browserRequest = (key: string) =>
  key.startsWith('style:') ? { path: key.slice('style:'.length), headers: STYLE } : { path: key, headers: SCRIPT }

/** Requests seen by {@link guardPlugin}'s middleware, renders included. */
let requestNumber = 0

/**
 * A plugin whose middleware (added before Vite's own) blocks one URL, tags every response and
 * numbers every request (a per-request header, like a request id).
 */
function guardPlugin(): Plugin {
  return {
    name: 'guard',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url === '/src/shared.ts' && req.headers['x-blocked'] === 'yes') {
          res.statusCode = 403
          return res.end('blocked by a user middleware')
        }
        res.setHeader('x-guard', 'seen')
        res.setHeader('x-request-number', String(++requestNumber))
        next()
      })
    },
  }
}

/** Same status, bytes and headers (but `date` and the per-request number) as Vite's own response. */
function expectSameAsVite(key: string, actual: FetchedResponse | undefined, own: FetchedResponse | undefined): void {
  const strip = (response: FetchedResponse | undefined) =>
    response && { ...response, headers: { ...response.headers, 'x-request-number': 'n' } }
  expectSameResponse(key, strip(actual), strip(own))
}

describe('module GETs answered from the response cache', () => {
  let app: BasicApp
  let t: TestServer
  let closureKeys: string[]
  const served = () => t.plugin.api!.cachedResponsesServed

  beforeAll(async () => {
    app = basicApp()
    const config = app.config
    t = await startTestServer(
      app.root,
      {},
      {
        ...config,
        plugins: [...config.plugins, guardPlugin()],
        server: { ...config.server, headers: { 'x-served-by': 'vite dev' } },
      },
    )
    closureKeys = [...(await crawl(t.origin, '/')).keys()]
    expect(closureKeys.length).toBeGreaterThan(15)
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  it("answers a browser's GET of every module of the page from the cache, identical to Vite's own response", async () => {
    await using client = new TestClient(t.origin, { enablePush: false })
    let fromCache = 0
    for (const key of closureKeys) {
      const { path: url, headers } = browserRequest(key)
      const before = served()
      const cached = await client.get(url, headers)
      if (served() > before) fromCache++
      const own = await plainGet(t.origin, url, headers)
      expect(own.headers['x-guard'], `${key}: answered by Vite`).toBe('seen')
      expectSameAsVite(key, cached, own)
    }
    // all but the inline script's proxy module (Vite invalidates it on every HTML request)
    expect(fromCache).toBeGreaterThanOrEqual(closureKeys.length - 1)
  })

  it('a browser-form page load takes every module from the cache', async () => {
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    const before = served()
    const load = await client.loadPage('/')
    expect(load.requested.size).toBe(closureKeys.length)
    expect(served() - before).toBeGreaterThanOrEqual(closureKeys.length - 1)
  })

  it.each([
    ['Cache-Control: no-cache (a hard reload, DevTools "Disable cache")', { 'cache-control': 'no-cache' }],
    ['Pragma: no-cache', { pragma: 'no-cache' }],
    ['If-None-Match', { 'if-none-match': 'W/"0-0"' }],
    ['If-Modified-Since', { 'if-modified-since': new Date().toUTCString() }],
    ['Range', { range: 'bytes=0-10' }],
    ['no Sec-Fetch-Dest', { 'sec-fetch-dest': undefined }],
    ['Sec-Fetch-Dest: document', { 'sec-fetch-dest': 'document' }],
    ['Accept: text/css on a script destination', { accept: 'text/css' }],
  ])('leaves a request with %s to Vite', async (_name, extra) => {
    const before = served()
    const headers = Object.fromEntries(
      Object.entries({ ...SCRIPT, ...extra }).filter(([, value]) => value !== undefined),
    ) as Record<string, string>
    const client = new TestClient(t.origin, { enablePush: false })
    try {
      const response = await client.get('/src/main.ts', headers)
      expect(response.status).toBeLessThan(500)
    } finally {
      await client.close()
    }
    expect(served()).toBe(before)
  })

  it('answers a request with Origin (Chromium sends it with module scripts) with the CORS headers Vite adds', async () => {
    const origin = { origin: t.origin }
    await using client = new TestClient(t.origin, { enablePush: false })
    const before = served()
    const cached = await client.get('/src/main.ts', { ...SCRIPT, ...origin })
    expect(served()).toBe(before + 1)
    const own = await plainGet(t.origin, '/src/main.ts', { ...SCRIPT, ...origin })
    expect(own.headers['access-control-allow-origin']).toBe(t.origin)
    expectSameAsVite('/src/main.ts with Origin', cached, own)
  })

  it('answers the matching 304 to If-None-Match through Vite, as before', async () => {
    const first = await plainGet(t.origin, '/src/main.ts', SCRIPT)
    await using client = new TestClient(t.origin, { enablePush: false })
    const revalidated = await client.get('/src/main.ts', { ...SCRIPT, 'if-none-match': String(first.headers.etag) })
    expect(revalidated.status).toBe(304)
  })

  it("keeps the headers the earlier middlewares set for this request, and sets Vite's own", async () => {
    await using client = new TestClient(t.origin, { enablePush: false })
    const before = served()
    const cached = await client.get('/src/main.ts', SCRIPT)
    expect(served()).toBe(before + 1)
    expect(cached.headers['x-request-number']).toBe(String(requestNumber)) // this request's, not the render's
    expect(cached.headers['x-served-by']).toBe('vite dev') // server.headers, set by Vite's send
    expect(cached.headers.etag).toBeDefined()
  })

  it('runs the middlewares of other plugins first: a blocked request stays blocked', async () => {
    await using client = new TestClient(t.origin, { enablePush: false })
    const before = served()
    const blocked = await client.get('/src/shared.ts', { ...SCRIPT, 'x-blocked': 'yes' })
    expect(blocked.status).toBe(403)
    expect(blocked.body.toString()).toBe('blocked by a user middleware')
    expect(served()).toBe(before)
    const allowed = await client.get('/src/shared.ts', SCRIPT)
    expect(allowed.status).toBe(200)
    expect(allowed.headers['x-guard']).toBe('seen')
    expect(served()).toBe(before + 1)
  })

  it('is never stale: after an edit, the same URL serves the new code', async () => {
    const file = app.join('app/src/shared.ts')
    await using client = new TestClient(t.origin, { enablePush: false })
    const before = await client.get('/src/shared.ts', SCRIPT)
    expect(before.body.toString()).toContain('shared = "shared"')
    fs.writeFileSync(file, `export const shared = 'edited'\n`)
    let after: FetchedResponse | undefined
    await waitFor(
      async () => {
        after = await client.get('/src/shared.ts', SCRIPT)
        return after.body.toString().includes('shared = "edited"')
      },
      10_000,
      'the edit to be served',
    )
    expectSameAsVite('/src/shared.ts', after, await plainGet(t.origin, '/src/shared.ts', SCRIPT))
    // once a page load has rendered the new version (imported with a `?t=` now), that URL is
    // answered from the cache again
    const loader = new TestClient(t.origin, { enablePush: false })
    const load = await loader.loadPage('/')
    await loader.close()
    const edited = [...load.closure.keys()].find((key) => key.startsWith('/src/shared.ts?t='))
    expect(edited, [...load.closure.keys()].join(' ')).toBeDefined()
    const beforeCount = served()
    const cached = await client.get(edited!, SCRIPT)
    expect(served()).toBe(beforeCount + 1)
    expect(cached.body.toString()).toContain('shared = "edited"')
    expectSameAsVite(edited!, cached, await plainGet(t.origin, edited!, SCRIPT))
  })
})

describe('the response cache behind a middleware that wraps responses', () => {
  // Like a compression or banner middleware: it replaces res.end for script requests that ask for
  // it. The cached body went through it once during the render; it must not go through twice.
  function bannerPlugin(): Plugin {
    return {
      name: 'banner',
      configureServer(server) {
        server.middlewares.use((req, res, next) => {
          if (req.headers['x-banner'] === undefined && req.headers.host !== 'localhost') return next()
          const end = res.end.bind(res) as (...args: unknown[]) => unknown
          ;(res as unknown as { end: unknown }).end = (chunk: unknown, ...rest: unknown[]) => {
            if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
              const body = Buffer.concat([Buffer.from('/* banner */\n'), Buffer.from(chunk)])
              if (res.hasHeader('content-length')) res.setHeader('content-length', body.length)
              return end(body, ...rest)
            }
            return end(chunk, ...rest)
          }
          next()
        })
      },
    }
  }

  it('leaves a wrapped response to Vite: the body is wrapped exactly once', async () => {
    using app = basicApp()
    const config = app.config
    await using t = await startTestServer(app.root, {}, { ...config, plugins: [...config.plugins, bannerPlugin()] })
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/') // renders (and caches) the closure, through the banner middleware
    const before = t.plugin.api!.cachedResponsesServed
    const got = await client.get('/src/main.ts', { ...SCRIPT, 'x-banner': 'yes' })
    expect(t.plugin.api!.cachedResponsesServed).toBe(before)
    expect(got.body.toString().match(/\/\* banner \*\//g)).toHaveLength(1)
    expectSameResponse('/src/main.ts', got, await plainGet(t.origin, '/src/main.ts', { ...SCRIPT, 'x-banner': 'yes' }))
  })
})

describe('the response cache with base /app/ and with mode off', () => {
  it('answers under the base', async () => {
    using app = basicApp()
    await using t = await startTestServer(app.root, {}, { ...app.config, base: '/app/' })
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    const load = await client.loadPage('/app/')
    expect(t.plugin.api!.cachedResponsesServed).toBeGreaterThanOrEqual(load.closure.size - 1)
    const got = await client.get('/app/src/main.ts', SCRIPT)
    expectSameResponse('/app/src/main.ts', got, await plainGet(t.origin, '/app/src/main.ts', SCRIPT))
  })

  it('is not used with mode off', async () => {
    using app = basicApp()
    await using t = await startTestServer(app.root, { mode: 'off' }, app.config)
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/')
    await client.loadPage('/')
    expect(t.plugin.api!.cachedResponsesServed).toBe(0)
  })
})
