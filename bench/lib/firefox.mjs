// Debian's Firefox ESR for the reload scenario, driven headless over WebDriver BiDi with
// puppeteer-core, as test/support/firefox.ts does (never a downloaded browser). Each launch runs
// under a throwaway HOME with a new on-disk profile, so the HTTP cache works across reloads.
// Trust: a certificate exception (`acceptInsecureCerts`): unlike Chromium's
// `--ignore-certificate-errors`, Firefox keeps its HTTP cache for an overridden site (issue 20,
// measured in test/e2e/firefox.test.ts: a reload costs the HTML's 304 alone).
// A tab is chromium.mjs's ProfileTab with its page reached over BiDi: the same timing loop, the
// same init script and page summary (Resource Timing, `transferSize` 0 = from cache).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import puppeteer from 'puppeteer-core'
import { PROFILE_INIT_SCRIPT, ProfileTab } from './chromium.mjs'
import { processTreeCpuMs } from './proc.mjs'

/** How the bench makes Firefox accept the dev server's certificate (named in the report). */
export const FIREFOX_TRUST = 'certificate exception (`acceptInsecureCerts`)'

/** The Firefox executable: `$FIREFOX_PATH`, else Debian's `/usr/bin/firefox-esr`. */
export function firefoxPath() {
  return process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
}

export function firefoxAvailable() {
  try {
    fs.accessSync(firefoxPath(), fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** process.env for a Firefox run as a user whose home is `home` (every XDG folder inside it). */
function envForHome(home) {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    MOZ_CRASHREPORTER_DISABLE: '1',
  }
}

export class Firefox {
  /** A new headless Firefox with a new profile under a new temp HOME. `logFile` gets its stderr. */
  static async launch({ logFile }) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-bench-firefox-'))
    const profile = path.join(home, 'profile')
    fs.mkdirSync(profile, { recursive: true })
    let browser
    try {
      browser = await puppeteer.launch({
        browser: 'firefox',
        protocol: 'webDriverBiDi',
        executablePath: firefoxPath(),
        headless: true,
        userDataDir: profile,
        acceptInsecureCerts: true,
        env: envForHome(home),
        dumpio: false,
        extraPrefsFirefox: {
          // no background traffic to other hosts, no first-run pages
          'network.captive-portal-service.enabled': false,
          'network.connectivity-service.enabled': false,
          'browser.safebrowsing.update.enabled': false,
          'app.update.enabled': false,
        },
      })
    } catch (error) {
      fs.rmSync(home, { recursive: true, force: true })
      throw error
    }
    const firefox = new Firefox(browser, home)
    firefox.version = `Firefox ${(await browser.version()).replace(/^firefox\//i, '')}`
    if (logFile) {
      fs.mkdirSync(path.dirname(logFile), { recursive: true })
      const log = fs.createWriteStream(logFile, { flags: 'a' })
      browser.process()?.stderr?.pipe(log)
    }
    return firefox
  }

  constructor(browser, home) {
    this.browser = browser
    this.home = home
    this.pid = browser.process()?.pid
  }

  /** CPU ms used so far by Firefox and all its processes. */
  cpuMs() {
    return this.pid ? processTreeCpuMs(this.pid) : 0
  }

  /** A tab of the on-disk profile, with the bench's init script before any page script. */
  async openProfileTab() {
    const page = await this.browser.newPage()
    await page.evaluateOnNewDocument(PROFILE_INIT_SCRIPT)
    return new FirefoxTab(this, page)
  }

  async close() {
    await Promise.race([this.browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))])
    if (this.browser.process()?.exitCode === null) this.browser.process().kill('SIGKILL')
    fs.rmSync(this.home, { recursive: true, force: true })
  }
}

/** chromium.mjs's ProfileTab over BiDi: navigations and F5 are sent without waiting for `load`; `timed` polls. */
class FirefoxTab extends ProfileTab {
  constructor(firefox, page) {
    super(firefox, undefined)
    this.page = page
  }

  evaluate(expression) {
    return this.page.evaluate(expression)
  }

  navigate(url, options) {
    return this.timed(() => {
      // the page's own marker ends the wait (timed), not the load event
      this.page.goto(url, { timeout: 0 }).catch(() => {})
    }, options)
  }

  f5() {
    this.page.reload({ timeout: 0 }).catch(() => {})
  }
}
