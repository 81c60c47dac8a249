import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Connect } from 'vite'
import { isInProcessRequest } from '../render/in-process-request.js'
import { parseVersionedUrl } from './versioned-url.js'

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
 * Runs first in the stack: takes the version off a versioned module URL, so every middleware
 * after it (Vite's host check, CORS, `base`, `server.fs`, other plugins, the transform) sees the
 * module's own URL, exactly as for an unversioned request. The cached-response middleware then
 * answers it with `immutable` when the version is the current one. `onVersionedRequest` sees each
 * one first, as it came (a browser asking again for what it was served immutable has its cache off).
 * The plugin's own in-process renders pass untouched: they never enter its answer paths.
 */
export function createVersionedRequestMiddleware(
  onVersionedRequest: (url: string, headers: IncomingHttpHeaders) => void,
): Connect.NextHandleFunction {
  return function http2PushVersionedRequestMiddleware(req, _res, next) {
    const parsed = req.url === undefined || isInProcessRequest(req) ? undefined : parseVersionedUrl(req.url)
    if (parsed) {
      onVersionedRequest(req.url!, req.headers)
      const ifNoneMatch = req.headers['if-none-match']
      delete req.headers['if-none-match']
      versionRequests.set(req, { url: req.url!, version: parsed.version, ifNoneMatch })
      req.url = parsed.url
      const withOriginal = req as typeof req & { originalUrl?: string }
      if (withOriginal.originalUrl !== undefined) withOriginal.originalUrl = parsed.url
    }
    next()
  }
}
