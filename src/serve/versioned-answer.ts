import { requestedUrl } from '../graph/request-url.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServedGraph } from '../graph/served-graph.js'
import { headerString } from '../graph/rendered-response.js'
import type { ServedResource } from '../graph/served-resource.js'
import { resourceKindRequested } from '../graph/resource-request.js'
import type { VersionRequest } from './versioned-request-middleware.js'
import { ifNoneMatchHits } from './revalidation.js'
import { IMMUTABLE, versionToken } from './versioned-url.js'

/** How a versioned request was answered: at its version (immutable), with the current response, or not at all. */
export type VersionedAnswer = 'immutable' | 'current' | undefined

/**
 * Answers a request that came to a versioned URL (its version already taken off the URL):
 * - the version is the current one: the cached response with `Cache-Control: max-age=31536000,
 *   immutable` (a 304 when it carried that ETag), even when it asked to bypass caches, since the
 *   response is exactly what Vite serves now;
 * - an older or unknown version: the current response with Vite's own headers (`no-cache`), so
 *   an old body is never served and a wrong one never marked immutable;
 * - a miss (eviction, restart) is rendered first, through the guarded graph.
 * Returns undefined when it did not answer (not in a browser's module or stylesheet form, not a
 * 200, a `Range`): Vite then serves the module's own URL.
 */
export async function answerVersioned(
  graph: ServedGraph,
  req: IncomingMessage,
  res: ServerResponse,
  requested: VersionRequest,
  send: (resource: ServedResource, cacheControl?: string) => void,
): Promise<VersionedAnswer> {
  const as = resourceKindRequested(req.headers)
  const url = requestedUrl(req)
  if (req.method !== 'GET' || !as || !url || req.headers.range !== undefined) return undefined
  const resource = await graph.get({ url, as })
  if (!resource || resource.response.status !== 200 || res.headersSent) return undefined
  if (versionToken(resource) !== requested.version) {
    send(resource)
    return 'current'
  }
  const etag = headerString(resource.response.headers.etag)
  if (etag !== undefined && ifNoneMatchHits(requested.ifNoneMatch, etag)) {
    res.statusCode = 304
    res.setHeader('cache-control', IMMUTABLE)
    res.setHeader('etag', etag)
    res.end()
  } else send(resource, IMMUTABLE)
  return 'immutable'
}
