// Chromium driven over raw CDP (no Playwright in the timed path: Playwright's own network
// bookkeeping adds 0.4–1.5 s to a 1,000-request load). The DevTools protocol runs over
// --remote-debugging-pipe (fds 3 and 4), which also works when Chromium runs in another network
// namespace. Flags: test/support/chromium.ts's CHROMIUM_ARGS plus the switches Playwright's
// launcher adds, so the browser is the one the browser tests use.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { processTreeCpuMs } from './proc.mjs'

/** Switches playwright-core passes to a headless Chromium (besides the test's own CHROMIUM_ARGS). */
const PLAYWRIGHT_SWITCHES = [
  '--disable-field-trial-config',
  '--disable-background-networking',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-back-forward-cache',
  '--disable-breakpad',
  '--disable-component-extensions-with-background-pages',
  '--disable-component-update',
  '--no-default-browser-check',
  '--disable-default-apps',
  '--disable-dev-shm-usage',
  '--disable-extensions',
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch',
  '--allow-pre-commit-input',
  '--disable-hang-monitor',
  '--disable-ipc-flooding-protection',
  '--disable-popup-blocking',
  '--disable-prompt-on-repost',
  '--disable-renderer-backgrounding',
  '--force-color-profile=srgb',
  '--metrics-recording-only',
  '--no-first-run',
  '--password-store=basic',
  '--use-mock-keychain',
  '--no-service-autorun',
  '--disable-search-engine-choice-screen',
  '--headless',
  '--hide-scrollbars',
  '--mute-audio',
]

/**
 * Installed before any page script: Resource Timing keeps every entry (default is 250), and the
 * tab remembers when its first navigation started and how many documents it loaded, so a page
 * that reloads itself (Vite's full-reload) is timed from the first navigation and flagged.
 */
const INIT_SCRIPT = `try { performance.setResourceTimingBufferSize(100000) } catch {}
try {
  if (!sessionStorage.getItem('__benchT0')) sessionStorage.setItem('__benchT0', String(performance.timeOrigin))
  sessionStorage.setItem('__benchDocuments', String(Number(sessionStorage.getItem('__benchDocuments') || 0) + 1))
} catch {}`

/** What the page reports once loaded (evaluated after the marker is set). */
const SUMMARY_EXPRESSION = `(() => {
  const resources = performance.getEntriesByType('resource')
  const nav = performance.getEntriesByType('navigation')[0]
  const protocols = {}
  for (const entry of resources) protocols[entry.nextHopProtocol || '?'] = (protocols[entry.nextHopProtocol || '?'] || 0) + 1
  let t0 = performance.timeOrigin
  let documents = 1
  try {
    t0 = Number(sessionStorage.getItem('__benchT0') || t0)
    documents = Number(sessionStorage.getItem('__benchDocuments') || 1)
  } catch {}
  return {
    loadedAt: globalThis.__appLoadedAt,
    sinceFirstNavigation: performance.timeOrigin + globalThis.__appLoadedAt - t0,
    documents,
    flag: document.documentElement.dataset.loaded,
    modulesEvaluated: globalThis.__modulesEvaluated,
    resources: resources.length,
    scripts: resources.filter((e) => e.initiatorType === 'script' || e.initiatorType === 'link' || e.initiatorType === 'other').length,
    protocols,
    documentProtocol: nav && nav.nextHopProtocol,
    htmlResponseEnd: nav && nav.responseEnd,
  }
})()`

export class Browser {
  /**
   * `spkiHash`: trust the server certificate by its key (`--ignore-certificate-errors-spki-list`)
   * instead of `--ignore-certificate-errors`, which turns Chromium's HTTP cache off for the origin.
   */
  static async launch({ chromiumPath, chromiumArgs, netns, logFile, spkiHash }) {
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-bench-chromium-'))
    let args = [...new Set([...chromiumArgs, ...PLAYWRIGHT_SWITCHES])]
    if (spkiHash)
      args = [
        ...args.filter((arg) => arg !== '--ignore-certificate-errors'),
        `--ignore-certificate-errors-spki-list=${spkiHash}`,
      ]
    args.push(`--user-data-dir=${userDataDir}`, '--remote-debugging-pipe', '--no-startup-window')
    const [command, argv] = netns ? ['ip', ['netns', 'exec', netns, chromiumPath, ...args]] : [chromiumPath, args]
    fs.mkdirSync(path.dirname(logFile), { recursive: true })
    const log = fs.openSync(logFile, 'a')
    const child = spawn(command, argv, { stdio: ['ignore', log, log, 'pipe', 'pipe'] })
    const browser = new Browser(child, userDataDir)
    await Promise.race([
      browser.send('Browser.getVersion'),
      new Promise((_, reject) =>
        child.once('exit', (code) => reject(new Error(`Chromium exited (${code}) at start; see ${logFile}`))),
      ),
    ]).then((version) => {
      browser.version = version.product
    })
    return browser
  }

  constructor(child, userDataDir) {
    this.child = child
    this.pid = child.pid
    this.userDataDir = userDataDir
    this.nextId = 1
    this.pending = new Map()
    this.exited = new Promise((resolve) => child.once('exit', resolve))
    child.once('exit', () => {
      for (const { reject } of this.pending.values()) reject(new Error('Chromium exited'))
      this.pending.clear()
    })
    this.writer = child.stdio[3]
    this.writer.on('error', () => {})
    let buffer = ''
    child.stdio[4].on('data', (chunk) => {
      buffer += chunk.toString('utf8')
      let end
      while ((end = buffer.indexOf('\0')) >= 0) {
        const text = buffer.slice(0, end)
        buffer = buffer.slice(end + 1)
        this.onMessage(JSON.parse(text))
      }
    })
  }

  onMessage(message) {
    if (message.id && this.pending.has(message.id)) {
      const { resolve, reject, method } = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (message.error) reject(new Error(`${method}: ${message.error.message}`))
      else resolve(message.result)
    }
  }

  send(method, params = {}, sessionId) {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method })
      this.writer.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`)
    })
  }

  /** CPU ms used so far by the browser and all its processes. */
  cpuMs() {
    return processTreeCpuMs(this.pid)
  }

  /**
   * One timed load in a fresh browser context: navigates to `url` and polls (Runtime.evaluate)
   * until the page sets `globalThis.__appLoadedAt`, which is `performance.now()` in the page,
   * i.e. milliseconds since navigation start. Returns that, with the browser's CPU for the load
   * (and, with `urls`, the same-origin resources the page requested).
   */
  async load(url, { timeoutMs = 120_000, pollMs = 25, urls = false } = {}) {
    const { browserContextId } = await this.send('Target.createBrowserContext', { disposeOnDetach: true })
    try {
      const { targetId } = await this.send('Target.createTarget', { url: 'about:blank', browserContextId })
      const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true })
      await this.send('Page.enable', {}, sessionId)
      await this.send('Page.addScriptToEvaluateOnNewDocument', { source: INIT_SCRIPT }, sessionId)
      const cpuBefore = this.cpuMs()
      const started = Date.now()
      const navigation = await this.send('Page.navigate', { url }, sessionId)
      if (navigation.errorText) return { ok: false, error: `navigation failed: ${navigation.errorText}` }
      let loadedAt
      while (Date.now() - started < timeoutMs) {
        try {
          const { result } = await this.send(
            'Runtime.evaluate',
            {
              expression: 'typeof globalThis.__appLoadedAt === "number" ? globalThis.__appLoadedAt : null',
              returnByValue: true,
            },
            sessionId,
          )
          if (typeof result?.value === 'number') {
            loadedAt = result.value
            break
          }
        } catch {
          // the context is being replaced by the navigation: poll again
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs))
      }
      const browserCpuMs = this.cpuMs() - cpuBefore
      if (loadedAt === undefined) return { ok: false, error: `no __appLoadedAt after ${timeoutMs} ms`, browserCpuMs }
      const { result } = await this.send(
        'Runtime.evaluate',
        { expression: SUMMARY_EXPRESSION, returnByValue: true },
        sessionId,
      )
      const summary = result.value
      if (urls) {
        // the page's own resources (path + query), in the order it requested them
        const { result: names } = await this.send(
          'Runtime.evaluate',
          {
            expression:
              "performance.getEntriesByType('resource').map((e) => new URL(e.name)).filter((u) => u.origin === location.origin).map((u) => u.pathname + u.search)",
            returnByValue: true,
          },
          sessionId,
        )
        summary.urls = names.value
      }
      // normally equal to loadedAt; larger when the page reloaded itself before it finished
      const ms = summary.documents > 1 ? summary.sinceFirstNavigation : loadedAt
      return {
        ok: summary.flag === 'true',
        error: summary.flag === 'true' ? undefined : 'data-loaded is not "true"',
        ms,
        reloads: summary.documents - 1,
        browserCpuMs,
        ...summary,
      }
    } finally {
      await this.send('Target.disposeBrowserContext', { browserContextId }).catch(() => {})
    }
  }

  /**
   * A tab in the browser's default context: the on-disk profile (HTTP cache, V8 code cache), not
   * a fresh incognito-like context. For reloads.
   */
  async openProfileTab() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true })
    await this.send('Page.enable', {}, sessionId)
    await this.send('Page.addScriptToEvaluateOnNewDocument', { source: PROFILE_INIT_SCRIPT }, sessionId)
    return new ProfileTab(this, sessionId)
  }

  async close() {
    await Promise.race([
      this.send('Browser.close').catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 3000)),
    ])
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000)
    await this.exited
    clearTimeout(timer)
    fs.rmSync(this.userDataDir, { recursive: true, force: true })
  }
}

/** Per document: Resource Timing keeps every entry, and the tab counts its documents (a reload, or Vite's full-reload, makes a new one). */
export const PROFILE_INIT_SCRIPT = `try { performance.setResourceTimingBufferSize(100000) } catch {}
try {
  sessionStorage.setItem('__benchDocuments', String(Number(sessionStorage.getItem('__benchDocuments') || 0) + 1))
  sessionStorage.setItem('__benchOrigins', JSON.stringify([...JSON.parse(sessionStorage.getItem('__benchOrigins') || '[]'), performance.timeOrigin]))
} catch {}`

/** What a profile tab's page reports once loaded. */
const PROFILE_SUMMARY = `(() => {
  const resources = performance.getEntriesByType('resource')
  const nav = performance.getEntriesByType('navigation')[0]
  const map = document.querySelector('script[type="importmap"]')
  return {
    loadedAt: globalThis.__appLoadedAt,
    flag: document.documentElement.dataset.loaded,
    edit: globalThis.__benchEdit,
    resources: resources.length,
    fromCache: resources.filter((e) => e.transferSize === 0).length,
    transferBytes: resources.reduce((sum, e) => sum + (e.transferSize || 0), 0) + ((nav && nav.transferSize) || 0),
    htmlBytes: nav && nav.decodedBodySize,
    importMapBytes: map ? new TextEncoder().encode(map.textContent).length : 0,
    documentProtocol: nav && nav.nextHopProtocol,
    navigationType: nav && nav.type,
  }
})()`

const DOCUMENT_STATE = `({ timeOrigin: performance.timeOrigin, origins: (() => { try { return JSON.parse(sessionStorage.getItem('__benchOrigins') || '[]') } catch { return [] } })(), documents: (() => { try { return Number(sessionStorage.getItem('__benchDocuments') || 0) } catch { return 0 } })(), loadedAt: typeof globalThis.__appLoadedAt === 'number' ? globalThis.__appLoadedAt : null, edit: globalThis.__benchEdit ?? null })`

/** A tab of a profile: timed loads (navigation start → `__appLoadedAt`) and what the page reports. Firefox's tab (firefox.mjs) extends it. */
export class ProfileTab {
  constructor(browser, sessionId) {
    this.browser = browser
    this.sessionId = sessionId
  }

  /** Evaluates `expression` in the page, returns its value. */
  async evaluate(expression) {
    const { result } = await this.browser.send('Runtime.evaluate', { expression, returnByValue: true }, this.sessionId)
    return result?.value
  }

  async state() {
    try {
      return (await this.evaluate(DOCUMENT_STATE)) ?? { documents: 0, loadedAt: null }
    } catch {
      // the context is being replaced by a navigation
      return { documents: 0, loadedAt: null }
    }
  }

  /**
   * Runs `action` (a navigation, a reload, a file edit) and waits until a newer document than the
   * current one has set `__appLoadedAt`. When `fallback` is given and no new document has started
   * after `fallbackAfterMs`, runs it once (e.g. an F5 when the server did not reload the page).
   * Returns the load time (the page's `performance.now()` at `__appLoadedAt`, i.e. since its
   * navigation start), the browser's CPU and what the page reports.
   */
  async timed(action, { timeoutMs = 120_000, pollMs = 20, fallback, fallbackAfterMs = 3000, until } = {}) {
    const before = await this.state()
    const cpuBefore = this.browser.cpuMs()
    const started = Date.now()
    await action()
    let loadedAt
    let loadedAtEpochMs
    let fellBack = false
    let firstDocumentMs
    while (Date.now() - started < timeoutMs) {
      const now = await this.state()
      if (now.documents > before.documents && typeof now.loadedAt === 'number' && (!until || until(now))) {
        loadedAt = now.loadedAt
        loadedAtEpochMs = now.timeOrigin + now.loadedAt
        // the page reloaded itself (e.g. bundledDev's first bundle): time from the first new document
        const first = now.origins[before.documents]
        if (now.documents > before.documents + 1 && typeof first === 'number')
          firstDocumentMs = now.timeOrigin + now.loadedAt - first
        break
      }
      if (fallback && !fellBack && now.documents === before.documents && Date.now() - started > fallbackAfterMs) {
        fellBack = true
        await fallback()
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
    const wallMs = Date.now() - started
    const browserCpuMs = this.browser.cpuMs() - cpuBefore
    if (loadedAt === undefined)
      return {
        ok: false,
        error: `no new document with __appLoadedAt after ${timeoutMs} ms`,
        browserCpuMs,
        wallMs,
        fellBack,
      }
    const summary = await this.evaluate(PROFILE_SUMMARY)
    const after = await this.state()
    return {
      ok: summary.flag === 'true',
      error: summary.flag === 'true' ? undefined : 'data-loaded is not "true"',
      ms: firstDocumentMs ?? loadedAt,
      lastDocumentMs: loadedAt,
      // wall-clock time (ms since the epoch) the page set __appLoadedAt: "restart → page loaded"
      loadedAtEpochMs,
      wallMs,
      documents: after.documents - before.documents,
      fellBack,
      browserCpuMs,
      ...summary,
    }
  }

  navigate(url, options) {
    return this.timed(async () => {
      const navigation = await this.browser.send('Page.navigate', { url }, this.sessionId)
      if (navigation.errorText) throw new Error(`navigation failed: ${navigation.errorText}`)
    }, options)
  }

  /** F5: CDP Page.reload (a normal reload: the page is revalidated, fresh subresources come from cache). */
  reload(options) {
    return this.timed(() => this.f5(), options)
  }

  /** F5 without waiting for the page (a fallback inside `timed`). */
  f5() {
    return this.browser.send('Page.reload', {}, this.sessionId)
  }
}
