import type { IncomingMessage, ServerResponse } from 'node:http'
import { bypassesCache } from '../serve/cache-off-detector.js'

/** What one page load cost, as far as the server can tell: its HTML request and the requests that followed it on its connection. */
export class LoadRecord {
  readonly at = new Date()
  /** `h2` or `HTTP/1.1`. */
  readonly protocol: string
  /** The HTML request carried `Cache-Control: no-cache` or `Pragma: no-cache` (DevTools' "Disable cache", a hard reload). */
  readonly htmlBypassedCache: boolean
  /** The HTML request asked to revalidate (`If-None-Match` or `If-Modified-Since`). */
  readonly htmlConditional: boolean
  /** A browser's navigation (`Sec-Fetch-Mode: navigate`): a page with a console to tell. */
  readonly navigation: boolean
  /** The HTML response's status, once it has gone out. */
  htmlStatus: number | undefined
  /** URLs of the page's closure as planned (each module's own URL), once planned. */
  planned: ReadonlySet<string> = new Set()
  /** Of those, URLs only learned from earlier loads. */
  learned = 0
  /** The closure went out as modulepreload links (the browser fetched what it did not hold). */
  preloaded = 0
  pushed = 0
  /** Subresource requests that followed on the connection (modules, stylesheets). */
  requests = 0
  /** Their bytes, where a `Content-Length` said. */
  bytes = 0
  /** Distinct planned URLs requested. */
  readonly requestedPlanned = new Set<string>()
  /** Requests that carried `no-cache`. */
  bypassedCache = 0
  /** Versioned (immutable) URLs this connection was served before, asked for again with no `no-cache`. */
  versionedAgain = 0
  /** Module requests the plan did not hold (a learned closure that missed). */
  missed = 0
  /** The load before this one on the same connection asked again for versioned URLs (its cache was off). */
  cacheOffBefore = false

  constructor(
    readonly id: number,
    readonly page: string,
    readonly client: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    this.protocol = req.httpVersionMajor >= 2 ? 'h2' : `HTTP/${req.httpVersion}`
    this.navigation = req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document'
    this.htmlBypassedCache = bypassesCache(req.headers)
    this.htmlConditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined
    res.once('finish', () => (this.htmlStatus = res.statusCode))
  }

  /** The plan is known: the page's closure (its own URLs), how many only learned, and how it went out. */
  plannedAs(closure: readonly { url: string }[], learned: number, preloaded: boolean): void {
    this.planned = new Set(closure.map((resource) => resource.url))
    this.learned = learned
    this.preloaded = preloaded ? closure.length : 0
  }

  /** Planned URLs not requested and not pushed: held by the browser (its HTTP cache or memory). */
  get fromCache(): number {
    return Math.max(0, this.planned.size - this.requestedPlanned.size - this.pushed)
  }
}
