import type { IncomingMessage, ServerResponse } from 'node:http'
import { http2SessionOf } from '../graph/request-url.js'
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
  private readonly socket: { bytesWritten?: number }
  private readonly bytesAtStart: number
  private lastWritten = 0
  /** What the connection had sent when its next page load began. */
  private bytesAtEnd: number | undefined
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
    // the HTTP/2 session's socket (a request's own `socket` stops counting once its stream is gone)
    this.socket = http2SessionOf(req)?.socket ?? req.socket ?? {}
    this.bytesAtStart = this.written()
    res.once('finish', () => (this.htmlStatus = res.statusCode))
  }

  /** Bytes the connection sent from this load's HTML request until its next page load (or now): the HTML's included. */
  get bytes(): number {
    return Math.max(0, (this.bytesAtEnd ?? this.written()) - this.bytesAtStart)
  }

  /** The next page load on the connection began: this load's bytes end here. */
  ended(): void {
    this.bytesAtEnd ??= this.written()
  }

  /** What the connection has sent so far (its last count once it closed: a closed session's socket throws). */
  private written(): number {
    try {
      this.lastWritten = Math.max(this.lastWritten, this.socket.bytesWritten ?? 0)
    } catch {
      // closed: keep the last count
    }
    return this.lastWritten
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
