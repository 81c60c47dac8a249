import fs from 'node:fs'
import http2 from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicApp, type BasicApp } from '../support/basic-app.js'
import { generatedApp } from '../support/apps.js'
import { http1Get } from '../support/http1.js'
import { readResponse, TestClient } from '../support/http2-clients.js'
import { crawl, expectFullPush, expectPushesIdenticalToGets } from '../support/push-checks.js'
import type { TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

describe('push of a page closure (every URL form)', () => {
  let app: BasicApp
  let t: TestServer
  let client: TestClient

  beforeAll(async () => {
    app = basicApp()
    t = await startTestServer(app.root, {}, app.config)
    client = new TestClient(t.origin)
  })
  afterAll(async () => {
    await client?.close()
    await t?.close()
    app?.remove()
  })

  it('speaks h2 over TLS and pushes the whole static closure, all of it used', async () => {
    await client.ready()
    expect(client.session.alpnProtocol).toBe('h2')
    const load = await client.loadPage('/')
    const keys = [...load.closure.keys()]
    // every URL form the graph must follow is in the closure the client discovered
    for (const pattern of [
      /^\/@vite\/client$/,
      /^style:\/src\/page\.css$/,
      /^\/src\/style\.css$/,
      /^\/src\/data\.json\?import$/,
      /^\/src\/logo\.svg\?import$/,
      /^\/@id\/__x00__virtual:greeting$/,
      /^\/@fs\/.*\/outside\/outside\.js$/,
      /^\/src\/dir%20with%20space\/mod%201\.ts$/,
      /^\/src\/%C3%BCn%C3%AF\/m%C3%B8dule\.ts$/,
      /^\/node_modules\/\.vite\/deps\/tiny-cjs\.js\?v=\w+$/,
      /^\/node_modules\/tiny-esm\/inner\.js\?v=\w+$/,
      /^\/index\.html\?html-proxy&index=0\.js$/,
      /^\/src\/b\.ts$/,
    ]) {
      expect(
        keys.some((key) => pattern.test(key)),
        `${pattern} in ${keys.join(' ')}`,
      ).toBe(true)
    }
    expect(keys).not.toContain('/src/lazy.ts')
    expect(load.fromPush.size / load.closure.size).toBeGreaterThanOrEqual(0.95)
    expect(load.requested.size).toBe(0)
    expect(load.requestWaves).toBe(0)
    expect(client.unusedPushKeys()).toEqual([])
    expect(load.pushesReceived.map((push) => push.key)).not.toContain('/src/lazy.ts')
  })

  it('pushes exactly what a plain GET returns: status, headers and bytes', async () => {
    expect(client.pushes.length).toBeGreaterThan(0)
    await expectPushesIdenticalToGets(t.origin, client.pushes)
    // the stylesheet link got CSS, the import got JS
    const link = await client.pushes.find((push) => push.key === 'style:/src/page.css')!.response
    expect(link!.headers['content-type']).toBe('text/css')
    const imported = await client.pushes.find((push) => push.key === '/src/style.css')!.response
    expect(imported!.headers['content-type']).toBe('text/javascript')
  })

  it('pushes nothing on a reload over the same connection', async () => {
    const reload = await client.loadPage('/')
    expect(reload.pushesReceived).toEqual([])
    expect(reload.requested.size).toBe(0)
  })

  it('pushes only what is new to the connection for a second page', async () => {
    const secondClosure = await crawl(t.origin, '/second.html')
    const expected = [...secondClosure.keys()].filter((key) => !client.held.has(key)).sort()
    expect(expected.length).toBeGreaterThan(0)
    expect(expected.length).toBeLessThan(secondClosure.size)
    const second = await client.loadPage('/second.html')
    expect(second.pushesReceived.map((push) => push.key).sort()).toEqual(expected)
    expect(second.requested.size).toBe(0)
  })

  it('gives a new connection the full closure again', async () => {
    await using fresh = new TestClient(t.origin)
    const load = await fresh.loadPage('/')
    expect(load.fromPush.size).toBe(load.closure.size)
    expect(fresh.unusedPushKeys()).toEqual([])
  })

  it('pushes dynamic imports only when asked', async () => {
    await using withDynamic = await startTestServer(app.root, { dynamicImports: true }, app.config)
    await using fresh = new TestClient(withDynamic.origin)
    await fresh.loadPage('/')
    expect(fresh.pushes.map((push) => push.key)).toContain('/src/lazy.ts')
  })

  it('gives a client that refuses push no push, and the closure as modulepreload links', async () => {
    await using refusing = new TestClient(t.origin, { enablePush: false })
    const load = await refusing.loadPage('/')
    expect(refusing.pushes).toEqual([])
    // the page's own entry and the links name versioned URLs (the import map's)
    expect(load.html).toMatch(/<script src="\/src\/main\.ts\?__h2v=[\w-]+" type="module"><\/script>/)
    expect(load.html).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
    expect(load.requested.size).toBe(load.closure.size)
    // everything is known from the HTML: one request wave instead of one per import level
    expect(load.requestWaves).toBe(1)
  })

  it('still answers HTTP/1.1 on the same port', async () => {
    const page = await http1Get(`${t.origin}/`, {})
    expect(page.httpVersion).toBe('1.1')
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain('/@vite/client')
    expect(page.body.toString()).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
  })

  it('logs one compact line per page load', () => {
    const lines = t.logs.filter((line) => line.includes('[vite-plugin-http2-push] /'))
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(lines[0]).toMatch(/\/: pushed \d+ \([\d.]+ kB\), 0 already pushed, \d+ ms/)
  })
})

describe('with base /app/', () => {
  it('pushes the closure under the base, identical to GETs', async () => {
    using app = basicApp()
    await using t = await startTestServer(app.root, {}, { ...app.config, base: '/app/' })
    await using client = new TestClient(t.origin)
    const load = await client.loadPage('/app/')
    const keys = [...load.closure.keys()]
    expect(keys).toContain('/app/@vite/client')
    expect(keys).toContain('/app/src/main.ts')
    expect(keys).toContain('style:/app/src/page.css')
    await expectFullPush(t.origin, client, load)
  })
})

describe('delivery modes', () => {
  let app: BasicApp
  beforeAll(() => {
    app = basicApp()
  })
  afterAll(() => app?.remove())

  async function loadWith(mode: 'push' | 'preload' | 'off', enablePush: boolean) {
    // each server on this app is a first start, not a restart: no record of the one before
    await using t = await startTestServer(app.root, { mode, restartRecord: false }, app.config)
    await using client = new TestClient(t.origin, { enablePush })
    const load = await client.loadPage('/')
    return { load, pushes: client.pushes.length }
  }

  it.each([
    ['off', true],
    ['off', false],
    ['push', false],
  ] as const)('mode %s (client accepts push: %s) adds no links', async (mode, enablePush) => {
    const { load, pushes } = await loadWith(mode, enablePush)
    expect(load.html).not.toContain('modulepreload')
    expect(pushes).toBe(0)
    expect(load.requestWaves).toBeGreaterThan(2)
  })

  it('mode push pushes to a client that takes push', async () => {
    const { load } = await loadWith('push', true)
    expect(load.html).not.toContain('modulepreload')
    expect(load.fromPush.size).toBe(load.closure.size)
  })

  it('earlyHints sends a 103 listing the cached closure before the page, only when asked', async () => {
    for (const earlyHints of [true, false]) {
      await using t = await startTestServer(app.root, { earlyHints }, app.config)
      await using client = new TestClient(t.origin, { enablePush: false })
      await client.loadPage('/') // the page's closure is known and cached from here on
      const informational: http2.IncomingHttpHeaders[] = []
      const request = client.session.request({ ':path': '/', accept: 'text/html' })
      request.on('headers', (headers) => informational.push(headers))
      const page = await readResponse(request)
      expect(page.status).toBe(200)
      if (!earlyHints) {
        expect(informational).toEqual([])
        continue
      }
      expect(informational).toHaveLength(1)
      expect(informational[0]![':status']).toBe(103)
      const links = ([] as string[]).concat(informational[0]!.link ?? []).join(', ')
      expect(links).toMatch(/<\/src\/b\.ts\?__h2v=[\w-]+>; rel=modulepreload/)
      expect(links).toMatch(/<\/@vite\/client\?__h2v=[\w-]+>; rel=modulepreload/)
      expect(links).not.toContain('page.css')
    }
  })

  it('mode preload lists the closure even for a client that takes push, and pushes nothing', async () => {
    const { load, pushes } = await loadWith('preload', true)
    expect(pushes).toBe(0)
    expect(load.html).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
    expect(load.requestWaves).toBe(1)
  })
})

describe('after an edit', () => {
  let app: BasicApp
  let t: TestServer

  beforeAll(async () => {
    app = basicApp()
    t = await startTestServer(app.root, {}, app.config)
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  it('re-pushes exactly the responses that changed, none stale', async () => {
    await using client = new TestClient(t.origin)
    await client.loadPage('/')
    const before = await crawl(t.origin, '/')
    fs.writeFileSync(
      app.join('app/src/b.ts'),
      `import { a } from './a.ts'\nexport function b(): string { return 'B2' + typeof a }\n`,
    )
    // wait until Vite serves the edit
    await expect
      .poll(async () => [...(await crawl(t.origin, '/')).values()].some((r) => r.body.includes('B2')), {
        timeout: 10_000,
      })
      .toBe(true)
    const after = await crawl(t.origin, '/')
    const changed = [...after.entries()]
      .filter(([key, response]) => !before.get(key)?.body.equals(response.body))
      .map(([key]) => key)
      .sort()
    expect(changed.length).toBeGreaterThan(0)
    expect(changed.length).toBeLessThan(after.size)

    const reload = await client.loadPage('/')
    expect(reload.pushesReceived.map((push) => push.key).sort()).toEqual(changed)
    for (const push of reload.pushesReceived) {
      expect((await push.response)!.body.equals(after.get(push.key)!.body), push.key).toBe(true)
    }
    await expectPushesIdenticalToGets(t.origin, reload.pushesReceived)
  })
})

describe('a page of several hundred modules', () => {
  let dir: TempDir
  let t: TestServer

  beforeAll(async () => {
    dir = generatedApp('big', { modules: 450, depth: 10, fanout: 4, withCss: true, withJson: true })
    t = await startTestServer(dir.path)
  })
  afterAll(async () => {
    await t?.close()
    dir?.remove()
  })

  it('warms the page closure at start, before any request', async () => {
    await expect.poll(() => t.plugin.api!.cachedResponseCount, { timeout: 20_000 }).toBeGreaterThan(450)
    await using cold = await startTestServer(dir.path, { warmup: false })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(cold.plugin.api!.cachedResponseCount).toBe(0)
  })

  it('pushes all of it to a client that raised its reserved-stream limit', async () => {
    await using client = new TestClient(t.origin, { maxReservedRemoteStreams: 1000 })
    const load = await client.loadPage('/')
    expect(load.closure.size).toBeGreaterThan(450)
    expect(load.fromPush.size / load.closure.size).toBeGreaterThanOrEqual(0.95)
    expect(client.unusedPushKeys()).toEqual([])
  })

  it('stays within the limits of a default Node client (200 reserved) capped at 100 streams', async () => {
    await using client = new TestClient(t.origin, {
      maxReservedRemoteStreams: 200,
      settings: { maxConcurrentStreams: 100 },
    })
    const load = await client.loadPage('/')
    expect(load.fromPush.size).toBe(load.closure.size)
    expect(client.unusedPushKeys()).toEqual([])
  })

  it('pushes nothing to a client that allows a single stream, and serves it normally', async () => {
    await using client = new TestClient(t.origin, { settings: { maxConcurrentStreams: 1 } })
    const load = await client.loadPage('/')
    expect(client.pushes).toEqual([])
    expect(load.requested.size).toBe(load.closure.size)
  })

  it('applies the push budget', async () => {
    await using limited = await startTestServer(dir.path, { maxPushes: 10 })
    await using client = new TestClient(limited.origin)
    const load = await client.loadPage('/')
    expect(load.pushesReceived.length).toBe(10)
    expect(load.requested.size).toBe(load.closure.size - 10)
    expect(limited.logs.some((line) => /over budget/.test(line))).toBe(true)
  })

  it('keeps serving when a client resets every push', async () => {
    {
      await using resetting = new TestClient(t.origin)
      resetting.session.on('stream', (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM))
      const page = await resetting.get('/')
      expect(page.status).toBe(200)
      expect(page.body.toString()).toContain('/src/main.js')
    }
    await using other = new TestClient(t.origin)
    const load = await other.loadPage('/')
    expect(load.fromPush.size).toBe(load.closure.size)
  })

  it('stops pushing to a connection that keeps resetting pushes, and gives it preload links instead', async () => {
    // 3 loads x ~455 resets would pass the ~1,000-reset burst after which nghttp2 ends the session
    await using resetting = new TestClient(t.origin)
    resetting.session.on('stream', (stream) => stream.close(http2.constants.NGHTTP2_CANCEL))
    const goaways: number[] = []
    resetting.session.on('goaway', (code) => goaways.push(code))
    const pages = []
    for (let i = 0; i < 3; i++) pages.push(await resetting.get('/', { accept: 'text/html' }))
    for (const page of pages) expect(page.status).toBe(200)
    expect(resetting.pushes.length).toBeLessThan(450)
    expect(pages[2]!.body.toString()).toContain('<link rel="modulepreload"')
    expect(goaways).toEqual([])
  })

  it('keeps serving when a client drops the connection mid-push', async () => {
    const dropping = new TestClient(t.origin)
    dropping.session.once('stream', () => dropping.session.destroy())
    await dropping.get('/').catch(() => undefined)
    await expect.poll(() => t.plugin.api!.connectionCount, { timeout: 10_000 }).toBe(0)
    {
      await using other = new TestClient(t.origin)
      const load = await other.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
    }
    await expect.poll(() => t.plugin.api!.connectionCount, { timeout: 10_000 }).toBe(0)
  })

  it('pushes the page to one connection once when it asks for it twice at once', async () => {
    await using client = new TestClient(t.origin)
    await Promise.all([client.get('/'), client.get('/')])
    const keys = client.pushes.map((push) => push.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.length).toBeGreaterThan(450)
  })

  it('holds per-connection state only while connections are open', async () => {
    const client = new TestClient(t.origin)
    await client.loadPage('/')
    expect(t.plugin.api!.connectionCount).toBeGreaterThanOrEqual(1)
    expect(t.plugin.api!.rememberedPushCount).toBeGreaterThan(450)
    await client.close()
    await expect.poll(() => t.plugin.api!.connectionCount, { timeout: 10_000 }).toBe(0)
    expect(t.plugin.api!.rememberedPushCount).toBe(0)
  })
})
