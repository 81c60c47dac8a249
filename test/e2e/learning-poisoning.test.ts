import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST } from '../support/browser-headers.mjs'
import { TestClient } from '../support/http2-clients.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Issue 18, item 3: one client must not plant URLs in every other client's page. A client that
// loads a page on its connection may teach the plugin what that page loads (that is how dynamic
// imports and framework runtimes are learned), but only Vite's own forms of files Vite serves,
// one form per file, and only so many bytes of them.

/** Deep folders: real files whose URLs are ~940 bytes long (under the 1 KiB a learned URL may have). */
const DEEP = ['a', 'b', 'c', 'd'].map((letter) => letter.repeat(230)).join('/')
const DEEP_FILES = 200
/** What a page's learned URLs may add to its HTML (the plugin's `maxHtmlBytesPerPage`). */
const MAX_LEARNED_HTML_BYTES = 256 * 1024

function page(title: string): string {
  return `<!doctype html>
<html><head><title>${title}</title></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>
`
}

function poisoningApp(): TempDir {
  const files: Record<string, string> = {
    'index.html': page('home'),
    'forms.html': page('forms'),
    'bytes.html': page('bytes'),
    'public/note.html': '<!doctype html><p>a note</p>\n',
    'src/main.ts': `document.querySelector('#app')!.textContent = 'main'\n`,
    'src/shared.ts': `export const shared = 'shared'\n`,
    'src/lazy.ts': `export const lazy = 'lazy'\n`,
  }
  for (let i = 0; i < DEEP_FILES; i++) files[`src/${DEEP}/f${i}.ts`] = `export const f = ${i}\n`
  return tempDir('learning-poisoning', files)
}

describe('learning cannot be used to plant URLs in other clients’ pages', () => {
  let app: TempDir
  let t: TestServer
  beforeAll(async () => {
    app = poisoningApp()
    t = await startTestServer(app.path, { warmup: false })
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  /**
   * One page load by the attacker on its own connection (as a browser would: the HTML, then module
   * requests whose `Referer` is the page), requesting `urls`, then `/src/lazy.ts` (the positive
   * control: a real module the page does not import statically, which is learned).
   */
  async function plant(attacker: TestClient, pageUrl: string, urls: string[]): Promise<void> {
    await attacker.get(pageUrl, DOCUMENT_REQUEST)
    const headers = { ...SCRIPT_REQUEST, referer: `${t.origin}${pageUrl}`, 'cache-control': 'no-cache' }
    const responses = await Promise.all(urls.map((url) => attacker.get(url, headers)))
    // Vite serves each one: it is the plugin that must not learn them
    expect(responses.map((response) => response.status)).toEqual(urls.map(() => 200))
    expect((await attacker.get('/src/lazy.ts', headers)).status).toBe(200)
  }

  /** What a fresh client (links and import map, no push) gets for `pageUrl`. */
  async function victimHtml(pageUrl: string): Promise<string> {
    await using victim = new TestClient(t.origin, { enablePush: false })
    const response = await victim.get(pageUrl, DOCUMENT_REQUEST)
    expect(response.status).toBe(200)
    return response.body.toString('utf8')
  }

  it('150 URLs with a made-up query key (?p=) are not learned: a fresh client’s page lists none', async () => {
    await using attacker = new TestClient(t.origin, { enablePush: false })
    for (let round = 0; round < 3; round++) {
      const urls = Array.from({ length: 50 }, (_, i) => `/src/shared.ts?p=${round * 50 + i}`)
      await plant(attacker, '/', urls)
    }
    const html = await victimHtml('/')
    expect(html.match(/shared\.ts\?p=\d+/g) ?? []).toEqual([])
    // the positive control: what the page really loaded on that connection is still learned
    expect(html).toContain('/src/lazy.ts')
  })

  it('a real file that Vite answers with HTML (a public file), not as a module, is not learned', async () => {
    await using attacker = new TestClient(t.origin, { enablePush: false })
    const headers = { ...SCRIPT_REQUEST, referer: `${t.origin}/`, 'cache-control': 'no-cache' }
    const before = t.plugin.api!.learnedUrlCount
    await attacker.get('/', DOCUMENT_REQUEST)
    const html = await attacker.get('/note.html', headers)
    expect(html.status).toBe(200)
    expect(html.headers['content-type']).toMatch(/^text\/html/)
    // the positive control: a module the page has not learned yet
    expect((await attacker.get('/src/shared.ts', headers)).status).toBe(200)
    await expect.poll(() => t.plugin.api!.learnedUrlCount).toBe(before + 1)
  })

  it('50 forms of one file in Vite’s own query keys: a fresh client’s page lists at most one', async () => {
    await using attacker = new TestClient(t.origin, { enablePush: false })
    const forms = [
      ...Array.from({ length: 25 }, (_, i) => `/src/shared.ts?v=${i}`),
      ...Array.from({ length: 24 }, (_, i) => `/src/shared.ts?import&v=x${i}`),
      `/@fs${app.path}/src/shared.ts`,
    ]
    await plant(attacker, '/forms.html', forms)
    await plant(attacker, '/forms.html', forms)
    const html = await victimHtml('/forms.html')
    // each form appears as an import map key, its versioned target, and a link: count the distinct forms
    const listed = new Set(
      [...html.matchAll(/["'=]((?:\/@fs[^"'\s]*)?\/src\/shared\.ts(?:\?[^"'\s]*)?)["'\s>]/g)].map((match) =>
        match[1]!.replace(/&amp;/g, '&').replace(/[?&]__h2v=[\w-]+/, ''),
      ),
    )
    expect(listed.size).toBeLessThanOrEqual(1)
    expect(html).toContain('/src/lazy.ts')
  })

  it('real files with long URLs: what a page learns adds at most 256 KiB to its HTML', async () => {
    const before = Buffer.byteLength(await victimHtml('/bytes.html'))
    await using attacker = new TestClient(t.origin, { enablePush: false })
    const urls = Array.from({ length: DEEP_FILES }, (_, i) => `/src/${DEEP}/f${i}.ts`)
    expect(Buffer.byteLength(urls[0]!)).toBeLessThan(1024)
    for (let round = 0; round < 3; round++) await plant(attacker, '/bytes.html', urls)
    const html = await victimHtml('/bytes.html')
    const grown = Buffer.byteLength(html) - before
    // the files are real and Vite serves them: some are learned (whichever answered first), until the byte bound
    expect(html).toContain(`/src/${DEEP}/f`)
    expect(grown).toBeLessThanOrEqual(MAX_LEARNED_HTML_BYTES)
  })
})
