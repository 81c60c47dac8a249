import type { Page as ChromiumPage } from 'playwright-core'
import type { Page as FirefoxPage } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { launchFirefox, requireFirefoxOrSkip } from '../support/firefox.js'
import { DOCUMENT_REQUEST } from '../support/browser-headers.mjs'
import { plainGet, TestClient } from '../support/http2-clients.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { launchProfileTrusting } from '../support/trusted-chromium.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// The dev-only load report (/__http2-push/loads): per page and client, what a load cost and why it
// was not free, plus a console line from a page whose load the server already knows is not free.

const REPORT = '/__http2-push/loads'
const DISABLE_CACHE = /DevTools&#39; &#34;Disable cache&#34; is on/

function reportApp(): TempDir {
  return tempDir('load-report', {
    'index.html':
      '<!doctype html><html><head><script type="module" src="/src/main.js"></script></head><body></body></html>\n',
    'src/main.js': "import { label } from './label.js'\ndocument.documentElement.dataset.loaded = label\n",
    'src/label.js': "export const label = 'true'\n",
  })
}

/** The report page's rows (newest first) for `page`, as HTML. */
async function rowsFor(t: TestServer, page: string): Promise<string[]> {
  const response = await plainGet(t.origin, REPORT)
  expect(response.status).toBe(200)
  return response.body
    .toString('utf8')
    .split('<tr>')
    .filter((row) => row.includes(`<td>${page}</td>`))
}

/** The newest row for `page` once its load's requests are counted (the report is read while they may still arrive). */
async function latestRow(t: TestServer, page: string, wanted: RegExp): Promise<string> {
  let row = ''
  for (let i = 0; i < 50; i++) {
    row = (await rowsFor(t, page))[0] ?? ''
    if (wanted.test(row)) return row
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return row
}

async function loaded(page: ChromiumPage | FirefoxPage): Promise<void> {
  await (page as FirefoxPage).waitForFunction(() => document.documentElement.dataset.loaded === 'true')
}

describe('the load report', () => {
  let app: TempDir
  beforeAll(() => {
    app = reportApp()
  })
  afterAll(() => app?.remove())

  describe.skipIf(!requireBrowserOrSkip())('in Chromium (a profile that trusts the certificate)', () => {
    it('says "0 module requests" for a clean reload, and names "Disable cache" for a reload with the cache disabled', async () => {
      await using t = await startTestServer(app.path)
      const context = await launchProfileTrusting(t.origin)
      try {
        const page = await context.newPage()
        const console: string[] = []
        page.on('console', (message) => console.push(message.text()))
        await page.goto(`${t.origin}/`)
        await loaded(page)
        await page.reload()
        await loaded(page)
        const clean = await latestRow(t, '/', /0 module requests/)
        expect(clean).toContain('0 module requests')
        expect(clean).toContain('<td>free</td>')
        expect(console.join('\n')).not.toContain('not free')

        const cdp = await context.newCDPSession(page)
        await cdp.send('Network.enable')
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
        await page.reload()
        await loaded(page)
        const disabled = await latestRow(t, '/', DISABLE_CACHE)
        expect(disabled).toMatch(DISABLE_CACHE)
        expect(disabled).not.toContain('>0 module requests')
        expect(console.join('\n')).toMatch(/this load is not free: DevTools' "Disable cache" is on/)
      } finally {
        await context.close()
      }
    })
  })

  describe.skipIf(!requireBrowserOrSkip())('in Chromium with a certificate error ignored (no HTTP cache)', () => {
    it('names the versioned URLs asked for again on a new navigation, and the console says so on the next', async () => {
      await using t = await startTestServer(app.path)
      const browser = await launchChromium()
      try {
        const context = await browser.newContext({ ignoreHTTPSErrors: true })
        const console: string[] = []
        context.on('console', (message) => console.push(message.text()))
        for (let i = 0; i < 3; i++) {
          const page = await context.newPage()
          await page.goto(`${t.origin}/`)
          await loaded(page)
        }
        const row = await latestRow(t, '/', /versioned URLs asked for again/)
        expect(row).toMatch(/[1-9]\d* versioned URLs asked for again: /)
        expect(console.join('\n')).toContain('the last load asked again for versioned URLs')
      } finally {
        await browser.close()
      }
    })
  })

  describe.skipIf(!requireFirefoxOrSkip())('in Firefox', () => {
    it('says "0 module requests" for a clean reload, and names "Disable cache" for a reload with the cache bypassed', async () => {
      await using t = await startTestServer(app.path)
      const firefox = await launchFirefox()
      try {
        const { page } = await firefox.openPage()
        const console: string[] = []
        page.on('console', (message) => console.push(message.text()))
        await page.goto(`${t.origin}/`)
        await loaded(page)
        await page.reload()
        await loaded(page)
        const clean = await latestRow(t, '/', /0 module requests/)
        expect(clean).toContain('0 module requests')
        expect(clean).toContain('<td>free</td>')

        // WebDriver BiDi network.setCacheBehavior('bypass'), as DevTools' "Disable cache"
        await page.setCacheEnabled(false)
        await page.reload()
        await loaded(page)
        const disabled = await latestRow(t, '/', DISABLE_CACHE)
        expect(disabled).toMatch(DISABLE_CACHE)
        expect(console.join('\n')).toMatch(/this load is not free: DevTools' "Disable cache" is on/)
      } finally {
        await firefox.close()
      }
    })
  })

  it('escapes what it shows (a hostile page URL)', async () => {
    await using t = await startTestServer(app.path)
    const hostile = `/"><img/src=x/onerror=alert(1)>&<script>alert(2)</script>.html`
    const client = new TestClient(t.origin, { enablePush: false })
    try {
      await client.get(hostile, DOCUMENT_REQUEST)
    } finally {
      await client.close()
    }
    const body = (await plainGet(t.origin, REPORT)).body.toString('utf8')
    expect(body).toContain(
      '/&#34;&#62;&#60;img/src=x/onerror=alert(1)&#62;&#38;&#60;script&#62;alert(2)&#60;/script&#62;.html',
    )
    expect(body).not.toContain('<img')
    expect(body).not.toContain('<script')
  })

  it('is not served for a Host that Vite rejects (server.allowedHosts)', async () => {
    await using t = await startTestServer(app.path)
    const port = new URL(t.origin).port
    const rebound = await plainGet(t.origin, REPORT, { ':authority': `attacker.example:${port}` })
    expect(rebound.status).toBe(403)
    expect(rebound.body.toString('utf8')).not.toContain('Recent page loads')
    expect((await plainGet(t.origin, REPORT, { ':authority': `127.0.0.1:${port}` })).status).toBe(200)
    await using allowed = await startTestServer(app.path, {}, { server: { allowedHosts: ['attacker.example'] } })
    const allowedPort = new URL(allowed.origin).port
    expect((await plainGet(allowed.origin, REPORT, { ':authority': `attacker.example:${allowedPort}` })).status).toBe(
      200,
    )
  })
})
