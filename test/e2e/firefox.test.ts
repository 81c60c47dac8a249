import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Http2PushOptions } from 'vite-plugin-http2-push'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFirefoxProfiles } from '../../src/trust/firefox-profiles.js'
import { envForHome, firefoxPath, launchFirefox, requireFirefoxOrSkip } from '../support/firefox.js'
import type { FirefoxSession, RecordingPage } from '../support/firefox.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { requireCertutilOrSkip, run } from '../support/trust-tools.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Debian's Firefox ESR, headless over WebDriver BiDi (puppeteer-core), against a copy of the
// playground app (~650 modules with lodash-es unbundled): once with a certificate exception
// (acceptInsecureCerts), once trusting the plugin's CA in the profile's own NSS database. Counts
// come from BiDi's network events: a response `fromCache` cost no request to the server.

const PLAYGROUND = fileURLToPath(new URL('../../playground', import.meta.url))
const REPO_NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url))
const LOAD_TIMEOUT = 120_000
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

interface PlaygroundCopy {
  app: TempDir
  t: TestServer
}

/** A copy of the playground (the tests edit it), served as playground/vite.config.ts serves it. */
async function startPlaygroundCopy(options: Http2PushOptions = {}): Promise<PlaygroundCopy> {
  const app = tempDir('firefox-playground')
  fs.cpSync(PLAYGROUND, app.path, { recursive: true, filter: (file) => path.basename(file) !== 'node_modules' })
  fs.mkdirSync(app.join('node_modules'))
  for (const name of ['lodash-es', 'ms']) {
    fs.symlinkSync(path.join(REPO_NODE_MODULES, name), app.join('node_modules', name))
  }
  const t = await startTestServer(app.path, options, {
    optimizeDeps: { exclude: ['lodash-es'] },
    server: { fs: { allow: [app.path, REPO_NODE_MODULES] } },
  })
  return { app, t }
}

/** What a load cost the server: the requests not answered from Firefox's cache, less Vite's HMR WebSocket. */
function cost(page: RecordingPage): string[] {
  return page.network().filter((line) => !line.startsWith('101 '))
}

/** The page's rows, as text. */
function appText(page: RecordingPage): Promise<string> {
  return page.page.evaluate(() => document.querySelector('#app')!.textContent ?? '')
}

/** Firefox's first start as a user makes it: no -profile, so it creates its default profile; loads a page and quits. */
function firstStart(home: TempDir): void {
  const started = spawnSync(firefoxPath(), ['--headless', '--screenshot', home.join('shot.png'), 'about:blank'], {
    env: envForHome(home.path),
    encoding: 'utf8',
    timeout: 90_000,
  })
  expect(started.status, `${started.stdout}${started.stderr}`).toBe(0)
}

/** Loads the page cold, reloads until the HTML settles, edits a module; returns what each cost. */
async function measure(copy: PlaygroundCopy, page: RecordingPage, label: string) {
  const cold = await page.load(() => page.page.goto(`${copy.t.origin}/`), 'true', LOAD_TIMEOUT)
  const coldCost = cost(page)
  expect(page.errors, 'console errors and page errors').toEqual([])
  expect(cold.filter((r) => r.failure !== undefined)).toEqual([])
  expect(await appText(page)).toContain('greeting: Hello, main page!')
  expect(await appText(page)).toContain('lodash sum: 21')
  expect(cold.filter((r) => r.url.includes('/lodash-es/')).length).toBeGreaterThan(600)

  // the first reload may get a new page (what the first load taught the plugin); the next one is a reload
  await page.load(() => page.page.reload(), 'true', LOAD_TIMEOUT)
  const reload = await page.load(() => page.page.reload(), 'true', LOAD_TIMEOUT)
  const reloadCost = cost(page)

  page.reset()
  const greet = copy.app.join('src/shared/greet.ts')
  fs.writeFileSync(greet, fs.readFileSync(greet, 'utf8').replace("capitalize('hello')", "capitalize('howdy')"))
  // nothing accepts the update, so Vite has the page reload itself
  await page.page.waitForFunction(
    () => document.querySelector('#app')?.textContent?.includes('Howdy, main page!') === true,
    { timeout: LOAD_TIMEOUT },
  )
  await page.page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
  const editCost = cost(page)
  console.info(
    `[firefox] ${label}: cold ${coldCost.length} requests; reload ${reloadCost.length} (${reloadCost.join(', ')}), ` +
      `${reload.filter((r) => r.fromCache).length}/${reload.length} from cache; ` +
      `edit ${editCost.length} (${editCost.join(', ')})`,
  )
  return { coldCost, reload, reloadCost, editCost }
}

/**
 * After an edit of greet.ts: the page (its import map changed), the edited module and its
 * importers, whose served code now imports it with Vite's `?t=`; nothing of lodash-es.
 */
function expectOnlyChangedModules(editCost: string[]): void {
  expect(editCost[0]).toBe('200 /')
  expect(editCost.some((line) => /^200 \/src\/shared\/greet\.ts\?t=\d+/.test(line))).toBe(true)
  const changed = /^200 \/(src\/shared\/greet\.ts\?t=|src\/main\.ts\?t=|index\.html\?html-proxy&index=0\.js)/
  expect(editCost.slice(1).filter((line) => !changed.test(line))).toEqual([])
  expect(editCost.length).toBeLessThanOrEqual(4)
}

describe.skipIf(!requireFirefoxOrSkip())('the playground in Firefox (WebDriver BiDi)', () => {
  describe('with a certificate exception (acceptInsecureCerts)', () => {
    let copy: PlaygroundCopy
    let firefox: FirefoxSession
    let page: RecordingPage

    beforeAll(async () => {
      copy = await startPlaygroundCopy()
      firefox = await launchFirefox({ acceptInsecureCerts: true })
      page = await firefox.openPage()
    }, LOAD_TIMEOUT)
    afterAll(async () => {
      await firefox?.close()
      await copy?.t.close()
      copy?.app.remove()
    })

    it(
      'renders with no console errors; a reload costs the HTML alone (every module from cache); an edit costs only what changed',
      async () => {
        const { coldCost, reload, reloadCost, editCost } = await measure(copy, page, 'certificate exception')
        expect(coldCost.length).toBeGreaterThan(600)
        // Firefox keeps its HTTP cache for a site whose certificate error was overridden
        expect(reloadCost).toEqual(['304 /'])
        expect(reload.filter((r) => r.fromCache).length).toBeGreaterThan(600)
        expectOnlyChangedModules(editCost)
        expect(page.errors).toEqual([])
      },
      4 * LOAD_TIMEOUT,
    )

    it('CSS HMR updates a style in place and the page keeps its state', async () => {
      const loadedAt = await page.page.evaluate(() => (window as { __appLoadedAt?: number }).__appLoadedAt)
      expect(loadedAt).toBeTypeOf('number')
      const color = () => page.page.evaluate(() => getComputedStyle(document.querySelector('#app .ok')!).color)
      expect(await color()).toBe('rgb(10, 125, 40)')
      fs.writeFileSync(
        copy.app.join('src/style.css'),
        fs.readFileSync(copy.app.join('src/style.css'), 'utf8').replace('#0a7d28', 'rgb(1, 2, 3)'),
      )
      await expect.poll(color, { timeout: 20_000 }).toBe('rgb(1, 2, 3)')
      // the same page (no reload): what the entry module set is still there
      expect(await page.page.evaluate(() => (window as { __appLoadedAt?: number }).__appLoadedAt)).toBe(loadedAt)
      expect(page.errors).toEqual([])
    })
  })

  describe.skipIf(!requireCertutilOrSkip())(
    'after `trust --yes` under a new HOME whose Firefox made its default profile',
    () => {
      let copy: PlaygroundCopy
      let firefox: FirefoxSession
      let page: RecordingPage
      let home: TempDir
      let trustOutput: string

      beforeAll(async () => {
        copy = await startPlaygroundCopy()
        home = tempDir('firefox-trust-home')
        // the user's first Firefox start creates its default profile (under ~/.config/mozilla/firefox)
        firstStart(home)
        // then the user runs the plugin's command, as the README says; the CA is the dev server's
        // (the test cache folder), HOME and the XDG folders are the user's
        const env = { ...envForHome(home.path), XDG_CACHE_HOME: process.env.XDG_CACHE_HOME }
        trustOutput = run(process.execPath, [CLI, 'trust', '--yes'], env)
        const context = { home: home.path, env, platform: process.platform }
        const profile = findFirefoxProfiles(context).profiles.find((p) => /\.default-(esr|release)$/.test(p.dir))
        firefox = await launchFirefox({ acceptInsecureCerts: false, profile: profile!.dir })
        page = await firefox.openPage()
      }, LOAD_TIMEOUT)
      afterAll(async () => {
        await firefox?.close()
        await copy?.t.close()
        copy?.app.remove()
        home?.remove()
      })

      it(
        'loads with no certificate exception; a reload costs the HTML alone; an edit costs only what changed',
        async () => {
          expect(trustOutput).toMatch(/added .* to Firefox profile ~\/\.config\/mozilla\/firefox\/\S+\.default-esr/)
          const { coldCost, reloadCost, editCost } = await measure(copy, page, 'trusted CA (trust --yes)')
          expect(coldCost.length).toBeGreaterThan(600)
          expect(reloadCost).toEqual(['304 /'])
          expectOnlyChangedModules(editCost)
        },
        4 * LOAD_TIMEOUT,
      )
    },
  )

  it('finds the default profile Firefox creates on its first start under a new HOME', () => {
    using home = tempDir('firefox-first-start')
    const env = envForHome(home.path)
    const context = { home: home.path, env: { ...env, PATH: path.dirname(firefoxPath()) }, platform: process.platform }
    expect(findFirefoxProfiles(context)).toEqual({ profiles: [], installed: true, installedWithoutProfile: true })
    firstStart(home)
    const found = findFirefoxProfiles(context)
    console.info(`[firefox] first start created: ${found.profiles.map((p) => p.label).join(', ')}`)
    expect(found.installedWithoutProfile).toBe(false)
    // under XDG_CONFIG_HOME, where trust-store.ts did not look; Firefox ESR uses `<id>.default-esr`
    const profiles = path.join(home.path, '.config', 'mozilla', 'firefox')
    expect(found.profiles.every((p) => path.dirname(p.dir) === profiles)).toBe(true)
    const esr = found.profiles.find((p) => /\.default-(esr|release)$/.test(p.dir))
    expect(esr?.hasNssDb).toBe(true)
    expect(fs.existsSync(path.join(esr!.dir, 'cert9.db'))).toBe(true)
  }, 120_000)
})
