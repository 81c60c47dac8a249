import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ifNoneMatchHits } from '../../src/serve/revalidation.js'
import { HOLD_PAUSE_MS, MAX_HELD_BYTES, type HtmlPhases } from '../../src/page/html-phases.js'
import { hookHtmlResponse } from '../../src/page/html-response-hook.js'

/**
 * hookHtmlResponse on real node:http and node:http2 (h2c) servers, read by real clients: however the
 * handler writes its HTML, what the client receives is the prepared head and the untouched rest.
 */

type Handler = (res: ServerResponse) => void | Promise<void>

interface Received {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** ms from the request to the first body byte, and to the end. */
  firstByteMs: number
  endMs: number
}

/** What the hooks saw. */
interface Seen {
  prepared: Array<{ head: string; complete: boolean }>
  rest: string[]
  errors: unknown[]
  beforeEndCalls: number
}

const servers: Array<{ close(): void }> = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

const INSERT = '<link rel="modulepreload" href="/src/main.ts">'

/** Hooks that insert one link before `</head>` (or at the start when there is none), as the page pipeline does. */
function insertingHooks(seen: Seen, options: { fail?: boolean; beforeEndMs?: number } = {}): HtmlPhases {
  return {
    async head(head, complete) {
      seen.prepared.push({ head, complete })
      if (options.fail) throw new Error('no closure')
      const at = head.search(/<\/head>/i)
      return at === -1 ? INSERT + head : head.slice(0, at) + INSERT + head.slice(at)
    },
    rest(text) {
      seen.rest.push(text)
    },
    async end() {
      seen.beforeEndCalls++
      if (options.beforeEndMs) await new Promise((resolve) => setTimeout(resolve, options.beforeEndMs))
    },
    failed(error) {
      seen.errors.push(error)
    },
  }
}

function newSeen(): Seen {
  return { prepared: [], rest: [], errors: [], beforeEndCalls: 0 }
}

async function serveHttp1(
  hooks: HtmlPhases,
  handler: Handler,
  requestHeaders: Record<string, string> = {},
): Promise<Received> {
  const server = http.createServer((_req: IncomingMessage, res: ServerResponse) => {
    hookHtmlResponse(res, hooks)
    void handler(res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  const started = performance.now()
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: requestHeaders }, (response) => {
        const chunks: Buffer[] = []
        let firstByteMs = -1
        response.on('data', (chunk: Buffer) => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started
          chunks.push(chunk)
        })
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: Buffer.concat(chunks),
            firstByteMs,
            endMs: performance.now() - started,
          }),
        )
      })
      .on('error', reject)
  })
}

async function serveHttp2(
  hooks: HtmlPhases,
  handler: Handler,
  requestHeaders: Record<string, string> = {},
): Promise<Received> {
  const server = http2.createServer((_req, res) => {
    hookHtmlResponse(res as unknown as ServerResponse, hooks)
    void handler(res as unknown as ServerResponse)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  const session = http2.connect(`http://127.0.0.1:${port}`)
  servers.push(session)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/', ...requestHeaders })
    let headers: http2.IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    let firstByteMs = -1
    stream.on('response', (received) => (headers = received))
    stream.on('data', (chunk: Buffer) => {
      if (firstByteMs < 0) firstByteMs = performance.now() - started
      chunks.push(chunk)
    })
    stream.on('end', () => {
      const { ':status': status, ...rest } = headers
      resolve({
        status: Number(status),
        headers: rest,
        body: Buffer.concat(chunks),
        firstByteMs,
        endMs: performance.now() - started,
      })
    })
    stream.on('error', reject)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const HEAD = '<!doctype html><html><head><title>t</title></head>'
const BODY = '<body><p>hello</p><script>import("/src/late.ts")</script></body></html>'

describe.each([
  ['HTTP/1.1', serveHttp1],
  ['HTTP/2', serveHttp2],
] as const)('hookHtmlResponse over %s', (_name, serve) => {
  it('one res.end(html): prepares the whole body, with a new ETag and Content-Length', async () => {
    const seen = newSeen()
    const html = HEAD + BODY
    const received = await serve(insertingHooks(seen), (res) => {
      res.setHeader('content-type', 'text/html')
      res.setHeader('content-length', Buffer.byteLength(html))
      res.setHeader('etag', 'W/"old"')
      res.end(html)
    })
    const expected = html.replace('</head>', `${INSERT}</head>`)
    expect(received.body.toString()).toBe(expected)
    expect(Number(received.headers['content-length'])).toBe(Buffer.byteLength(expected))
    expect(received.headers.etag).not.toBe('W/"old"')
    expect(seen.prepared).toEqual([{ head: html, complete: true }])
    expect(seen.beforeEndCalls).toBe(0)
  })

  it('one res.end(html) whose prepared bytes the client holds (If-None-Match): a 304 without a body', async () => {
    const html = HEAD + BODY
    const handler = (res: ServerResponse) => {
      res.setHeader('content-type', 'text/html')
      res.setHeader('content-length', Buffer.byteLength(html))
      res.setHeader('etag', 'W/"vite-own"')
      res.end(html)
    }
    const first = await serve(insertingHooks(newSeen()), handler)
    const etag = String(first.headers.etag)
    const again = await serve(insertingHooks(newSeen()), handler, { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    expect(again.headers.etag).toBe(etag)
    expect(again.headers['content-type']).toBeUndefined()
    // the ETag Vite gave the unprepared page, or another page's: the prepared page in full
    for (const other of ['W/"vite-own"', 'W/"other", "another"']) {
      const full = await serve(insertingHooks(newSeen()), handler, { 'if-none-match': other })
      expect(full.status, other).toBe(200)
      expect(full.body.toString(), other).toBe(first.body.toString())
    }
  })

  it('writeHead (headers object), write chunks with the head split across them, end(cb): holds only the head', async () => {
    const seen = newSeen()
    let endCallback = false
    const writeCallbacks: number[] = []
    const received = await serve(insertingHooks(seen), async (res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': '999', etag: '"x"' })
      res.write('<!doctype html><html><head><title>t</title></he', () => writeCallbacks.push(1))
      await sleep(5)
      res.write('ad><body><p>first</p>', () => writeCallbacks.push(2))
      await sleep(300)
      res.write('<p>second</p>', () => writeCallbacks.push(3))
      res.end('</body></html>', () => (endCallback = true))
    })
    expect(received.status).toBe(200)
    expect(received.body.toString()).toBe(
      `<!doctype html><html><head><title>t</title>${INSERT}</head><body><p>first</p><p>second</p></body></html>`,
    )
    expect(seen.prepared).toEqual([
      { head: '<!doctype html><html><head><title>t</title></head><body><p>first</p>', complete: false },
    ])
    expect(seen.rest.join('')).toBe('<p>second</p></body></html>')
    expect(received.headers['content-length']).toBeUndefined()
    expect(received.headers.etag).toBeUndefined()
    expect(received.firstByteMs).toBeLessThan(received.endMs - 200) // the rest was not held
    expect(writeCallbacks.sort()).toEqual([1, 2, 3])
    expect(endCallback).toBe(true)
    expect(seen.beforeEndCalls).toBe(1)
  })

  it('writeHead with a flat header array, Uint8Array and Buffer chunks', async () => {
    const seen = newSeen()
    const encoder = new TextEncoder()
    const received = await serve(insertingHooks(seen), (res) => {
      res.writeHead(200, ['Content-Type', 'text/html', 'X-Test', 'a', 'X-Test', 'b'])
      res.write(encoder.encode(HEAD))
      res.write(Buffer.from('<body>'))
      res.write('x', 'latin1')
      res.end(encoder.encode('</body></html>'))
    })
    expect(received.body.toString()).toBe(HEAD.replace('</head>', `${INSERT}</head>`) + '<body>x</body></html>')
    expect(received.headers['x-test']).toEqual(expect.stringMatching(/a, ?b/))
  })

  it('a module script before </head> is enough: the head is released there', async () => {
    const seen = newSeen()
    await serve(insertingHooks(seen), async (res) => {
      res.setHeader('content-type', 'text/html')
      res.write('<html><head><script type="module" src="/@vite/client"></script>')
      await sleep(200)
      res.end('</head><body></body></html>')
    })
    expect(seen.prepared[0]!.head).toBe('<html><head><script type="module" src="/@vite/client"></script>')
  })

  it('no head at all: the body is held only until the framework pauses', async () => {
    const seen = newSeen()
    const received = await serve(insertingHooks(seen), async (res) => {
      res.setHeader('content-type', 'text/html')
      res.write('<p>a fragment</p>')
      await sleep(HOLD_PAUSE_MS * 10)
      res.write('<p>more</p>')
      res.end()
    })
    expect(seen.prepared).toEqual([{ head: '<p>a fragment</p>', complete: false }])
    expect(received.body.toString()).toBe(`${INSERT}<p>a fragment</p><p>more</p>`)
    expect(received.firstByteMs).toBeLessThan(received.endMs - HOLD_PAUSE_MS * 5)
  })

  it('a head over 64 KB: at most the bound (and the chunk that crossed it) is held', async () => {
    const seen = newSeen()
    const meta = '<meta name="x" content="' + 'y'.repeat(1000) + '">'
    const received = await serve(insertingHooks(seen), async (res) => {
      res.setHeader('content-type', 'text/html')
      res.write('<html><head>')
      for (let i = 0; i < 100; i++) res.write(meta) // ~100 KB, no pause
      res.end('</head><body></body></html>')
    })
    const head = seen.prepared[0]!.head
    expect(Buffer.byteLength(head)).toBeGreaterThanOrEqual(MAX_HELD_BYTES)
    expect(Buffer.byteLength(head)).toBeLessThan(MAX_HELD_BYTES + meta.length + 20)
    expect(received.body.toString()).toBe(`${INSERT}<html><head>${meta.repeat(100)}</head><body></body></html>`)
  })

  it('multibyte characters split across chunks decode whole (UTF-8)', async () => {
    const seen = newSeen()
    const head = '<html><head><title>日本語 é 😀</title></head>'
    const rest = '<body>ünïcödé 日本 😀</body></html>'
    const bytes = Buffer.from(head + rest)
    const received = await serve(insertingHooks(seen), async (res) => {
      res.setHeader('content-type', 'text/html; charset=UTF-8')
      // one byte at a time through the head's multibyte characters, then odd splits in the rest
      for (let i = 0; i < bytes.length; i += i < 40 ? 1 : 3) {
        res.write(bytes.subarray(i, Math.min(bytes.length, i + (i < 40 ? 1 : 3))))
      }
      res.end()
    })
    // whole chunks are held: the head ends with the chunk that completed `</head>`
    expect(seen.prepared[0]!.head.startsWith(head)).toBe(true)
    expect(seen.prepared[0]!.head + seen.rest.join('')).toBe(head + rest)
    expect(received.body.toString('utf8')).toBe(head.replace('</head>', `${INSERT}</head>`) + rest)
  })

  it('a declared charset other than UTF-8 (Shift_JIS): decoded in it, the original bytes kept around the insertion', async () => {
    const seen = newSeen()
    // "日本" in Shift_JIS: 93 fa 96 7b
    const title = Buffer.from([0x93, 0xfa, 0x96, 0x7b])
    const bytes = Buffer.concat([
      Buffer.from('<html><head><title>'),
      title,
      Buffer.from('</title></head><body>'),
      title,
      Buffer.from('</body></html>'),
    ])
    const received = await serve(insertingHooks(seen), async (res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=Shift_JIS' })
      res.write(bytes.subarray(0, 20)) // splits the first character
      res.write(bytes.subarray(20))
      res.end()
    })
    expect(seen.prepared[0]!.head).toContain('<title>日本</title>')
    expect(seen.rest.join('')).toBe('')
    const expected = Buffer.concat([
      Buffer.from('<html><head><title>'),
      title,
      Buffer.from(`</title>${INSERT}</head><body>`),
      title,
      Buffer.from('</body></html>'),
    ])
    expect(received.body.equals(expected)).toBe(true)
  })

  it('beforeEnd is awaited before the stream ends', async () => {
    const seen = newSeen()
    const received = await serve(insertingHooks(seen, { beforeEndMs: 150 }), (res) => {
      res.setHeader('content-type', 'text/html')
      res.write(HEAD)
      res.end(BODY)
    })
    expect(received.endMs - received.firstByteMs).toBeGreaterThanOrEqual(100)
    expect(received.body.toString()).toContain(BODY)
  })

  it('prepare fails: the original bytes go out untouched, with their headers', async () => {
    const seen = newSeen()
    const received = await serve(insertingHooks(seen, { fail: true }), (res) => {
      res.writeHead(200, { 'content-type': 'text/html', etag: '"same"' })
      res.write(HEAD)
      res.end(BODY)
    })
    expect(received.body.toString()).toBe(HEAD + BODY)
    expect(received.headers.etag).toBe('"same"')
    expect(seen.errors).toHaveLength(1)
  })

  it('anything but a 200 text/html body passes straight through', async () => {
    const seen = newSeen()
    const json = await serve(insertingHooks(seen), (res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"a":')
      res.end('1}')
    })
    const missing = await serve(insertingHooks(seen), (res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end(HEAD)
    })
    expect(json.body.toString()).toBe('{"a":1}')
    expect(missing.status).toBe(404)
    expect(missing.body.toString()).toBe(HEAD)
    expect(seen.prepared).toEqual([])
  })
})

describe('hookHtmlResponse: headers of what is no page', () => {
  /**
   * An event stream (a proxied SSE or long-poll answer to curl or a native client) sends its
   * headers with `flushHeaders()` and its first event later: the client must see the headers
   * before that event. The handler writes its event only once the client has the headers, so
   * held headers never arrive and the test fails by its bound.
   */
  it.each(['HTTP/1.1', 'HTTP/2'] as const)(
    '%s: an event stream gets its headers before its first event',
    async (version) => {
      let headersArrived: () => void = () => undefined
      const arrived = new Promise<void>((resolve) => (headersArrived = resolve))
      const handler = (res: ServerResponse) => {
        hookHtmlResponse(res, insertingHooks(newSeen()))
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        res.flushHeaders()
        void arrived.then(() => res.end('data: first\n\n'))
      }
      const server =
        version === 'HTTP/1.1'
          ? http.createServer((_req, res) => handler(res))
          : http2.createServer((_req, res) => handler(res as unknown as ServerResponse))
      servers.push(server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
      const { port } = server.address() as AddressInfo
      const gotHeaders = new Promise<string | undefined>((resolve, reject) => {
        if (version === 'HTTP/1.1') {
          http
            .get({ host: '127.0.0.1', port, path: '/events' }, (response) => {
              resolve(response.headers['content-type'])
              response.resume()
            })
            .on('error', reject)
        } else {
          const session = http2.connect(`http://127.0.0.1:${port}`)
          servers.push(session)
          const stream = session.request({ ':path': '/events' })
          stream.on('response', (headers) => resolve(String(headers['content-type'])))
          stream.on('error', reject)
          stream.resume()
        }
      })
      const bound = sleep(5000).then(() => 'no headers before the first event')
      const type = await Promise.race([gotHeaders, bound])
      headersArrived()
      expect(type).toBe('text/event-stream')
    },
  )
})

describe('ifNoneMatchHits', () => {
  it('compares weakly, over a list, and takes *', () => {
    expect(ifNoneMatchHits('W/"a"', 'W/"a"')).toBe(true)
    expect(ifNoneMatchHits('"a"', 'W/"a"')).toBe(true)
    expect(ifNoneMatchHits('W/"b", W/"a"', 'W/"a"')).toBe(true)
    expect(ifNoneMatchHits('*', 'W/"a"')).toBe(true)
    expect(ifNoneMatchHits('W/"b"', 'W/"a"')).toBe(false)
    expect(ifNoneMatchHits(undefined, 'W/"a"')).toBe(false)
  })
})
