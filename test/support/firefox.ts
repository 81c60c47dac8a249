import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import puppeteer, { type Browser, type HTTPRequest, type HTTPResponse, type Page } from 'puppeteer-core'
import { isCi, requireOrSkip } from './chromium.js'

/**
 * Debian's Firefox ESR, driven headless over WebDriver BiDi through puppeteer-core (never a
 * downloaded browser: playwright-core drives only its own patched Firefox build). Each launch runs
 * under a throwaway HOME with a throwaway profile, so nothing of the user's is read or written.
 *
 * Policy when it is missing is that of test/support/chromium.ts: skipped locally, a failure when
 * `CI` is set.
 */

/** The Firefox executable: `$FIREFOX_PATH`, else Debian's `/usr/bin/firefox-esr`. */
export function firefoxPath(): string {
  return process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
}

/** Whether the Firefox executable exists and is executable. */
function firefoxAvailable(): boolean {
  try {
    fs.accessSync(firefoxPath(), fs.constants.X_OK)
    return fs.statSync(firefoxPath()).isFile()
  } catch {
    return false
  }
}

/**
 * Returns true when Firefox is available. When it is not: returns false (so the caller skips,
 * `describe.skipIf(!requireFirefoxOrSkip())`) unless `CI` is set, in which case it throws.
 */
export function requireFirefoxOrSkip(): boolean {
  return requireOrSkip({
    available: firefoxAvailable(),
    what: `firefox-esr (looked for ${firefoxPath()}; set FIREFOX_PATH to use another executable)`,
    install: 'apt-get install -y firefox-esr',
    tests: 'Firefox tests',
  })
}

/** process.env for a Firefox (or certutil) run as a user whose home is `home`: every XDG folder inside it. */
export function envForHome(home: string): NodeJS.ProcessEnv {
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

/** One request the page made, as WebDriver BiDi reported it. */
interface FirefoxRequest {
  url: string
  /** A navigation (the document itself). */
  navigation: boolean
  /** HTTP status, once answered (0 while pending or when it failed). */
  status: number
  /** Answered from Firefox's HTTP cache, with no request to the server. */
  fromCache: boolean
  /** Set when it failed at the network level. */
  failure?: string
}

/** A page whose requests and errors are recorded from the moment it opened. */
export interface RecordingPage {
  page: Page
  /** Every request since the last {@link RecordingPage.reset}, in order. */
  requests: FirefoxRequest[]
  /** Console errors and uncaught page errors, since the page opened. */
  errors: string[]
  /** The requests that reached the server (not answered from the cache, not failed), as `<status> <path>`. */
  network(): string[]
  /** The requests answered from the cache. */
  fromCache(): FirefoxRequest[]
  /** Forgets the recorded requests (not the errors). */
  reset(): void
  /** Runs `action` (a navigation, a reload), waits until `<html data-loaded>` is `loaded`, returns the requests it made. */
  load(action: () => Promise<unknown>, loaded?: string, timeout?: number): Promise<FirefoxRequest[]>
}

export interface FirefoxOptions {
  /** Accept any certificate, as a user's certificate exception does (default true). */
  acceptInsecureCerts?: boolean
  /** The profile folder (default: a new temp folder, removed on close). */
  profile?: string
}

/** A running headless Firefox under a throwaway HOME. */
export interface FirefoxSession {
  browser: Browser
  /** The throwaway HOME Firefox runs under. */
  home: string
  /** The profile folder (Firefox's `-profile`). */
  profile: string
  /** Opens a new tab that records its requests and errors. */
  openPage(): Promise<RecordingPage>
  /** Closes Firefox and removes the throwaway HOME and a profile it created. */
  close(): Promise<void>
}

/**
 * Launches Firefox headless over WebDriver BiDi under a new temp HOME. Under `CI` a missing
 * Firefox throws (as {@link requireFirefoxOrSkip} does); locally the caller should have skipped.
 */
export async function launchFirefox(options: FirefoxOptions = {}): Promise<FirefoxSession> {
  if (!firefoxAvailable() && isCi()) requireFirefoxOrSkip()
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-firefox-home-'))
  const ownProfile = options.profile === undefined
  const profile = options.profile ?? path.join(home, 'profile')
  fs.mkdirSync(profile, { recursive: true })
  let browser: Browser
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: firefoxPath(),
      headless: true,
      userDataDir: profile,
      acceptInsecureCerts: options.acceptInsecureCerts ?? true,
      env: envForHome(home),
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
  return {
    browser,
    home,
    profile,
    openPage: () => recordingPage(browser),
    async close() {
      await browser.close()
      fs.rmSync(home, { recursive: true, force: true })
      if (!ownProfile) return
      fs.rmSync(profile, { recursive: true, force: true })
    },
  }
}

async function recordingPage(browser: Browser): Promise<RecordingPage> {
  const page = await browser.newPage()
  const requests: FirefoxRequest[] = []
  const errors: string[] = []
  const entries = new Map<HTTPRequest, FirefoxRequest>()
  page.on('request', (request) => {
    const entry: FirefoxRequest = {
      url: request.url(),
      navigation: request.isNavigationRequest(),
      status: 0,
      fromCache: false,
    }
    entries.set(request, entry)
    requests.push(entry)
  })
  const answered = (response: HTTPResponse) => {
    const entry = entries.get(response.request())
    if (!entry) return
    entry.status = response.status()
    entry.fromCache = response.fromCache()
  }
  page.on('response', answered)
  page.on('requestfailed', (request) => {
    const entry = entries.get(request)
    if (entry) entry.failure = request.failure()?.errorText ?? 'failed'
  })
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`))
  const recording: RecordingPage = {
    page,
    requests,
    errors,
    network: () =>
      requests
        .filter((r) => !r.fromCache && r.failure === undefined && /^https?:/.test(r.url))
        .map((r) => `${r.status} ${new URL(r.url).pathname}${new URL(r.url).search}`),
    fromCache: () => requests.filter((r) => r.fromCache),
    reset: () => {
      requests.length = 0
      entries.clear()
    },
    async load(action, loaded = 'true', timeout = 120_000) {
      recording.reset()
      await action()
      await page.waitForFunction((value) => document.documentElement.dataset.loaded === value, { timeout }, loaded)
      return [...requests]
    },
  }
  return recording
}
