import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Connect } from 'vite'
import type { ServedGraph } from '../graph/served-graph.js'
import { resourceKey, type ServedResource } from '../graph/served-resource.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import { resourceKindRequested } from '../render/resource-request.js'
import { answerVersioned, type VersionedAnswer } from './versioned-answer.js'
import { versionRequestOf, type VersionRequest } from './versioned-request-middleware.js'

/**
 * Answers a browser's module or stylesheet GET from the graph's cache, when the cache holds the
 * current response for exactly that request: the same bytes and headers Vite's transform
 * middleware would send (the cache is what pushes are made of, and it is dropped the moment
 * Vite's module graph changes), without transforming, re-encoding the inline sourcemap or
 * resolving the URL again. Like Vite's own answer, it sets only the headers Vite's `send` sets
 * and keeps those the earlier middlewares set for this request. The page's closure is cached, so in a browser most of a page's
 * module requests take this path.
 *
 * Only requests that match how the cached response was rendered are answered: `GET`, a
 * `Sec-Fetch-Dest` of `script` (an import or module script, `Accept` without `text/css`) or
 * `style` (a stylesheet link, `Accept: text/css`), and nothing that could make Vite answer
 * differently or that asks to bypass caches (`If-None-Match`, `If-Modified-Since`, `Range`,
 * `Cache-Control: no-cache`, `Pragma: no-cache`, as on a hard reload). `Origin` (Chromium sends
 * it with every module script) is fine: the CORS middleware before this one has already set its
 * headers on the response, as it does for Vite's own. A response that an earlier middleware has
 * wrapped (its `end`, `write`, `writeHead` or `setHeader` replaced, as compression does) is left
 * to Vite too: the cached body went through that wrapper once already. Everything else, and every
 * miss, goes on to Vite. A request to a versioned URL (the import map's) is answered by
 * {@link answerVersioned}.
 */
export function createCachedResponseMiddleware(
  graph: ServedGraph,
  serverHeaders: Record<string, unknown> | undefined,
  onServed: (answer: 'cached' | NonNullable<VersionedAnswer>, req: IncomingMessage) => void,
): Connect.NextHandleFunction {
  const headersViteSets = new Set([...VITE_SEND_HEADERS, ...Object.keys(serverHeaders ?? {}).map(lower)])
  return function http2PushCachedResponseMiddleware(req, res, next) {
    if (res.headersSent || isWrapped(res) || isInProcessRequest(req)) return next()
    const send = (resource: ServedResource, cacheControl?: string) =>
      sendCached(res, resource, headersViteSets, cacheControl)
    const versioned = versionRequestOf(req)
    if (versioned) return void answerVersionedOrPass(graph, req, res, versioned, send, onServed, next)
    const key = cacheKeyFor(req)
    const resource = key === undefined ? undefined : graph.currentOrDrop(key)
    if (!resource || resource.response.status !== 200) return next()
    onServed('cached', req)
    send(resource)
  }
}

/** Answers a versioned request, or passes it on to Vite (also when answering failed). */
async function answerVersionedOrPass(
  graph: ServedGraph,
  req: IncomingMessage,
  res: ServerResponse,
  versioned: VersionRequest,
  send: (resource: ServedResource, cacheControl?: string) => void,
  onServed: (answer: NonNullable<VersionedAnswer>, req: IncomingMessage) => void,
  next: (error?: unknown) => void,
): Promise<void> {
  let answer: VersionedAnswer
  try {
    answer = await answerVersioned(graph, req, res, versioned, send)
  } catch (error) {
    return next(error)
  }
  if (answer) onServed(answer, req)
  else next()
}

/**
 * The headers Vite's transform middleware itself sets when it answers (its `send`: these three
 * plus `server.headers`). Every other header of the response was set by the middlewares before it,
 * which have already run for this very request, so they are left as they are now (a per-request
 * header such as a request id must not be replaced by the one captured when the response was rendered).
 */
const VITE_SEND_HEADERS = ['content-type', 'cache-control', 'etag']

const lower = (name: string) => name.toLowerCase()

/** The graph key of a request that a cached response can answer, or undefined. */
function cacheKeyFor(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return undefined
  const headers = req.headers
  if (
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers.range !== undefined ||
    /\bno-cache\b/i.test(String(headers['cache-control'] ?? '')) ||
    /\bno-cache\b/i.test(String(headers.pragma ?? ''))
  )
    return undefined
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url
  const as = resourceKindRequested(headers)
  return url && as ? resourceKey({ url, as }) : undefined
}

/** True when a middleware has replaced one of the response's writing methods with its own. */
function isWrapped(res: ServerResponse): boolean {
  return WRITING_METHODS.some((method) => Object.prototype.hasOwnProperty.call(res, method))
}

const WRITING_METHODS = ['end', 'write', 'writeHead', 'setHeader'] as const

function sendCached(
  res: ServerResponse,
  resource: ServedResource,
  names: ReadonlySet<string>,
  cacheControl: string | undefined,
): void {
  const { headers, body } = resource.response
  res.statusCode = 200
  for (const [name, value] of Object.entries(headers)) if (names.has(name)) res.setHeader(name, value)
  if (cacheControl !== undefined) res.setHeader('cache-control', cacheControl)
  res.end(body)
}
