import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, chromiumPath, launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { launchFirefox, requireFirefoxOrSkip } from '../support/firefox.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// The cache-off warning ("its HTTP cache is off") rests on one client's own evidence: an immutable
// versioned URL asked for again on the connection it was served on. A second profile, a private
// window or a container of the same browser (same User-Agent, its own cache and connections)
// making its first load is not evidence.

const WARNING = /its HTTP cache is off/

function smallApp(): TempDir {
  return tempDir('cache-off-clients', {
    'index.html':
      '<!doctype html><html><head><script type="module" src="/src/main.js"></script></head><body></body></html>\n',
    'src/main.js': "import { label } from './label.js'\ndocument.documentElement.dataset.loaded = label\n",
    'src/label.js': "export const label = 'true'\n",
  })
}

async function loadIn(context: BrowserContext, origin: string): Promise<void> {
  const page = await context.newPage()
  await page.goto(`${origin}/`)
  await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
}

function warnings(t: TestServer): string[] {
  return t.logs.filter((line) => WARNING.test(line))
}

describe.skipIf(!requireBrowserOrSkip())('cache-off warning in Chromium', () => {
  let app: TempDir
  let browser: Browser
  beforeAll(async () => {
    app = smallApp()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    app?.remove()
  })

  it('stays quiet when a second private window (incognito context) loads the page', async () => {
    await using t = await startTestServer(app.path)
    for (let i = 0; i < 2; i++) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true })
      await loadIn(context, t.origin)
      await context.close()
    }
    expect(t.plugin.api!.immutableResponsesServed).toBeGreaterThan(0)
    expect(warnings(t)).toEqual([])
  })

  it('stays quiet when a second fresh profile of the same browser loads the page', async () => {
    await using t = await startTestServer(app.path)
    for (const name of ['first', 'second']) {
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), `h2push-profile-${name}-`))
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: chromiumPath(),
        headless: true,
        args: CHROMIUM_ARGS,
      })
      try {
        await loadIn(context, t.origin)
      } finally {
        await context.close()
        fs.rmSync(profile, { recursive: true, force: true })
      }
    }
    expect(warnings(t)).toEqual([])
  })

  it('warns once when one client asks again on its connection (a certificate error ignored: no HTTP cache)', async () => {
    await using t = await startTestServer(app.path)
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    try {
      await loadIn(context, t.origin)
      await loadIn(context, t.origin)
      await loadIn(context, t.origin)
    } finally {
      await context.close()
    }
    expect(warnings(t)).toHaveLength(1)
  })
})

describe.skipIf(!requireFirefoxOrSkip())('cache-off warning in Firefox', () => {
  let app: TempDir
  beforeAll(() => {
    app = smallApp()
  })
  afterAll(() => app?.remove())

  async function loadInFirefox(page: import('puppeteer-core').Page, origin: string): Promise<void> {
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
  }

  it('stays quiet when a second profile, and a container (user context) of it, load the page', async () => {
    await using t = await startTestServer(app.path)
    for (let i = 0; i < 2; i++) {
      const firefox = await launchFirefox()
      try {
        await loadInFirefox((await firefox.openPage()).page, t.origin)
        const container = await firefox.browser.createBrowserContext()
        await loadInFirefox(await container.newPage(), t.origin)
        await container.close()
      } finally {
        await firefox.close()
      }
    }
    expect(warnings(t)).toEqual([])
  })
})
