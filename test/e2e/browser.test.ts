import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { startPlayground, type Playground } from '../support/playground.js'

// Real Chromium (Debian's, through playwright-core) against the real playground dev server.
// The playground imports all of lodash-es unbundled (~650 modules), so loads are given minutes.

const LOAD_TIMEOUT = 120_000

/** What one page load in Chromium showed. */
interface Visit {
  /** The HTML document's response protocol as the network stack reported it (CDP). */
  documentProtocol: string | undefined
  /** `performance.getEntriesByType('navigation')[0].nextHopProtocol`. */
  nextHopProtocol: string
  /** Every request the page made (CDP `Network.requestWillBeSent`), in order. */
  requests: string[]
  /** URL → protocol of every response received (CDP `Network.responseReceived`). */
  protocols: Map<string, string | undefined>
  /** Responses with a status other than 2xx/304. */
  badResponses: string[]
  /** Requests that failed at the network level. */
  failedRequests: string[]
  /** Every console message, `type: text`. */
  console: string[]
  /** Console messages of type `error`, and uncaught page errors. */
  errors: string[]
  /** Visible text of `#app`. */
  appText: string
  /** Visible text of the whole body. */
  bodyText: string
  /** Wall time from navigation start to `data-loaded`, ms. */
  loadMs: number
}

/** Opens `url` in a fresh browser context (so a fresh connection and cache) and waits until the app ran. */
async function visit(browser: Browser, url: string): Promise<Visit> {
  await using context = await browser.newContext({ ignoreHTTPSErrors: true })
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  const requests: string[] = []
  const protocols = new Map<string, string | undefined>()
  const badResponses: string[] = []
  const failedRequests: string[] = []
  const consoleLines: string[] = []
  const errors: string[] = []
  let documentProtocol: string | undefined

  cdp.on('Network.requestWillBeSent', (event) => requests.push(event.request.url))
  cdp.on('Network.responseReceived', (event) => {
    const { response } = event
    protocols.set(response.url, response.protocol)
    if (event.type === 'Document' && response.url === url) documentProtocol = response.protocol
    if (!(response.status >= 200 && response.status < 300) && response.status !== 304) {
      badResponses.push(`${response.status} ${response.url}`)
    }
  })
  cdp.on('Network.loadingFailed', (event) =>
    failedRequests.push(`${event.type} ${event.errorText} (${event.requestId})`),
  )
  await cdp.send('Network.enable')

  page.on('console', (message) => {
    const line = `${message.type()}: ${message.text()}`
    consoleLines.push(line)
    if (message.type() === 'error') errors.push(`console.error: ${message.text()} at ${message.location().url}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack ?? error.message}`))

  const started = Date.now()
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: LOAD_TIMEOUT })
  try {
    await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true', undefined, {
      timeout: LOAD_TIMEOUT,
      polling: 100,
    })
  } catch (error) {
    throw new Error(
      `${url} never set data-loaded: ${(error as Error).message}\n` +
        `errors: ${JSON.stringify(errors)}\nfailed: ${JSON.stringify(failedRequests)}\n` +
        `bad responses: ${JSON.stringify(badResponses)}\nrequests so far: ${requests.length}`,
    )
  }
  const loadMs = Date.now() - started
  const nextHopProtocol = await page.evaluate(
    () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
  )
  // Let late console output (Vite's HMR client connecting, stray errors) arrive.
  await page.waitForTimeout(500)
  const appText = await page.locator('#app').innerText()
  const bodyText = await page.locator('body').innerText()
  return {
    documentProtocol,
    nextHopProtocol,
    requests,
    protocols,
    badResponses,
    failedRequests,
    console: consoleLines,
    errors,
    appText,
    bodyText,
    loadMs,
  }
}

/** Checks what every page load must show: it ran, over h2, with nothing broken. */
function expectCleanH2Load(result: Visit, origin: string): void {
  expect(result.errors, 'console errors and page errors').toEqual([])
  expect(result.failedRequests, 'failed requests').toEqual([])
  expect(result.badResponses, 'non-2xx responses').toEqual([])
  expect(result.documentProtocol).toBe('h2')
  expect(result.nextHopProtocol).toBe('h2')
  const notH2 = [...result.protocols].filter(([url, protocol]) => url.startsWith(origin) && protocol !== 'h2')
  expect(notH2, 'same-origin responses not over h2').toEqual([])
}

/** The app's own modules, lodash-es modules and the rest, among the page's requests. */
function summarize(result: Visit): string {
  const lodash = result.requests.filter((url) => url.includes('/lodash-es/')).length
  const src = result.requests.filter((url) => new URL(url).pathname.startsWith('/src/')).length
  return `${result.requests.length} requests (${lodash} lodash-es, ${src} /src/), data-loaded after ${result.loadMs} ms`
}

describe.skipIf(!requireBrowserOrSkip())('the playground in Chromium over HTTP/2', () => {
  let playground: Playground
  let browser: Browser

  beforeAll(async () => {
    playground = await startPlayground()
    browser = await launchChromium()
  }, LOAD_TIMEOUT)
  afterAll(async () => {
    await browser?.close()
    await playground?.server.close()
  })

  it(
    'loads / over h2: every module evaluates, no console errors',
    async () => {
      const result = await visit(browser, `${playground.origin}/`)
      console.info(`[browser] /: ${summarize(result)}\n  console: ${JSON.stringify(result.console)}`)
      expectCleanH2Load(result, playground.origin)
      expect(result.appText).toContain('HTTP/2 push playground')
      expect(result.appText).toContain('greeting: Hello, main page!')
      expect(result.appText).toContain('lodash sum: 21')
      expect(result.appText).toContain('lodash chunk: [[1,2],[3,4],[5,6]]')
      expect(result.appText).toContain('json answer: 42')
      expect(result.appText).toMatch(/lodash exports: [1-9]\d{2}/)
      expect(result.appText).toMatch(/ms \(optimized dep\): \d+ minutes/)
      expect(result.bodyText).toContain('Hello, inline module script!')
      expect(result.appText).not.toContain('Loading…')
      // the whole of lodash-es was loaded as separate modules
      expect(result.requests.filter((url) => url.includes('/lodash-es/')).length).toBeGreaterThan(600)
    },
    3 * LOAD_TIMEOUT,
  )

  it(
    'loads /other.html over h2 the same way',
    async () => {
      const result = await visit(browser, `${playground.origin}/other.html`)
      console.info(`[browser] /other.html: ${summarize(result)}\n  console: ${JSON.stringify(result.console)}`)
      expectCleanH2Load(result, playground.origin)
      expect(result.appText).toContain('HTTP/2 push playground: other page')
      expect(result.appText).toContain('greeting: Hello, other page!')
      expect(result.appText).toContain('lodash sum: 60')
      expect(result.appText).toContain('words: other-page, shared-modules')
      expect(result.appText).not.toContain('Loading…')
    },
    3 * LOAD_TIMEOUT,
  )

  it(
    'gets no push (Chromium sends SETTINGS_ENABLE_PUSH=0) but modulepreload links, and loads everything',
    async () => {
      const sessionsBefore = playground.sessions.length
      const logsBefore = playground.logs.length
      const servedBefore = playground.api.cachedResponsesServed
      const result = await visit(browser, `${playground.origin}/`)
      expectCleanH2Load(result, playground.origin)
      expect(result.appText).toContain('greeting: Hello, main page!')

      // Chromium opened at least one new HTTP/2 connection, and each one refused push.
      const sessions = playground.sessions.slice(sessionsBefore)
      expect(sessions.length).toBeGreaterThan(0)
      for (const session of sessions) expect(session.remoteSettings.enablePush).toBe(false)

      // So the plugin pushed nothing and kept no per-connection push state; it listed the
      // closure as modulepreload links instead (its log line says so).
      const lines = playground.logs.slice(logsBefore).filter((line) => line.includes('[vite-plugin-http2-push] /:'))
      expect(lines).toHaveLength(1)
      // with the bytes the closure costs this client: external source maps, no compression on loopback
      expect(lines[0]).toMatch(
        /\/: \d{3} modulepreload links; import map of \d+; (\d+ learned; )?(\d+ of \d+ versions from the restart record; )?not compressed: loopback, RTT [^;]+; \d{3} modules, [\d.]+ [kM]B \(−\d+%\), \d+ ms/,
      )
      expect(lines[0]).not.toContain('pushed')
      expect(playground.api.rememberedPushCount).toBe(0)

      // ...and Chromium fetched the whole module graph with ordinary requests, nearly all of them
      // answered from the plugin's rendered responses (Chromium sends Origin with each; the
      // inline script's proxy module, invalidated by each HTML request, goes to Vite).
      const modules = result.requests.filter((url) => url.includes('/lodash-es/') || url.includes('/src/'))
      expect(modules.length).toBeGreaterThan(600)
      const fromCache = playground.api.cachedResponsesServed - servedBefore
      expect(fromCache / modules.length).toBeGreaterThanOrEqual(0.95)
    },
    3 * LOAD_TIMEOUT,
  )
})
