import { stripQuery } from '../graph/resolve-url.js'
import { resourceKey } from '../graph/served-resource.js'
import type { ResourceRequest } from '../graph/resource-request.js'
import { hmrTimestampOf } from './hmr-timestamp.js'
import { LearnedPage } from './learned-page.js'

/**
 * What each page really loaded, learned from the browser's own requests: the modules a page
 * reaches through `import()` with any specifier, framework runtimes started from inline scripts,
 * routes a client router loads. On the next load of that page they join its entries, so they are
 * pushed, linked and hinted like the rest of its closure.
 *
 * A page load opens a window on its connection (HTTP/2 session, or socket for HTTP/1.1). A script
 * or style request on that connection (`Sec-Fetch-Dest`) whose `Referer` is the page, or a URL
 * already recorded in that window (a module's imports carry the module as their referrer), is
 * recorded while the window is open: while the HTML is being sent, then until the requests go
 * quiet for {@link LearningLimits.quietMs}, at most {@link LearningLimits.maxWindowMs} after the HTML ended.
 *
 * Like Jetty's PushCacheFilter (which associated `Referer`-ed requests within `associatePeriod`,
 * 4 s from the page's first request, at most `maxAssociations`, 16, per page, and kept pages until
 * an explicit renew), but sized for a dev server's module graphs and self-expiring:
 * - a URL not requested in the last {@link LearningLimits.forgetAfterLoads} loads that recorded
 *   anything drops out, and so does one that answers 404 (or anything but 200/304);
 * - at most {@link LearningLimits.maxUrlsPerPage} URLs per page, and URLs that add at most
 *   {@link LearningLimits.maxHtmlBytesPerPage} bytes to its HTML (later ones are not recorded);
 *   one form of each file per way it is fetched (and its newer `?t=` form): the first a load
 *   requested, until it drops out (see {@link LearnedPage}); {@link LearningLimits.maxPages} pages and {@link LearningLimits.maxUrls} URLs in all (the
 *   least recently loaded pages go first).
 * A URL with Vite's HMR timestamp (`?t=`) is learned only once a second load requested it: some
 * runtimes stamp a module anew on every load (VitePress imports its page as `.md?t=<Date.now()>`
 * in dev), and a form no later load requests would only be fetched for nothing.
 * Nothing is kept across restarts: the first load after one learns again.
 */
export interface LearningLimits {
  quietMs: number
  maxWindowMs: number
  forgetAfterLoads: number
  maxUrlsPerPage: number
  /** What a page's learned URLs may add to its HTML in all (import map and links), in bytes; see `htmlBytesOf`. */
  maxHtmlBytesPerPage: number
  maxPages: number
  maxUrls: number
}

export const DEFAULT_LEARNING_LIMITS: LearningLimits = {
  quietMs: 1500,
  maxWindowMs: 15_000,
  forgetAfterLoads: 3,
  maxUrlsPerPage: 3000,
  maxHtmlBytesPerPage: 256 * 1024,
  maxPages: 100,
  maxUrls: 30_000,
}

/** A window whose HTML never ended closes after this long. */
const MAX_HTML_MS = 60_000

/** One page load being learned from, on one connection. */
export interface LearningWindow {
  readonly pageUrl: string
  /** When the HTML request came, then when its response ended. */
  started: number
  lastActivity: number
  /** True until the HTML response has ended (a slow render, a streamed page): the window stays open. */
  htmlPending: boolean
  /** URLs recorded in this window (and the page itself): the referrers a request may name. */
  readonly referrers: Set<string>
  /** The page's load number, once this window recorded something. */
  load: number | undefined
}

export class LearnedClosure {
  private readonly pages = new Map<string, LearnedPage>()
  private readonly windows = new WeakMap<object, LearningWindow[]>()
  private total = 0

  constructor(
    private readonly limits: LearningLimits = DEFAULT_LEARNING_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Number of pages with something learned. */
  get pageCount(): number {
    return this.pages.size
  }

  /** Number of URLs learned over all pages. */
  get urlCount(): number {
    return this.total
  }

  /** What a load of `pageUrl` requested at its last loads, in the order first seen. */
  entriesFor(pageUrl: string): ResourceRequest[] {
    const page = this.pages.get(pageUrl)
    return page ? [...page.urls.values()].map((learned) => learned.request) : []
  }

  /**
   * An HTML request for `pageUrl` arrived on `connection`: opens a window to learn what this load
   * requests. It stays open while the HTML is being sent; call {@link htmlEnded} when it is.
   */
  beginLoad(pageUrl: string, connection: object): LearningWindow {
    const now = this.now()
    const open = (this.windows.get(connection) ?? []).filter((window) => this.isOpen(window, now))
    const window: LearningWindow = {
      pageUrl,
      started: now,
      lastActivity: now,
      htmlPending: true,
      referrers: new Set([pageUrl]),
      load: undefined,
    }
    open.push(window)
    this.windows.set(connection, open)
    const page = this.pages.get(pageUrl)
    if (page) {
      // most recently loaded last: the first page in the map is the first to go
      this.pages.delete(pageUrl)
      this.pages.set(pageUrl, page)
    }
    return window
  }

  /** The page's HTML has been sent (or failed): from now the window closes after a quiet period. */
  htmlEnded(window: LearningWindow): void {
    window.htmlPending = false
    window.started = window.lastActivity = this.now()
  }

  /** The open window on `connection` that a request with this referrer (path + query) belongs to, if any. */
  windowFor(connection: object, referrer: string): LearningWindow | undefined {
    const windows = this.windows.get(connection)
    if (!windows) return undefined
    const now = this.now()
    for (let i = windows.length - 1; i >= 0; i--) {
      const window = windows[i]!
      if (!this.isOpen(window, now)) continue
      if (window.referrers.has(referrer)) {
        window.lastActivity = now
        return window
      }
    }
    return undefined
  }

  /**
   * A request in `window` was answered with `status`: learn it (200, 304) or forget it (anything
   * else). `file` is the file the URL is a form of (by default its path).
   */
  record(window: LearningWindow, request: ResourceRequest, status: number, file = stripQuery(request.url)): void {
    if (request.url === window.pageUrl) return
    const key = resourceKey(request)
    window.referrers.add(request.url)
    window.lastActivity = this.now()
    if (status !== 200 && status !== 304) {
      this.forget(window.pageUrl, request)
      return
    }
    let page = this.pages.get(window.pageUrl)
    if (!page) {
      page = new LearnedPage(this.limits.maxHtmlBytesPerPage)
      this.pages.set(window.pageUrl, page)
    }
    if (window.load === undefined) {
      window.load = ++page.loads
      this.expire(page)
    }
    const known = page.urls.get(key)
    if (known) {
      known.lastLoad = window.load
      return
    }
    if (page.urls.size >= this.limits.maxUrlsPerPage) return
    const form = `${request.as}:${file}`
    if (page.refusal(key, request, form)) return
    if (hmrTimestampOf(request.url) > 0) {
      const firstLoad = page.stampedOnce.get(key)
      if (firstLoad === undefined || firstLoad === window.load) {
        if (page.stampedOnce.size >= this.limits.maxUrlsPerPage) page.stampedOnce.clear()
        page.stampedOnce.set(key, window.load)
        return
      }
      page.stampedOnce.delete(key)
    }
    this.total += page.add(key, request, form, window.load)
    this.enforceTotal(window.pageUrl)
  }

  /** Forgets `request` for `pageUrl` (it answered 404, or the guard denies it). */
  forget(pageUrl: string, request: ResourceRequest): void {
    const page = this.pages.get(pageUrl)
    if (page?.delete(resourceKey(request))) this.total--
    if (page && page.urls.size === 0) this.pages.delete(pageUrl)
  }

  private isOpen(window: LearningWindow, now: number): boolean {
    if (window.htmlPending) return now - window.started <= MAX_HTML_MS
    return now - window.lastActivity <= this.limits.quietMs && now - window.started <= this.limits.maxWindowMs
  }

  /** At the start of a load: drops what the last {@link LearningLimits.forgetAfterLoads} completed loads did not request. */
  private expire(page: LearnedPage): void {
    for (const [key, learned] of page.urls) {
      if (page.loads - learned.lastLoad > this.limits.forgetAfterLoads && page.delete(key)) this.total--
    }
  }

  /** Keeps the number of pages and URLs within bounds, dropping the least recently loaded pages (never `keep`). */
  private enforceTotal(keep: string): void {
    for (const [pageUrl, page] of this.pages) {
      if (this.pages.size <= this.limits.maxPages && this.total <= this.limits.maxUrls) return
      if (pageUrl === keep) continue
      this.pages.delete(pageUrl)
      this.total -= page.urls.size
    }
  }
}
