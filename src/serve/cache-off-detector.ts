// Notices a browser whose HTTP cache is off: it asks again, on the connection it was given it on,
// for an immutable versioned URL. The usual cause is a certificate the browser does not trust
// (Chromium keeps nothing in its HTTP cache for an origin with a certificate error).
import type { IncomingHttpHeaders } from 'node:http'

export interface CacheOffEvidence {
  /** The immutable URL requested again. */
  url: string
  /** The User-Agent of the browser that asked again, when it sent one. */
  userAgent: string | undefined
}

export interface CacheOffDetector {
  /**
   * Call when a response for `url` went out with `Cache-Control: immutable`, with the request's
   * headers and its connection (`connectionOf`: the HTTP/2 session, or the socket).
   */
  servedImmutable(url: string, headers: IncomingHttpHeaders, connection: object): void
  /** Call for every request; warns (once per detector) when it repeats an immutable URL on the same connection. */
  requested(url: string, headers: IncomingHttpHeaders, connection: object): void
}

// URLs remembered per connection at most; the oldest are forgotten first.
const MAX_URLS_PER_CONNECTION = 20_000

/**
 * `onWarn` is called at most once, for the first request that asks again for an immutable URL
 * served on the same connection (HTTP/2 session, or socket). Only one client's own evidence
 * counts: a second profile, a private window or a container of the same browser has its own
 * connections (and its own cache), so its first load is never taken for a repeat, even with the
 * same User-Agent. Requests the user forced are not evidence either: a hard reload or DevTools'
 * "Disable cache" (`Cache-Control: no-cache`, `Pragma: no-cache`) or a revalidation
 * (`If-None-Match`, `If-Modified-Since`: the cache is on).
 */
export function createCacheOffDetector(onWarn: (evidence: CacheOffEvidence) => void): CacheOffDetector {
  let served = new WeakMap<object, Set<string>>()
  let warned = false

  return {
    servedImmutable(url, _headers, connection) {
      if (warned) return
      const urls = served.get(connection) ?? new Set<string>()
      urls.delete(url)
      urls.add(url)
      if (urls.size > MAX_URLS_PER_CONNECTION) urls.delete(urls.values().next().value as string)
      served.set(connection, urls)
    },
    requested(url, headers, connection) {
      if (warned || isForcedOrConditional(headers)) return
      if (!served.get(connection)?.has(url)) return
      warned = true
      served = new WeakMap()
      onWarn({ url, userAgent: single(headers['user-agent']) })
    },
  }
}

/** The warning for {@link CacheOffEvidence}, with the command that makes the certificate trusted when it is not. */
export function cacheOffWarning(evidence: CacheOffEvidence, trustFix: string | undefined): string {
  const cause = trustFix
    ? `the certificate is not trusted, and Chromium keeps nothing in its HTTP cache for such a site. Fix: ${trustFix}`
    : 'DevTools\' "Disable cache" may be on, or the browser was started with its cache off.'
  return `A browser fetched ${evidence.url} again although it was served as immutable: its HTTP cache is off. Likely cause: ${cause}`
}

/** Whether the request bypassed the cache (a hard reload, DevTools' "Disable cache") or revalidates (the cache is on). */
function isForcedOrConditional(headers: IncomingHttpHeaders): boolean {
  return bypassesCache(headers) || headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined
}

/** Whether the request carries `Cache-Control: no-cache`/`no-store` or `Pragma: no-cache`, as a hard reload and DevTools' "Disable cache" send. */
export function bypassesCache(headers: IncomingHttpHeaders): boolean {
  const cacheControl = single(headers['cache-control'])?.toLowerCase() ?? ''
  return (
    cacheControl.includes('no-cache') ||
    cacheControl.includes('no-store') ||
    single(headers.pragma)?.toLowerCase().includes('no-cache') === true
  )
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
