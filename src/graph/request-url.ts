import type { IncomingMessage } from 'node:http'
import type { Http2Session } from 'node:http2'

type WithOriginalUrl = IncomingMessage & { originalUrl?: string }

/** The URL the client asked for (before Vite's HTML fallback rewrote `req.url`). */
export function requestedUrl(req: IncomingMessage): string {
  return (req as WithOriginalUrl).originalUrl ?? req.url ?? '/'
}

/** Makes `url` the request's URL for every middleware after this one (`req.url` and Connect's `originalUrl`). */
export function rewriteRequestUrl(req: IncomingMessage, url: string): void {
  req.url = url
  const withOriginal = req as WithOriginalUrl
  if (withOriginal.originalUrl !== undefined) withOriginal.originalUrl = url
}

/** The request's authority (`:authority` over HTTP/2, `Host` over HTTP/1.1). */
export function authorityOf(req: IncomingMessage): string | undefined {
  const value = req.headers[':authority'] ?? req.headers.host
  return typeof value === 'string' ? value : undefined
}

/** The HTTP/2 session a request came on; undefined for HTTP/1.1 (and for the plugin's in-process requests). */
export function http2SessionOf(req: IncomingMessage): Http2Session | undefined {
  return (req as IncomingMessage & { stream?: { session?: Http2Session } }).stream?.session ?? undefined
}

/** What identifies a client's connection: its HTTP/2 session, or its socket for HTTP/1.1. */
export function connectionOf(req: IncomingMessage): object {
  return http2SessionOf(req) ?? req.socket
}
