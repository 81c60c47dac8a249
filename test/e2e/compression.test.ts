import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCRIPT_REQUEST, STYLE_REQUEST } from '../support/browser-headers.mjs'
import { http1Get } from '../support/http1.js'
import { plainGet, TestClient, type FetchedResponse } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Modules and stylesheets the plugin answers from its cache are compressed once per cached
// version, as the request's Accept-Encoding asks, and decode to exactly the bytes Vite would
// send (with the inline map replaced by a link for a browser).

const BROWSER = { 'sec-fetch-mode': 'cors' }
const BROWSER_SCRIPT = { ...SCRIPT_REQUEST, ...BROWSER }
const BROWSER_STYLE = { ...STYLE_REQUEST, 'sec-fetch-mode': 'no-cors' }

const zstdDecompress = (zlib as unknown as { zstdDecompressSync?: (body: Buffer) => Buffer }).zstdDecompressSync
const DECODERS: Record<string, (body: Buffer) => Buffer> = {
  br: (body) => zlib.brotliDecompressSync(body),
  gzip: (body) => zlib.gunzipSync(body),
  ...(zstdDecompress ? { zstd: zstdDecompress } : {}),
}

function decoded(response: { headers: Record<string, unknown>; body: Buffer }): Buffer {
  const encoding = response.headers['content-encoding']
  return encoding === undefined ? response.body : DECODERS[String(encoding)]!(response.body)
}

const varyOf = (response: { headers: Record<string, unknown> }) =>
  String(response.headers.vary ?? '')
    .split(',')
    .map((value) => value.trim().toLowerCase())
    .filter(Boolean)

const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,[A-Za-z0-9+/=]+$/

/** Vite's bytes with the inline map replaced by the link the cached answer carries. */
function withExternalMap(vite: Buffer, answer: Buffer): Buffer {
  const link = /\n\/\/# sourceMappingURL=\/[^\s]*__h2map=[\w-]+$/.exec(answer.toString())
  expect(link).not.toBeNull()
  expect(vite.toString()).toMatch(INLINE_MAP)
  return Buffer.from(vite.toString().replace(INLINE_MAP, link![0]))
}

/** An app whose modules are big enough to compress (several kB of code each), and a tiny one. */
function bigModulesApp(): TempDir {
  const lines = (name: string) =>
    Array.from({ length: 120 }, (_, i) => `export const ${name}${i}: string = 'value number ${i} of ${name}'`).join(
      '\n',
    )
  return tempDir('compression', {
    'index.html': `<!doctype html><html><head><link rel="stylesheet" href="/src/page.css"></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n`,
    'src/main.ts': `import { big0 } from './big.ts'\nimport { tiny } from './tiny.ts'\nimport './style.css'\ndocument.querySelector('#app')!.textContent = big0 + tiny\n`,
    'src/big.ts': `${lines('big')}\n`,
    'src/tiny.ts': `export const tiny = 1\n`,
    'src/style.css': `${Array.from({ length: 80 }, (_, i) => `.c${i} { color: #${String(i).padStart(6, '0')}; margin: ${i}px }`).join('\n')}\n`,
    'src/page.css': `${Array.from({ length: 80 }, (_, i) => `.p${i} { padding: ${i}px }`).join('\n')}\n`,
  })
}

describe("compression: 'always'", () => {
  let app: TempDir
  let t: TestServer
  let client: TestClient
  const served = () => t.plugin.api!.cachedResponsesServed

  beforeAll(async () => {
    app = bigModulesApp()
    t = await startTestServer(app.path, { compression: 'always' })
    client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/')
  })
  afterAll(async () => {
    await client?.close()
    await t?.close()
    app?.remove()
  })

  it.each(Object.keys(DECODERS))(
    "%s: round-trips to Vite's bytes with the inline map replaced, with Vary: Accept-Encoding",
    async (encoding) => {
      const before = served()
      const got = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': encoding })
      expect(served()).toBe(before + 1)
      expect(got.headers['content-encoding']).toBe(encoding)
      const vite = await plainGet(t.origin, '/src/big.ts', BROWSER_SCRIPT)
      expect(decoded(got).equals(withExternalMap(vite.body, decoded(got)))).toBe(true)
      expect(varyOf(got)).toEqual([...varyOf(vite), 'accept-encoding'])
      expect(got.headers.etag).toBe(vite.headers.etag)
      expect(got.body.length).toBeLessThan(decoded(got).length / 2)
      // compressed once: the same bytes again
      const again = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': encoding })
      expect(again.body.equals(got.body)).toBe(true)
    },
  )

  it("a tool's GET (no Sec-Fetch-Mode) decodes to Vite's exact bytes, inline map included", async () => {
    const got = await client.get('/src/big.ts', { ...SCRIPT_REQUEST, 'accept-encoding': 'br' })
    expect(got.headers['content-encoding']).toBe('br')
    expect(decoded(got).equals((await plainGet(t.origin, '/src/big.ts', SCRIPT_REQUEST)).body)).toBe(true)
  })

  it('a stylesheet link gets its CSS compressed too', async () => {
    const got = await client.get('/src/page.css', { ...BROWSER_STYLE, 'accept-encoding': 'gzip, deflate, br' })
    expect(got.headers['content-encoding']).toBe('br')
    expect(decoded(got).equals((await plainGet(t.origin, '/src/page.css', BROWSER_STYLE)).body)).toBe(true)
  })

  it.each([
    ['a client without br', 'gzip, deflate', 'gzip'],
    ['br refused with q=0', 'br;q=0, gzip;q=0.5', 'gzip'],
    ['identity only', 'identity', undefined],
    ['no Accept-Encoding', undefined, undefined],
    ['only unknown codings', 'deflate, compress', undefined],
  ])('%s (%s) gets %s, still with Vary', async (_name, acceptEncoding, expected) => {
    const got = await client.get('/src/big.ts', {
      ...BROWSER_SCRIPT,
      ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }),
    })
    expect(got.status).toBe(200)
    expect(got.headers['content-encoding']).toBe(expected)
    expect(varyOf(got)).toContain('accept-encoding')
    const vite = await plainGet(t.origin, '/src/big.ts', BROWSER_SCRIPT)
    expect(decoded(got).equals(withExternalMap(vite.body, decoded(got)))).toBe(true)
  })

  it('the versioned URL is compressed and immutable', async () => {
    const html = (await client.get('/', { accept: 'text/html', 'sec-fetch-dest': 'document' })).body.toString()
    const versioned = /"\/src\/big\.ts":"(\/src\/big\.ts\?__h2v=[\w-]+)"/.exec(html)![1]!
    const got = await client.get(versioned, { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(got.headers['cache-control']).toBe('max-age=31536000, immutable')
    expect(got.headers['content-encoding']).toBe('br')
    const own = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(got.body.equals(own.body)).toBe(true)
  })

  it('the page HTML is compressed too, and decodes to the HTML sent uncompressed', async () => {
    const page = { accept: 'text/html', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' }
    const plain = await client.get('/', page)
    const got = await client.get('/', { ...page, 'accept-encoding': 'gzip, deflate, br' })
    expect(got.headers['content-encoding']).toBe('br')
    expect(varyOf(got)).toContain('accept-encoding')
    expect(decoded(got).toString()).toContain('<script type="importmap">')
    expect(decoded(got).equals(plain.body)).toBe(true)
    expect(got.headers.etag).toBe(plain.headers.etag)
  })

  it("the page's log line shows what its closure costs this client, and the saving", async () => {
    const before = t.logs.length
    await client.get('/', {
      accept: 'text/html',
      'sec-fetch-dest': 'document',
      'sec-fetch-mode': 'navigate',
      'accept-encoding': 'br',
    })
    const line = () => t.logs.slice(before).find((l) => l.includes('[vite-plugin-http2-push] /:'))
    await waitFor(() => line() !== undefined, 5000, 'the log line')
    const match = /; (\d+) modules, ([\d.]+) (k?B) \(−(\d+)%\), \d+ ms/.exec(line()!)
    expect(match, line()).not.toBeNull()
    expect(Number(match![1])).toBeGreaterThanOrEqual(5)
    expect(Number(match![4])).toBeGreaterThan(80) // source maps and compression: most of the bytes
  })

  it('skips a body too small to gain', async () => {
    const got = await client.get('/src/tiny.ts', { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(got.body.length).toBeLessThan(256)
    expect(got.headers['content-encoding']).toBeUndefined()
  })

  it('Range and If-None-Match go to Vite: the whole identity body, or a bodiless 304', async () => {
    const ranged = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': 'br', range: 'bytes=0-9' })
    expect(ranged.headers['content-encoding']).toBeUndefined()
    const vite = await plainGet(t.origin, '/src/big.ts', BROWSER_SCRIPT)
    expect([200, 206]).toContain(ranged.status)
    if (ranged.status === 200) expect(ranged.body.equals(vite.body)).toBe(true)
    else expect(ranged.body.equals(vite.body.subarray(0, 10))).toBe(true)
    const revalidated = await client.get('/src/big.ts', {
      ...BROWSER_SCRIPT,
      'accept-encoding': 'br',
      'if-none-match': String(vite.headers.etag),
    })
    expect(revalidated.status).toBe(304)
    expect(revalidated.body.length).toBe(0)
  })

  it('an HTTP/1.1 browser gets the same encoded answer', async () => {
    const got = await http1Get(`${t.origin}/src/big.ts`, { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(got.httpVersion).toBe('1.1')
    expect(got.headers['content-encoding']).toBe('br')
    const h2 = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(got.body.equals(h2.body)).toBe(true)
    expect(Number(got.headers['content-length'] ?? got.body.length)).toBe(got.body.length)
  })

  it('pushes keep the bytes a GET with the promised headers gets: uncompressed, inline maps', async () => {
    await using pushClient = new TestClient(t.origin, { enablePush: true })
    const load = await pushClient.loadPage('/')
    expect(load.fromPush.has('/src/big.ts')).toBe(true)
    const pushed: FetchedResponse = load.closure.get('/src/big.ts')!
    expect(pushed.headers['content-encoding']).toBeUndefined()
    expect(pushed.body.equals((await plainGet(t.origin, '/src/big.ts', SCRIPT_REQUEST)).body)).toBe(true)
  })
})

describe("compression: 'auto' (the default) and 'off'", () => {
  it.each([
    ['auto', {}],
    ['off', { compression: 'off' as const }],
  ])("%s: a loopback client keeps Vite's headers (no Content-Encoding, no added Vary)", async (_name, options) => {
    using app = bigModulesApp()
    await using t = await startTestServer(app.path, options)
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/')
    const before = t.plugin.api!.cachedResponsesServed
    const got = await client.get('/src/big.ts', { ...BROWSER_SCRIPT, 'accept-encoding': 'br' })
    expect(t.plugin.api!.cachedResponsesServed).toBe(before + 1)
    expect(got.headers['content-encoding']).toBeUndefined()
    const vite = await plainGet(t.origin, '/src/big.ts', BROWSER_SCRIPT)
    expect(got.headers.vary).toEqual(vite.headers.vary)
  })
})
