import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http2Push from 'vite-plugin-http2-push'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { generatedApp } from '../support/apps.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'

const REPO = path.resolve(import.meta.dirname, '../..')
const LOAD_TIMEOUT = 120_000

/** How Chromium came to request each module of one page load. */
interface ModuleRequests {
  /** Same-origin script requests by initiator type (`parser` = found in the HTML, `script` = found by an import). */
  byInitiator: Map<string, string[]>
  total: number
  errors: string[]
}

async function loadAndClassify(browser: Browser, url: string): Promise<ModuleRequests> {
  await using context = await browser.newContext({ ignoreHTTPSErrors: true })
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  const origin = new URL(url).origin
  const byInitiator = new Map<string, string[]>()
  let total = 0
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.type !== 'Script' || !event.request.url.startsWith(origin)) return
    total++
    const kind = event.initiator.type
    byInitiator.set(kind, [...(byInitiator.get(kind) ?? []), event.request.url])
  })
  await cdp.send('Network.enable')
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: LOAD_TIMEOUT })
  await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true', undefined, {
    timeout: LOAD_TIMEOUT,
  })
  return { byInitiator, total, errors }
}

function parserShare(requests: ModuleRequests): number {
  return (requests.byInitiator.get('parser')?.length ?? 0) / requests.total
}

async function listen(server: ViteDevServer): Promise<string> {
  await server.listen()
  return new URL(server.resolvedUrls!.local[0]!).origin
}

describe.skipIf(!requireBrowserOrSkip())('Chromium gets the whole closure from the HTML', () => {
  let browser: Browser
  let app: TempDir
  const servers: ViteDevServer[] = []

  beforeAll(async () => {
    browser = await launchChromium()
    app = generatedApp('chromium', { modules: 300, depth: 8, fanout: 4 })
  }, LOAD_TIMEOUT)
  afterAll(async () => {
    await browser?.close()
    for (const server of servers) await server.close()
    app?.remove()
  })

  it(
    'with the plugin, at least 95% of module requests come from the parser; without it, deep ones come from scripts',
    async () => {
      const withPlugin = await createServer({
        root: app.path,
        configFile: false,
        logLevel: 'silent',
        plugins: [http2Push({ certDir: path.join(os.tmpdir(), 'vite-plugin-http2-push-test-cert') })],
        server: { port: 0 },
      })
      servers.push(withPlugin)
      const pluginLoad = await loadAndClassify(browser, `${await listen(withPlugin)}/`)
      expect(pluginLoad.errors).toEqual([])
      expect(pluginLoad.total).toBeGreaterThanOrEqual(300)
      expect(parserShare(pluginLoad), JSON.stringify([...pluginLoad.byInitiator.keys()])).toBeGreaterThanOrEqual(0.95)

      // the same app on Vite's own HTTP/2 (server.https), no plugin: modules are found import by import
      const { key, cert } = createLeafCertificate()
      const plain = await createServer({
        root: app.path,
        configFile: false,
        logLevel: 'silent',
        cacheDir: app.join('node_modules/.vite-plain'),
        server: { port: 0, https: { key, cert } },
      })
      servers.push(plain)
      const plainLoad = await loadAndClassify(browser, `${await listen(plain)}/`)
      expect(plainLoad.errors).toEqual([])
      expect(plainLoad.total).toBeGreaterThanOrEqual(300)
      expect(parserShare(plainLoad)).toBeLessThan(0.05)
      expect(plainLoad.byInitiator.get('script')?.length ?? 0).toBeGreaterThan(0.9 * plainLoad.total)
    },
    4 * LOAD_TIMEOUT,
  )

  it(
    'on the playground, at least 95% of module requests come from the parser',
    async () => {
      const playground = await createServer({
        configFile: path.join(REPO, 'playground/vite.config.ts'),
        root: path.join(REPO, 'playground'),
        logLevel: 'silent',
        server: { port: 0 },
      })
      servers.push(playground)
      const load = await loadAndClassify(browser, `${await listen(playground)}/`)
      expect(load.errors).toEqual([])
      expect(load.total).toBeGreaterThan(600)
      expect(parserShare(load)).toBeGreaterThanOrEqual(0.95)
    },
    4 * LOAD_TIMEOUT,
  )
})

describe.skipIf(!requireBrowserOrSkip())('HMR with the plugin in Chromium', () => {
  let browser: Browser
  let app: TempDir
  let server: ViteDevServer

  beforeAll(async () => {
    browser = await launchChromium()
    app = tempDir('hmr', {
      'index.html': `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>`,
      'src/main.js': `import { label } from './label.js'
const render = (text) => { document.querySelector('#app').textContent = text }
render(label)
if (import.meta.hot) import.meta.hot.accept('./label.js', (mod) => render(mod.label))
document.documentElement.dataset.loaded = 'true'
`,
      'src/label.js': `import { word } from './word.js'\nexport const label = 'before ' + word\n`,
      'src/word.js': `export const word = 'word'\n`,
    })
    server = await createServer({
      root: app.path,
      configFile: false,
      logLevel: 'silent',
      plugins: [http2Push({ certDir: path.join(os.tmpdir(), 'vite-plugin-http2-push-test-cert') })],
      server: { port: 0 },
    })
  }, LOAD_TIMEOUT)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    app?.remove()
  })

  it(
    'updates the page after an edit, and the next load preloads the new URLs',
    async () => {
      const origin = await listen(server)
      await using context = await browser.newContext({ ignoreHTTPSErrors: true })
      const page = await context.newPage()
      const errors: string[] = []
      let hmrConnected = false
      page.on('pageerror', (error) => errors.push(error.message))
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text())
        if (message.text().includes('[vite] connected')) hmrConnected = true
      })
      await page.goto(`${origin}/`)
      await page.waitForFunction(() => document.querySelector('#app')?.textContent === 'before word')
      await expect.poll(() => hmrConnected, { timeout: 20_000 }).toBe(true)
      fs.writeFileSync(
        app.join('src/label.js'),
        `import { word } from './word.js'\nexport const label = 'after ' + word\n`,
      )
      await page.waitForFunction(() => document.querySelector('#app')?.textContent === 'after word', undefined, {
        timeout: 20_000,
      })
      expect(errors).toEqual([])

      // the next load's preload list points at the current label module
      const html = await (await page.request.get(`${origin}/`)).text()
      const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((match) => match[1]!)
      const labelUrl = preloads.find((url) => url.startsWith('/src/label.js'))
      expect(labelUrl, html).toBeDefined()
      // versioned URLs (the import map's), so an unchanged module costs no request on the next reload
      expect(preloads.find((url) => url.startsWith('/src/word.js'))).toMatch(/^\/src\/word\.js\?__h2v=[\w-]+$/)
      expect(await (await page.request.get(`${origin}${labelUrl!.replace(/&amp;/g, '&')}`)).text()).toContain(
        "'after '",
      )
      await page.reload()
      await page.waitForFunction(() => document.querySelector('#app')?.textContent === 'after word')
      expect(errors).toEqual([])
    },
    2 * LOAD_TIMEOUT,
  )
})
