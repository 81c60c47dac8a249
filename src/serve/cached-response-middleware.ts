import { requestedUrl } from '../graph/request-url.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Connect } from 'vite'
import type { ServedGraph } from '../graph/served-graph.js'
import { resourceKey, type ServedResource } from '../graph/served-resource.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import { resourceKindRequested } from '../graph/resource-request.js'
import type { CompressionMode } from '../options.js'
import {
  compressesFor,
  encodingFor,
  isCompressible,
  setEncodingHeaders,
  type EncodedBodies,
  type Encoding,
} from './compression.js'
import { answerSourceMap, externalForm, sourceMapRequestOf, wantsExternalMap } from './external-source-map.js'
import { answerVersioned, type VersionedAnswer } from './versioned-answer.js'
import { restoreIfNoneMatch, versionRequestOf, type VersionRequest } from './versioned-request-middleware.js'

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
 *
 * With `externalSourceMaps`, a browser's request (see {@link wantsExternalMap}) gets the body with
 * Vite's inline source map replaced by a link to a map URL, which this middleware answers too
 * ({@link answerSourceMap}). The ETag stays Vite's weak one: the two bodies differ by that comment
 * only, so they are equivalent representations (RFC 9110, 8.8.1) and a 304 to either is right.
 */
export function createCachedResponseMiddleware(
  graph: ServedGraph,
  serverHeaders: Record<string, unknown> | undefined,
  onServed: (answer: 'cached' | NonNullable<VersionedAnswer>, req: IncomingMessage) => void,
  options: { externalSourceMaps: boolean; compression: CompressionMode; bodies: EncodedBodies },
): Connect.NextHandleFunction {
  const headersViteSets = new Set([...VITE_SEND_HEADERS, ...Object.keys(serverHeaders ?? {}).map(lower)])
  return function http2PushCachedResponseMiddleware(req, res, next) {
    // the plugin's own renders go to Vite: answering one from the plugin's paths (a map, a
    // versioned URL) would render again from inside a render
    if (isInProcessRequest(req)) return next()
    const mapVersion = sourceMapRequestOf(req)
    // a map URL names no module response: it is answered here (or 404), never passed to Vite
    if (mapVersion !== undefined) return void answerSourceMapOrFail(graph, req, res, mapVersion, next)
    if (res.headersSent || isWrapped(res)) return next()
    const external = options.externalSourceMaps && wantsExternalMap(req)
    const compressing = compressesFor(req, options.compression)
    const send = (resource: ServedResource, cacheControl?: string) => {
      const body = (external && externalForm(resource)?.body) || resource.response.body
      const headers = { names: headersViteSets, cacheControl }
      if (!compressing || !isCompressible(resource.response.headers['content-type']))
        return sendCached(res, resource, body, headers)
      void sendEncoded(res, resource, body, encodingFor(req, options.compression), options.bodies, headers)
    }
    const versioned = versionRequestOf(req)
    if (versioned) return void answerVersionedOrPass(graph, req, res, versioned, send, onServed, next)
    const key = cacheKeyFor(req)
    const resource = key === undefined ? undefined : graph.currentOrDrop(key)
    if (!resource || resource.response.status !== 200) return next()
    onServed('cached', req)
    send(resource)
  }
}

/** Answers a source map request (see {@link answerSourceMap}); a failure goes to Vite's error handler. */
async function answerSourceMapOrFail(
  graph: ServedGraph,
  req: IncomingMessage,
  res: ServerResponse,
  version: string,
  next: (error?: unknown) => void,
): Promise<void> {
  try {
    await answerSourceMap(graph, req, res, version)
  } catch (error) {
    next(error)
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
  if (answer) return onServed(answer, req)
  restoreIfNoneMatch(req, versioned)
  next()
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
  const url = requestedUrl(req)
  const as = resourceKindRequested(headers)
  return url && as ? resourceKey({ url, as }) : undefined
}

/** True when a middleware has replaced one of the response's writing methods with its own. */
function isWrapped(res: ServerResponse): boolean {
  return WRITING_METHODS.some((method) => Object.prototype.hasOwnProperty.call(res, method))
}

const WRITING_METHODS = ['end', 'write', 'writeHead', 'setHeader'] as const

/**
 * Sends a cached response in `encoding` (compressed once per body, see {@link EncodedBodies}),
 * or as is when there is none or it does not pay; either way with `Vary: Accept-Encoding`.
 */
async function sendEncoded(
  res: ServerResponse,
  resource: ServedResource,
  body: Buffer,
  encoding: Encoding | undefined,
  bodies: EncodedBodies,
  headers: { names: ReadonlySet<string>; cacheControl: string | undefined },
): Promise<void> {
  const encoded = encoding && (await bodies.encode(body, encoding)) // never rejects: undefined when it failed
  if (res.writableEnded || res.destroyed) return
  try {
    sendCached(res, resource, encoded || body, { ...headers, encoding: encoded ? encoding : null })
  } catch {
    res.destroy()
  }
}

/**
 * Sends a cached response: its body (or the external-map form of it, derived from it), Vite's
 * own headers from the render, and `cacheControl` when given.
 */
function sendCached(
  res: ServerResponse,
  resource: ServedResource,
  body: Buffer,
  {
    names,
    cacheControl,
    encoding,
  }: { names: ReadonlySet<string>; cacheControl: string | undefined; encoding?: Encoding | null },
): void {
  const { headers } = resource.response
  res.statusCode = 200
  for (const [name, value] of Object.entries(headers)) if (names.has(name)) res.setHeader(name, value)
  if (cacheControl !== undefined) res.setHeader('cache-control', cacheControl)
  if (encoding !== undefined) setEncodingHeaders(res, encoding ?? undefined, body.length)
  res.end(body)
}
