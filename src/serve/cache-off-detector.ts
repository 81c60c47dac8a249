// Notices a browser whose HTTP cache is off: it asks again for an immutable versioned URL it was
// already given. The usual cause is a certificate the browser does not trust (Chromium keeps
// nothing in its HTTP cache for an origin with a certificate error).
import type { IncomingHttpHeaders } from 'node:http'

export interface CacheOffEvidence {
  /** The immutable URL requested again. */
  url: string
  /** The User-Agent of the browser that asked again, when it sent one. */
  userAgent: string | undefined
}

export interface CacheOffDetector {
  /**
   * Call when a response for `url` went out with `Cache-Control: immutable`. Pass the request's
   * headers when known, so a second browser's first request is not taken for a repeat.
   */
  servedImmutable(url: string, requestHeaders?: IncomingHttpHeaders): void
  /** Call for every request; warns (once per detector) when it repeats an immutable URL. */
  requested(url: string, headers: IncomingHttpHeaders): void
}

// URLs remembered at most; the oldest are forgotten first.
const MAX_URLS = 20_000
const ANY_CLIENT = ''

/**
 * `onWarn` is called at most once, for the first request that asks again for an immutable URL the
 * same browser (same User-Agent) was served. Requests the user forced are not evidence: a hard
 * reload (`Cache-Control: no-cache` or `Pragma: no-cache`) or a revalidation (`If-None-Match`,
 * `If-Modified-Since`: the cache is on).
 */
export function createCacheOffDetector(onWarn: (evidence: CacheOffEvidence) => void): CacheOffDetector {
  const served = new Map<string, Set<string>>()
  let warned = false

  return {
    servedImmutable(url, requestHeaders) {
      if (warned) return
      const clients = served.get(url) ?? new Set<string>()
      clients.add(requestHeaders ? clientOf(requestHeaders) : ANY_CLIENT)
      served.delete(url)
      served.set(url, clients)
      if (served.size > MAX_URLS) served.delete(served.keys().next().value as string)
    },
    requested(url, headers) {
      if (warned || isForcedOrConditional(headers)) return
      const clients = served.get(url)
      if (!clients || !(clients.has(ANY_CLIENT) || clients.has(clientOf(headers)))) return
      warned = true
      served.clear()
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

function isForcedOrConditional(headers: IncomingHttpHeaders): boolean {
  const cacheControl = single(headers['cache-control'])?.toLowerCase() ?? ''
  return (
    cacheControl.includes('no-cache') ||
    cacheControl.includes('no-store') ||
    single(headers.pragma)?.toLowerCase().includes('no-cache') === true ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined
  )
}

function clientOf(headers: IncomingHttpHeaders): string {
  return single(headers['user-agent']) ?? 'no user agent'
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
