import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import http2 from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAppConfig, createBasicApp } from './support/basic-app.js'
import { generateApp } from './support/generate-app.js'
import { readResponse, TestClient } from './support/http2-clients.js'
import { crawl, expectPushesIdenticalToGets } from './support/push-checks.js'
import { startTestServer, type TestServer } from './support/vite-server.js'

describe('push of a page closure (every URL form)', () => {
  let dir: string
  let t: TestServer
  let client: TestClient

  beforeAll(async () => {
    dir = createBasicApp()
    t = await startTestServer(path.join(dir, 'app'), {}, basicAppConfig(dir))
    client = new TestClient(t.origin)
  })
  afterAll(async () => {
    await client?.close()
    await t?.close()
    fs.rmSync(dir, { recursive: true, force: true })
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
    const fresh = new TestClient(t.origin)
    try {
      const load = await fresh.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
      expect(fresh.unusedPushKeys()).toEqual([])
    } finally {
      await fresh.close()
    }
  })

  it('pushes dynamic imports only when asked', async () => {
    const withDynamic = await startTestServer(path.join(dir, 'app'), { dynamicImports: true }, basicAppConfig(dir))
    const fresh = new TestClient(withDynamic.origin)
    try {
      await fresh.loadPage('/')
      expect(fresh.pushes.map((push) => push.key)).toContain('/src/lazy.ts')
    } finally {
      await fresh.close()
      await withDynamic.close()
    }
  })

  it('gives a client that refuses push no push, and the closure as modulepreload links', async () => {
    const refusing = new TestClient(t.origin, { enablePush: false })
    try {
      const load = await refusing.loadPage('/')
      expect(refusing.pushes).toEqual([])
      // the page's own entry and the links name versioned URLs (the import map's)
      expect(load.html).toMatch(/<script src="\/src\/main\.ts\?__h2v=[\w-]+" type="module"><\/script>/)
      expect(load.html).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
      expect(load.requested.size).toBe(load.closure.size)
      // everything is known from the HTML: one request wave instead of one per import level
      expect(load.requestWaves).toBe(1)
    } finally {
      await refusing.close()
    }
  })

  it('still answers HTTP/1.1 on the same port', async () => {
    const { status, body, protocol } = await new Promise<{ status: number; body: string; protocol: string }>(
      (resolve, reject) => {
        https
          .get(`${t.origin}/`, { rejectUnauthorized: false }, (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (chunk: string) => (text += chunk))
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                body: text,
                protocol: `${res.httpVersionMajor}.${res.httpVersionMinor}`,
              }),
            )
          })
          .on('error', reject)
      },
    )
    expect(protocol).toBe('1.1')
    expect(status).toBe(200)
    expect(body).toContain('/@vite/client')
    expect(body).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
  })

  it('logs one compact line per page load', () => {
    const lines = t.logs.filter((line) => line.includes('[vite-plugin-http2-push] /'))
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(lines[0]).toMatch(/\/: pushed \d+ \([\d.]+ kB\), 0 already pushed, \d+ ms/)
  })
})

describe('with base /app/', () => {
  it('pushes the closure under the base, identical to GETs', async () => {
    const dir = createBasicApp()
    const t = await startTestServer(path.join(dir, 'app'), {}, { ...basicAppConfig(dir), base: '/app/' })
    const client = new TestClient(t.origin)
    try {
      const load = await client.loadPage('/app/')
      const keys = [...load.closure.keys()]
      expect(keys).toContain('/app/@vite/client')
      expect(keys).toContain('/app/src/main.ts')
      expect(keys).toContain('style:/app/src/page.css')
      expect(load.fromPush.size).toBe(load.closure.size)
      expect(client.unusedPushKeys()).toEqual([])
      await expectPushesIdenticalToGets(t.origin, load.pushesReceived)
    } finally {
      await client.close()
      await t.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('delivery modes', () => {
  let dir: string
  beforeAll(() => {
    dir = createBasicApp()
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  async function loadWith(mode: 'push' | 'preload' | 'off', enablePush: boolean) {
    const t = await startTestServer(path.join(dir, 'app'), { mode }, basicAppConfig(dir))
    const client = new TestClient(t.origin, { enablePush })
    try {
      const load = await client.loadPage('/')
      return { load, pushes: client.pushes.length }
    } finally {
      await client.close()
      await t.close()
    }
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
      const t = await startTestServer(path.join(dir, 'app'), { earlyHints }, basicAppConfig(dir))
      const client = new TestClient(t.origin, { enablePush: false })
      try {
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
      } finally {
        await client.close()
        await t.close()
      }
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
  let dir: string
  let t: TestServer

  beforeAll(async () => {
    dir = createBasicApp()
    t = await startTestServer(path.join(dir, 'app'), {}, basicAppConfig(dir))
  })
  afterAll(async () => {
    await t?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('re-pushes exactly the responses that changed, none stale', async () => {
    const client = new TestClient(t.origin)
    try {
      await client.loadPage('/')
      const before = await crawl(t.origin, '/')
      fs.writeFileSync(
        path.join(dir, 'app/src/b.ts'),
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
    } finally {
      await client.close()
    }
  })
})

describe('a page of several hundred modules', () => {
  let dir: string
  let t: TestServer

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-big-'))
    generateApp(dir, { modules: 450, depth: 10, fanout: 4, withCss: true, withJson: true })
    t = await startTestServer(dir)
  })
  afterAll(async () => {
    await t?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('warms the page closure at start, before any request', async () => {
    await expect.poll(() => t.plugin.api!.cachedResponseCount, { timeout: 20_000 }).toBeGreaterThan(450)
    const cold = await startTestServer(dir, { warmup: false })
    try {
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(cold.plugin.api!.cachedResponseCount).toBe(0)
    } finally {
      await cold.close()
    }
  })

  it('pushes all of it to a client that raised its reserved-stream limit', async () => {
    const client = new TestClient(t.origin, { maxReservedRemoteStreams: 1000 })
    try {
      const load = await client.loadPage('/')
      expect(load.closure.size).toBeGreaterThan(450)
      expect(load.fromPush.size / load.closure.size).toBeGreaterThanOrEqual(0.95)
      expect(client.unusedPushKeys()).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('stays within the limits of a default Node client (200 reserved) capped at 100 streams', async () => {
    const client = new TestClient(t.origin, { maxReservedRemoteStreams: 200, settings: { maxConcurrentStreams: 100 } })
    try {
      const load = await client.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
      expect(client.unusedPushKeys()).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('pushes nothing to a client that allows a single stream, and serves it normally', async () => {
    const client = new TestClient(t.origin, { settings: { maxConcurrentStreams: 1 } })
    try {
      const load = await client.loadPage('/')
      expect(client.pushes).toEqual([])
      expect(load.requested.size).toBe(load.closure.size)
    } finally {
      await client.close()
    }
  })

  it('applies the push budget', async () => {
    const limited = await startTestServer(dir, { maxPushes: 10 })
    const client = new TestClient(limited.origin)
    try {
      const load = await client.loadPage('/')
      expect(load.pushesReceived.length).toBe(10)
      expect(load.requested.size).toBe(load.closure.size - 10)
      expect(limited.logs.some((line) => /over budget/.test(line))).toBe(true)
    } finally {
      await client.close()
      await limited.close()
    }
  })

  it('keeps serving when a client resets every push', async () => {
    const resetting = new TestClient(t.origin)
    resetting.session.on('stream', (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM))
    try {
      const page = await resetting.get('/')
      expect(page.status).toBe(200)
      expect(page.body.toString()).toContain('/src/main.js')
    } finally {
      await resetting.close()
    }
    const other = new TestClient(t.origin)
    try {
      const load = await other.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
    } finally {
      await other.close()
    }
  })

  it('stops pushing to a connection that keeps resetting pushes, and gives it preload links instead', async () => {
    // 3 loads x ~455 resets would pass the ~1,000-reset burst after which nghttp2 ends the session
    const resetting = new TestClient(t.origin)
    resetting.session.on('stream', (stream) => stream.close(http2.constants.NGHTTP2_CANCEL))
    const goaways: number[] = []
    resetting.session.on('goaway', (code) => goaways.push(code))
    try {
      const pages = []
      for (let i = 0; i < 3; i++) pages.push(await resetting.get('/', { accept: 'text/html' }))
      for (const page of pages) expect(page.status).toBe(200)
      expect(resetting.pushes.length).toBeLessThan(450)
      expect(pages[2]!.body.toString()).toContain('<link rel="modulepreload"')
      expect(goaways).toEqual([])
    } finally {
      await resetting.close()
    }
  })

  it('keeps serving when a client drops the connection mid-push', async () => {
    const dropping = new TestClient(t.origin)
    dropping.session.once('stream', () => dropping.session.destroy())
    await dropping.get('/').catch(() => undefined)
    await expect.poll(() => t.plugin.api!.connectionCount, { timeout: 10_000 }).toBe(0)
    const other = new TestClient(t.origin)
    try {
      const load = await other.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
    } finally {
      await other.close()
    }
    await expect.poll(() => t.plugin.api!.connectionCount, { timeout: 10_000 }).toBe(0)
  })

  it('pushes the page to one connection once when it asks for it twice at once', async () => {
    const client = new TestClient(t.origin)
    try {
      await Promise.all([client.get('/'), client.get('/')])
      const keys = client.pushes.map((push) => push.key)
      expect(new Set(keys).size).toBe(keys.length)
      expect(keys.length).toBeGreaterThan(450)
    } finally {
      await client.close()
    }
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
