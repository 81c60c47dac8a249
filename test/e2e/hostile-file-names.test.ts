import http2 from 'node:http2'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { readResponse, TestClient } from '../support/http2-clients.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Issue 18.4: a file name is text the plugin writes into the page (versioned src/href attributes,
// modulepreload links, the import map) and into the 103's Link header. A quote, a `<` or a
// separator in it must never end what it is written in.

/** Sets the title (the page's own is "safe"): what each handler would run if a quote ended its attribute. */
const HANDLER = (n: number) => `document.title=${n}`

const QUOTE_PAGE = `<!doctype html><html><head><title>safe</title>
<link rel=stylesheet href='/src/s&#39;onload=&#39;${HANDLER(1339)}&#39;.css'>
<script type=module src='/src/t&#39;onerror=&#39;${HANDLER(1337)}&#39;x.js'></script>
<script type=module src=/src/u&#39;onerror=&#39;${HANDLER(1338)}&#39;y.js></script>
</head><body></body></html>`

describe.skipIf(!requireBrowserOrSkip())('a quote in a file name, in Chromium', () => {
  let app: TempDir
  let t: TestServer
  let browser: Browser

  beforeAll(async () => {
    app = tempDir('hostile-names', {
      'index.html': QUOTE_PAGE,
      [`src/t'onerror='${HANDLER(1337)}'x.js`]: `globalThis.quotedModuleRan = true\n`,
      [`src/u'onerror='${HANDLER(1338)}'y.js`]: `globalThis.unquotedModuleRan = true\n`,
      [`src/s'onload='${HANDLER(1339)}'.css`]: `body { color: rgb(1, 2, 3) }\n`,
    })
    t = await startTestServer(app.path)
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
    app?.remove()
  })

  it('loads the module and the stylesheet, versioned, and runs no handler (first load and reload)', async () => {
    await using context = await browser.newContext({ ignoreHTTPSErrors: true })
    const page = await context.newPage()
    for (const load of ['first load', 'reload']) {
      const html = await (await page.goto(`${t.origin}/`, { waitUntil: 'load' }))!.text()
      expect(html.match(/__h2v=/g)?.length ?? 0, `${load}: ${html}`).toBeGreaterThanOrEqual(3)
      const seen = await page.evaluate(() => ({
        title: document.title,
        quoted: (globalThis as { quotedModuleRan?: boolean }).quotedModuleRan,
        unquoted: (globalThis as { unquotedModuleRan?: boolean }).unquotedModuleRan,
        color: getComputedStyle(document.body).color,
        attributes: Array.from(document.querySelectorAll('script[src], link[href]'), (element) =>
          element.getAttributeNames().join(' '),
        ),
      }))
      expect(seen, `${load}: ${html}`).toEqual({
        title: 'safe',
        quoted: true,
        unquoted: true,
        color: 'rgb(1, 2, 3)',
        attributes: expect.arrayContaining(['rel href', 'type src', 'type src']),
      })
      expect(seen.attributes.every((names) => !/\bon/.test(names))).toBe(true)
    }
  })
})

describe('a , ; < or space in a file name, in the 103 Early Hints', () => {
  let app: TempDir
  let t: TestServer

  beforeAll(async () => {
    app = tempDir('hostile-link', {
      'index.html': `<!doctype html><html><head>
<script type="module" src="/src/a,b;c&lt;d e.js"></script>
<script type="module" src="/src/l&lt;t e ü.js"></script>
<script type="module" src="/src/plain.js"></script>
</head><body></body></html>`,
      'src/a,b;c<d e.js': `export const separators = 1\n`,
      'src/l<t e ü.js': `export const encoded = 1\n`,
      'src/plain.js': `export const plain = 1\n`,
    })
    t = await startTestServer(app.path, { earlyHints: true })
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  it('lists each module as one well-formed link, even under a parser that splits at , and ;', async () => {
    await using client = new TestClient(t.origin, { enablePush: false })
    await client.loadPage('/') // the page's closure is known from here on
    const informational: http2.IncomingHttpHeaders[] = []
    const request = client.session.request({ ':path': '/', accept: 'text/html' })
    request.on('headers', (headers) => informational.push(headers))
    expect((await readResponse(request)).status).toBe(200)
    expect(informational.map((headers) => headers[':status'])).toEqual([103])
    const header = ([] as string[]).concat(informational[0]!.link ?? []).join(', ')
    const links = header.split(',').map((link) => link.trim())
    for (const link of links) expect(link, header).toMatch(/^<\/[\x21-\x7e]*>; rel=modulepreload$/)
    const targets = links.map((link) => link.slice(1, link.indexOf('>')))
    for (const target of targets) expect(target, header).not.toMatch(/[<>";,\s]/)
    expect(targets).toContainEqual(expect.stringMatching(/^\/src\/plain\.js\?__h2v=[\w-]+$/))
    // what the URL parser encodes anyway is listed, encoded as the browser does
    expect(targets).toContainEqual(expect.stringMatching(/^\/src\/l%3Ct%20e%20%C3%BC\.js\?__h2v=[\w-]+$/))
    // a URL with , or ; is left out: encoding them would name a URL the page never imports
    expect(targets.filter((target) => target.startsWith('/src/a'))).toEqual([])
  })
})
