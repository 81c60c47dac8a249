import http2 from 'node:http2'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST, STYLE_REQUEST } from '../support/browser-headers.mjs'
import { generatedApp } from '../support/apps.js'
import { TestClient, type FetchedResponse, type ReceivedPush } from '../support/http2-clients.js'
import { guardProcess, problemLogLines, type ProcessGuard } from '../support/process-guards.js'
import { crawl, expectSameResponse, waitFor } from '../support/push-checks.js'
import { RawPushClient, readPush, readToEnd } from '../support/raw-push-client.js'
import type { TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Clients that misbehave while a ~400-module page is being pushed: they reset every push, go
// away or drop the socket mid-push, stop reading, allow one stream, or ask for the page twice at
// once. Each must get its page (or be cut off cleanly), and every other client keeps getting the
// whole closure by push, byte-identical to GETs; the server keeps no state for closed connections
// and nothing throws, rejects unhandled or leaks listeners.

const MODULES = 400
const PAGE_LOG = /\[vite-plugin-http2-push\] \/: /

describe('faulty clients against a page of ~400 modules', () => {
  let app: TempDir
  let t: TestServer
  let guard: ProcessGuard
  /** What a GET returns for each resource of the page: key → response (no edits in this file). */
  let reference: Map<string, FetchedResponse>

  beforeAll(async () => {
    guard = guardProcess()
    app = generatedApp('faults', { modules: MODULES, depth: 10, fanout: 4, withCss: true, withJson: true })
    // pushes against GETs, byte for byte: under this load a loopback connection's PING round trip can
    // read as a tunnel's, and a compressing GET then varies by Accept-Encoding (compression has its own tests)
    t = await startTestServer(app.path, { compression: 'off' })
    reference = await crawl(t.origin, '/')
    expect(reference.size).toBeGreaterThan(MODULES)
    for (const [key, response] of reference) expect(response.status, key).toBe(200)
  })

  afterEach(async () => {
    // the server stays up and frees every connection's state once its clients are gone
    await waitFor(() => t.plugin.api!.connectionCount === 0, 10_000, 'connectionCount back to 0')
    expect(t.plugin.api!.rememberedPushCount).toBe(0)
    expect(guard.describe()).toBe('')
    expect(problemLogLines(t.logs)).toEqual([])
  })

  afterAll(async () => {
    guard?.stop()
    await t?.close()
    app?.remove()
  })

  function expectAsGet(key: string, response: FetchedResponse | undefined): void {
    expectSameResponse(key, response, reference.get(key))
  }

  async function expectPushesAsGets(pushes: readonly ReceivedPush[]): Promise<void> {
    for (const push of pushes) expectAsGet(push.key, await push.response)
  }

  /** A well-behaved client on a fresh connection gets the whole closure by push, identical to GETs. */
  async function healthyLoad(): Promise<void> {
    await using client = new TestClient(t.origin)
    const load = await client.loadPage('/')
    expect([...load.closure.keys()].sort()).toEqual([...reference.keys()].sort())
    expect(load.fromPush.size).toBe(load.closure.size)
    expect(load.requested.size).toBe(0)
    expect(client.unusedPushKeys()).toEqual([])
    await expectPushesAsGets(load.pushesReceived)
  }

  /** The page's HTML as a client got it: complete and right, or cut off (undefined) — never wrong. */
  function expectPageOrCutOff(html: FetchedResponse | undefined): void {
    if (html === undefined) return
    expect(html.status).toBe(200)
    const text = html.body.toString()
    // a client that gets links (one that kept resetting pushes) gets the entry at its versioned URL
    expect(text).toMatch(/<script type="module" src="\/src\/main\.js(\?__h2v=[\w-]+)?"><\/script>/)
    expect(text).toMatch(/<\/html>\s*$/)
  }

  it.each([
    ['CANCEL', http2.constants.NGHTTP2_CANCEL],
    ['REFUSED_STREAM', http2.constants.NGHTTP2_REFUSED_STREAM],
  ])(
    'a client that resets every push with %s gets its page; others are served meanwhile and after',
    async (_name, code) => {
      const logsBefore = t.logs.length
      const resetting = new RawPushClient(t.origin, { onPush: (push) => push.stream.close(code) })
      try {
        const [html] = await Promise.all([readToEnd(resetting.requestPage('/')), healthyLoad()])
        expect(html).toBeDefined()
        expectPageOrCutOff(html)
        expect(resetting.pushes.length).toBeGreaterThan(0)
        // the same connection asks again and resets again: still its page
        const again = await readToEnd(resetting.requestPage('/'))
        expect(again).toBeDefined()
        expectPageOrCutOff(again)
      } finally {
        // (a Node client that refused pushes with REFUSED_STREAM keeps a few of them open, so a
        // graceful close may never finish: close() destroys the session after a second)
        await resetting.close(1000)
      }
      const lines = t.logs.slice(logsBefore).filter((line) => PAGE_LOG.test(line))
      expect(lines.length).toBeGreaterThanOrEqual(3)
      await healthyLoad()
    },
  )

  it('pushes a client reset are pushed again on its next load, which then completes by push or GET', async () => {
    // resets the first 100 pushes, then behaves: the next load on the connection must still get everything
    await using client = new TestClient(t.origin)
    const [takePush] = client.session.listeners('stream') as Array<(...args: unknown[]) => void>
    client.session.removeAllListeners('stream')
    let resets = 0
    client.session.on('stream', (stream: http2.ClientHttp2Stream, ...rest: unknown[]) => {
      if (resets < 100) {
        resets++
        stream.on('error', () => {})
        stream.close(http2.constants.NGHTTP2_CANCEL)
      } else takePush!(stream, ...rest)
    })
    const first = await client.get('/', DOCUMENT_REQUEST)
    expect(first.status).toBe(200)
    expect(resets).toBe(100)
    const load = await client.loadPage('/')
    expect([...load.closure.keys()].sort()).toEqual([...reference.keys()].sort())
    for (const [key, response] of load.closure) expectAsGet(key, response)
    await expectPushesAsGets(load.pushesReceived)
    console.log(
      `[faults] after 100 resets: ${load.pushesReceived.length} pushed again, ${load.requested.size} requested, ${load.fromPush.size} from push`,
    )
    // what the client reset was not lost for good: pushed again, or requested
    expect(load.fromPush.size + load.requested.size).toBe(load.closure.size)
  })

  it('a client that sends GOAWAY on the first push gets its page or is cut off cleanly', async () => {
    {
      await using goingAway = new RawPushClient(t.origin, {
        onPush: () => {
          if (goingAway.pushes.length === 1) goingAway.session.goaway(http2.constants.NGHTTP2_NO_ERROR)
        },
      })
      const [html] = await Promise.all([readToEnd(goingAway.requestPage('/')), healthyLoad()])
      expectPageOrCutOff(html)
    }
    await healthyLoad()
  })

  it('a client that sends GOAWAY with an error code on the first push is cut off cleanly', async () => {
    const goingAway = new RawPushClient(t.origin, {
      onPush: () => {
        if (goingAway.pushes.length === 1) goingAway.session.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR)
      },
    })
    try {
      const [html] = await Promise.all([readToEnd(goingAway.requestPage('/')), healthyLoad()])
      expectPageOrCutOff(html)
    } finally {
      goingAway.destroy()
    }
    await healthyLoad()
  })

  it('a client whose socket is destroyed mid-push does not disturb the others', async () => {
    const dropping = new RawPushClient(t.origin, {
      onPush: () => {
        if (dropping.pushes.length === 10) dropping.socket.destroy()
      },
    })
    const [html] = await Promise.all([readToEnd(dropping.requestPage('/')), healthyLoad()])
    expect(html).toBeUndefined()
    dropping.destroy()
    await healthyLoad()
  })

  it('a client with a tiny flow-control window that stops reading: the HTML is released after ~2 s without progress, then the page completes', async () => {
    const logsBefore = t.logs.length
    const slow = new RawPushClient(t.origin, { settings: { initialWindowSize: 1024 } })
    await new Promise<void>((resolve) => slow.session.once('connect', () => resolve()))
    slow.session.setLocalWindowSize(1024)
    try {
      const started = performance.now()
      const page = slow.requestPage('/')
      const headersAt = new Promise<number>((resolve) => page.once('response', () => resolve(performance.now())))
      const html = readToEnd(page)
      // the pushes stay unread; others are served meanwhile
      await healthyLoad()
      // the server stops promising and lets the HTML go: its log line says it was interrupted
      await waitFor(
        () => t.logs.slice(logsBefore).some((line) => PAGE_LOG.test(line) && line.includes('interrupted')),
        10_000,
        'the slow page to be released',
      )
      const releasedAfter = performance.now() - started
      // released by the stall timer (~2 s without a finished push), not by anything the client did
      expect(releasedAfter).toBeGreaterThan(1000)
      expect(releasedAfter).toBeLessThan(6000)
      expect(slow.pushes.length).toBeGreaterThan(0)
      expect(slow.pushes.length).toBeLessThan(reference.size)
      // response headers are not flow-controlled: they arrive although no push was read
      expect((await headersAt) - started).toBeLessThan(6000)
      // now the client reads, one push after the other, then requests the rest of the page
      const pushed = new Map<string, FetchedResponse>()
      for (const push of slow.pushes) {
        const accept = String(push.requestHeaders.accept ?? '')
        const key = accept.startsWith('text/css') ? `style:${push.path}` : push.path
        const response = await readPush(push)
        if (response) pushed.set(key, response)
      }
      const document = await html
      expect(document).toBeDefined()
      expectPageOrCutOff(document)
      for (const [key, response] of pushed) expectAsGet(key, response)
      const rest = [...reference.keys()].filter((key) => !pushed.has(key))
      const fetched = await Promise.all(
        rest.map((key) => {
          const style = key.startsWith('style:')
          const stream = slow.session.request({
            ':path': style ? key.slice('style:'.length) : key,
            ...(style ? STYLE_REQUEST : SCRIPT_REQUEST),
          })
          return readToEnd(stream)
        }),
      )
      rest.forEach((key, i) => expectAsGet(key, fetched[i]))
      console.log(
        `[faults] slow reader: ${slow.pushes.length} pushes promised, HTML released after ${Math.round(releasedAfter)} ms, ${rest.length} resources requested after`,
      )
    } finally {
      await slow.close()
    }
    await healthyLoad()
  })

  it('a client that stops reading and goes away: nothing is held for it', async () => {
    const stalled = new RawPushClient(t.origin, { settings: { initialWindowSize: 1024 } })
    const page = stalled.requestPage('/')
    await new Promise<void>((resolve) => stalled.session.once('stream', () => resolve()))
    await healthyLoad()
    page.close(http2.constants.NGHTTP2_CANCEL)
    stalled.destroy()
    await healthyLoad()
  })

  it('a client that allows one stream gets no push, modulepreload links, and a correct page', async () => {
    await using client = new TestClient(t.origin, { settings: { maxConcurrentStreams: 1 } })
    const [load] = await Promise.all([client.loadPage('/'), healthyLoad()])
    expect(client.pushes).toEqual([])
    expect(load.html).toContain('rel="modulepreload"')
    expect([...load.closure.keys()].sort()).toEqual([...reference.keys()].sort())
    for (const [key, response] of load.closure) expectAsGet(key, response)
  })

  it('a client that allows two streams gets the page pushed one at a time, all of it', async () => {
    await using client = new TestClient(t.origin, { settings: { maxConcurrentStreams: 2 } })
    const load = await client.loadPage('/')
    expect(load.fromPush.size).toBe(load.closure.size)
    expect(client.unusedPushKeys()).toEqual([])
    await expectPushesAsGets(load.pushesReceived)
  })

  it('the page asked for twice at once on one connection: each URL pushed once, both pages complete', async () => {
    await using client = new TestClient(t.origin)
    const [a, b] = await Promise.all([client.loadPage('/'), client.loadPage('/'), healthyLoad()])
    expect(a!.html).toBe(b!.html)
    const keys = client.pushes.map((push) => push.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.length).toBe(reference.size)
    for (const load of [a!, b!]) {
      expect([...load.closure.keys()].sort()).toEqual([...reference.keys()].sort())
      for (const [key, response] of load.closure) expectAsGet(key, response)
    }
    expect(client.unusedPushKeys()).toEqual([])
    await expectPushesAsGets(client.pushes)
  })

  it('many faulty clients at once, then a healthy one', async () => {
    const clients: RawPushClient[] = []
    const pages: Promise<FetchedResponse | undefined>[] = []
    for (let i = 0; i < 12; i++) {
      const kind = i % 4
      const client: RawPushClient = new RawPushClient(t.origin, {
        settings: kind === 3 ? { initialWindowSize: 1024 } : {},
        onPush: (push) => {
          if (kind === 0) push.stream.close(http2.constants.NGHTTP2_CANCEL)
          else if (kind === 1 && client.pushes.length === 5) client.session.goaway()
          else if (kind === 2 && client.pushes.length === 5) client.socket.destroy()
        },
      })
      clients.push(client)
      pages.push(readToEnd(client.requestPage('/')))
    }
    await Promise.all([healthyLoad(), healthyLoad()])
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const client of clients) client.destroy()
    for (const html of await Promise.all(pages)) expectPageOrCutOff(html)
    await healthyLoad()
  })
})
