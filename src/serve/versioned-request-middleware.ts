import type { IncomingMessage } from 'node:http'
import type { Connect } from 'vite'
import { createMarkerMiddleware } from './marker-middleware.js'
import { VERSION } from './versioned-url.js'

/** What a versioned request asked for, once its URL is back to the module's own. */
export interface VersionRequest {
  /** The versioned URL as requested. */
  url: string
  version: string
  /** The `If-None-Match` it carried (taken off, so Vite's early 304 cannot answer it without `immutable`). */
  ifNoneMatch: string | undefined
}

const versionRequests = new WeakMap<IncomingMessage, VersionRequest>()

/** The version a request asked for, when it came to a versioned URL. */
export function versionRequestOf(req: IncomingMessage): VersionRequest | undefined {
  return versionRequests.get(req)
}

/**
 * Runs first in the stack: takes the version off a versioned module URL (see
 * {@link createMarkerMiddleware}); the cached-response middleware then answers it with
 * `immutable` when the version is the current one. `onVersionedRequest` sees each one first, as
 * it came (a browser asking again for what it was served immutable has its cache off). Its
 * `If-None-Match` is set aside so Vite's early 304 cannot answer it without `immutable`; it is
 * put back when the plugin leaves the request to Vite ({@link restoreIfNoneMatch}).
 */
export function createVersionedRequestMiddleware(
  onVersionedRequest: (url: string, req: IncomingMessage) => void,
): Connect.NextHandleFunction {
  return createMarkerMiddleware('http2PushVersionedRequestMiddleware', VERSION, (req, taken) => {
    onVersionedRequest(taken.url, req)
    const ifNoneMatch = req.headers['if-none-match']
    delete req.headers['if-none-match']
    versionRequests.set(req, { url: taken.url, version: taken.version, ifNoneMatch })
  })
}

/** Puts back the `If-None-Match` a versioned request came with, for Vite to answer it. */
export function restoreIfNoneMatch(req: IncomingMessage, requested: VersionRequest): void {
  if (requested.ifNoneMatch !== undefined) req.headers['if-none-match'] = requested.ifNoneMatch
}
