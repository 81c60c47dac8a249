import fs from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCRIPT_REQUEST } from '../support/browser-headers.mjs'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { plainGet, TestClient, type FetchedResponse } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// A browser's module GET answered from the plugin's cache carries a link to an external source
// map instead of Vite's inline `data:` map (most of the bytes). The body is Vite's with that one
// comment replaced; the map is served with the module's freshness and fs checks.

/** A module script request as Chromium makes it (it always sends Sec-Fetch-Mode). */
const BROWSER_SCRIPT = { ...SCRIPT_REQUEST, 'sec-fetch-mode': 'cors' }

const MAPPED_TS = `// line 1: a comment
type Shape = { n: number }
interface Unused { x: string }
const shape: Shape = { n: 1 }
export function marker(): string {
  return 'MARKER_' + shape.n
}
`
/** The 0-based line of `MARKER_` in {@link MAPPED_TS}. */
const MARKER_LINE = 5

function mapsApp(): TempDir {
  return tempDir('maps', {
    'index.html': `<!doctype html><html><head></head><body><div id="app"></div>
<script type="module" src="/src/main.ts"></script></body></html>\n`,
    'src/main.ts': `import { marker } from './mapped.ts'\nimport { secret } from './secret.ts'\ndocument.querySelector('#app')!.textContent = marker() + (secret ? '' : '!')\ndocument.documentElement.dataset.loaded = 'true'\n`,
    'src/mapped.ts': MAPPED_TS,
    'src/secret.ts': `export const secret = 'TOP_SECRET_VALUE'\n`,
  })
}

const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)$/
const EXTERNAL_MAP = /\n\/\/# sourceMappingURL=(\/[^\s]*[?&]__h2map=[\w-]+)$/

/** What a test expects: Vite's own bytes with the inline map comment replaced by a link. */
function withExternalMap(viteBody: Buffer, mapUrl: string): string {
  const text = viteBody.toString()
  expect(text).toMatch(INLINE_MAP)
  return text.replace(INLINE_MAP, `\n//# sourceMappingURL=${mapUrl}`)
}

function mapUrlOf(response: FetchedResponse): string {
  const match = EXTERNAL_MAP.exec(response.body.toString())
  expect(match, response.body.toString().slice(-200)).not.toBeNull()
  return match![1]!
}

interface SourceMap {
  sources: string[]
  sourcesContent?: string[]
  mappings: string
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Decodes a source map's `mappings`: for each generated line, its segments [column, source, line, column]. */
function decodeMappings(mappings: string): number[][][] {
  const state = [0, 0, 0, 0]
  return mappings.split(';').map((line) => {
    state[0] = 0
    return line
      .split(',')
      .filter(Boolean)
      .map((segment) => {
        const values: number[] = []
        let value = 0
        let shift = 0
        for (const char of segment) {
          const digit = BASE64.indexOf(char)
          value += (digit & 31) << shift
          if (digit & 32) shift += 5
          else {
            values.push(value & 1 ? -(value >>> 1) : value >>> 1)
            value = 0
            shift = 0
          }
        }
        return values.map((delta, i) => (state[i]! += delta))
      })
  })
}

/** The original lines the generated line holding `needle` maps to. */
function originalLinesOf(code: string, map: SourceMap, needle: string): number[] {
  const generatedLine = code.split('\n').findIndex((line) => line.includes(needle))
  expect(generatedLine).toBeGreaterThanOrEqual(0)
  return decodeMappings(map.mappings)
    [generatedLine]!.filter((s) => s.length >= 4)
    .map((s) => s[2]!)
}

describe('external source maps for browsers', () => {
  let app: TempDir
  let t: TestServer
  let client: TestClient

  beforeAll(async () => {
    app = mapsApp()
    t = await startTestServer(app.path)
    client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/') // renders and caches the closure
  })
  afterAll(async () => {
    await client?.close()
    await t?.close()
    app?.remove()
  })

  it("answers a browser's module GET with Vite's bytes, the inline map replaced by a link; the map maps back", async () => {
    const before = t.plugin.api!.cachedResponsesServed
    const cached = await client.get('/src/mapped.ts', BROWSER_SCRIPT)
    expect(t.plugin.api!.cachedResponsesServed).toBe(before + 1)
    const vite = await plainGet(t.origin, '/src/mapped.ts', BROWSER_SCRIPT)
    const mapUrl = mapUrlOf(cached)
    expect(mapUrl).toMatch(/^\/src\/mapped\.ts\?__h2map=[\w-]+$/)
    expect(cached.body.toString()).toBe(withExternalMap(vite.body, mapUrl))
    expect(cached.headers.etag).toBe(vite.headers.etag) // Vite's weak ETag: an equivalent representation
    expect(String(vite.headers.etag)).toMatch(/^W\//)
    expect(cached.body.length).toBeLessThan(vite.body.length / 2)

    const map = await client.get(mapUrl, { accept: '*/*', 'sec-fetch-mode': 'no-cors' })
    expect(map.status).toBe(200)
    expect(map.headers['content-type']).toBe('application/json')
    const inline = Buffer.from(INLINE_MAP.exec(vite.body.toString())![1]!, 'base64')
    expect(map.body.equals(inline)).toBe(true)
    const json = JSON.parse(map.body.toString()) as SourceMap
    expect(json.sourcesContent?.[0]).toBe(MAPPED_TS)
    expect(originalLinesOf(cached.body.toString(), json, 'MARKER_')).toContain(MARKER_LINE)
  })

  it('answers the same bytes every time (the versioned URL is immutable) and the matching 304', async () => {
    const html = (await client.get('/', { accept: 'text/html', 'sec-fetch-dest': 'document' })).body.toString()
    const versioned = /"\/src\/mapped\.ts":"(\/src\/mapped\.ts\?__h2v=[\w-]+)"/.exec(html)![1]!
    const first = await client.get(versioned, BROWSER_SCRIPT)
    const second = await client.get(versioned, BROWSER_SCRIPT)
    expect(first.headers['cache-control']).toBe('max-age=31536000, immutable')
    expect(mapUrlOf(first)).toBe(mapUrlOf(second))
    expect(first.body.equals(second.body)).toBe(true)
    const unversioned = await client.get('/src/mapped.ts', BROWSER_SCRIPT)
    expect(first.body.equals(unversioned.body)).toBe(true)
    // a revalidation with that ETag (or with Vite's own body's: the same weak ETag) is a 304, no body
    const revalidated = await client.get('/src/mapped.ts', {
      ...BROWSER_SCRIPT,
      'if-none-match': String(first.headers.etag),
    })
    expect(revalidated.status).toBe(304)
    expect(revalidated.body.length).toBe(0)
    // an older ETag gets the whole current body
    const changed = await client.get('/src/mapped.ts', { ...BROWSER_SCRIPT, 'if-none-match': 'W/"1-old"' })
    expect(changed.status).toBe(200)
    expect(changed.body.length).toBeGreaterThan(0)
  })

  it("keeps Vite's bytes for a GET without Sec-Fetch-Mode (a push's request form, a tool) and for pushes", async () => {
    const vite = await plainGet(t.origin, '/src/mapped.ts', SCRIPT_REQUEST)
    const before = t.plugin.api!.cachedResponsesServed
    const toolGet = await client.get('/src/mapped.ts', SCRIPT_REQUEST)
    expect(t.plugin.api!.cachedResponsesServed).toBe(before + 1)
    expect(toolGet.body.equals(vite.body)).toBe(true)
    await using pushClient = new TestClient(t.origin, { enablePush: true })
    const load = await pushClient.loadPage('/')
    const pushed = load.closure.get('/src/mapped.ts')!
    expect(load.fromPush.has('/src/mapped.ts')).toBe(true)
    expect(pushed.body.equals(vite.body)).toBe(true)
  })

  it('serves a fresh map after an edit, and no longer the old one', async () => {
    const oldMapUrl = mapUrlOf(await client.get('/src/mapped.ts', BROWSER_SCRIPT))
    fs.writeFileSync(app.join('src/mapped.ts'), MAPPED_TS.replace("'MARKER_'", "'EDITED_'"))
    let edited: FetchedResponse | undefined
    await waitFor(
      async () => {
        // a page load renders the new version into the cache (imported as ?t= now)
        client.forgetHeld()
        const load = await client.loadPage('/')
        const key = [...load.closure.keys()].find((k) => k.startsWith('/src/mapped.ts'))!
        edited = await client.get(key, BROWSER_SCRIPT)
        return edited.body.toString().includes('EDITED_') && EXTERNAL_MAP.test(edited.body.toString())
      },
      10_000,
      'the edit to be served from the cache',
    )
    const newMapUrl = mapUrlOf(edited!)
    expect(newMapUrl).not.toBe(oldMapUrl)
    expect((await client.get(oldMapUrl, { accept: '*/*' })).status).toBe(404)
    const map = JSON.parse((await client.get(newMapUrl, { accept: '*/*' })).body.toString()) as SourceMap
    expect(map.sourcesContent?.[0]).toContain("'EDITED_'")
    expect(originalLinesOf(edited!.body.toString(), map, 'EDITED_')).toContain(MARKER_LINE)
  })

  it('never answers a map URL with anything but a map: unknown versions and non-modules are 404', async () => {
    const unknown = 'Ab0_-cdefghijklm' // the plugin's own form (16 characters of base64url), no version it has
    for (const url of [
      `/src/mapped.ts?__h2map=${unknown}`,
      `/index.html?__h2map=${unknown}`,
      `/src/missing.ts?__h2map=${unknown}`,
    ]) {
      const response = await client.get(url, { accept: '*/*' })
      expect(response.status, url).toBe(404)
      expect(response.body.toString()).not.toContain('export')
    }
  })

  it('leaves a marker not in its own form to Vite, which answers as it does without the plugin', async () => {
    for (const url of ['/src/mapped.ts?__h2map=nope', '/src/mapped.ts?__h2map=x&__h2map=y']) {
      const response = await client.get(url, BROWSER_SCRIPT)
      expect(response.status, url).toBe(200)
      expect(response.body.toString()).toMatch(INLINE_MAP)
    }
  })
})

describe('source maps and server.fs', () => {
  it("denies a denied module's map, even at the map URL of its exact version", async () => {
    using app = mapsApp()
    let secretMapUrl: string
    {
      await using open = await startTestServer(app.path)
      await using client = new TestClient(open.origin, { enablePush: false, useResponseCache: true })
      await client.loadPage('/')
      secretMapUrl = mapUrlOf(await client.get('/src/secret.ts', BROWSER_SCRIPT))
      const map = await client.get(secretMapUrl, { accept: '*/*' })
      expect(map.status).toBe(200)
      expect(map.body.toString()).toContain('TOP_SECRET_VALUE')
    }
    // the same app, the same Vite, so the same version; now server.fs denies the file
    await using t = await startTestServer(app.path, {}, { server: { fs: { deny: ['**/secret.ts'] } } })
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/')
    const denied = await client.get(secretMapUrl, { accept: '*/*' })
    expect(denied.status).not.toBe(200)
    expect(denied.body.toString()).not.toContain('TOP_SECRET_VALUE')
    // (what Vite itself answers for the module is Vite's business; the plugin never answers it)
    const before = t.plugin.api!.cachedResponsesServed
    await client.get('/src/secret.ts', BROWSER_SCRIPT)
    expect(t.plugin.api!.cachedResponsesServed).toBe(before)
    // an allowed module's map is served on that server
    const allowed = await client.get(mapUrlOf(await client.get('/src/mapped.ts', BROWSER_SCRIPT)), { accept: '*/*' })
    expect(allowed.status).toBe(200)
  })
})

describe("sourceMaps: 'inline'", () => {
  it("keeps Vite's inline maps for browsers too", async () => {
    using app = mapsApp()
    await using t = await startTestServer(app.path, { sourceMaps: 'inline' })
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    await client.loadPage('/')
    const before = t.plugin.api!.cachedResponsesServed
    const cached = await client.get('/src/mapped.ts', BROWSER_SCRIPT)
    expect(t.plugin.api!.cachedResponsesServed).toBe(before + 1)
    expect(cached.body.equals((await plainGet(t.origin, '/src/mapped.ts', BROWSER_SCRIPT)).body)).toBe(true)
  })
})

describe.skipIf(!requireBrowserOrSkip())('external source maps in Chromium (CDP)', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('Debugger.scriptParsed names the map URL; it is served and maps the line back to the TS source', async () => {
    using app = mapsApp()
    await using t = await startTestServer(app.path)
    await using context = await browser.newContext({ ignoreHTTPSErrors: true })
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    const parsed = new Map<string, { scriptId: string; sourceMapURL: string }>()
    cdp.on('Debugger.scriptParsed', (event) => {
      parsed.set(new URL(event.url, t.origin).pathname, {
        scriptId: event.scriptId,
        sourceMapURL: event.sourceMapURL ?? '',
      })
    })
    await cdp.send('Debugger.enable')
    await page.goto(`${t.origin}/`)
    await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
    expect(await page.textContent('#app')).toBe('MARKER_1')

    const script = parsed.get('/src/mapped.ts')
    expect(script, [...parsed.keys()].join(' ')).toBeDefined()
    expect(script!.sourceMapURL).toMatch(/^\/src\/mapped\.ts\?__h2map=[\w-]+$/)
    expect(t.plugin.api!.cachedResponsesServed).toBeGreaterThan(0)
    const { scriptSource } = await cdp.send('Debugger.getScriptSource', { scriptId: script!.scriptId })

    // fetch the map as DevTools would: from the page's origin, resolved against the script's URL
    const mapUrl = new URL(script!.sourceMapURL, `${t.origin}/src/mapped.ts`).href
    const response = await page.request.get(mapUrl)
    expect(response.status()).toBe(200)
    const map = (await response.json()) as SourceMap
    expect(map.sourcesContent?.[0]).toBe(MAPPED_TS)
    expect(new URL(map.sources[0]!, mapUrl).pathname).toBe('/src/mapped.ts')
    expect(originalLinesOf(scriptSource, map, 'MARKER_')).toContain(MARKER_LINE)
  })
})
