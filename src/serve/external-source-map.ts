import { createHash } from 'node:crypto'
import { ifNoneMatchHits } from './revalidation.js'
import { requestedUrl } from '../graph/request-url.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Connect } from 'vite'
import type { ServedGraph } from '../graph/served-graph.js'
import type { ServedResource } from '../graph/served-resource.js'
import { headerString, isJavaScript } from '../graph/rendered-response.js'
import { createMarkerMiddleware } from './marker-middleware.js'
import { versionParam, versionToken } from './versioned-url.js'

/**
 * The query parameter of a source map URL the plugin serves: the module's own URL plus
 * `__h2map=<version>`. Like the version marker, it is taken off every request before anything
 * else sees the URL, so Vite's host check, CORS, `base` and every plugin's middleware run for a
 * map request as for a request of its module.
 */
const MAP_VERSION = versionParam('__h2map')

/** What Vite appends to a JavaScript module it serves: its inline source map, on the last line. */
const INLINE_MAP_PREFIX = Buffer.from('\n//# sourceMappingURL=data:application/json;base64,')
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}\s*$/

/** A body split at its inline source map comment. */
export interface InlineSourceMap {
  /** The body up to (without) the newline before the comment. */
  code: Buffer
  /** The source map JSON, decoded from the `data:` URL. */
  map: Buffer
}

/**
 * Splits a JavaScript body at the inline `//# sourceMappingURL=data:application/json;base64,…`
 * comment that Vite appends as its last line; undefined when the body does not end with one.
 */
export function splitInlineSourceMap(body: Buffer): InlineSourceMap | undefined {
  const at = body.lastIndexOf(INLINE_MAP_PREFIX)
  if (at < 0) return undefined
  const base64 = body.toString('latin1', at + INLINE_MAP_PREFIX.length)
  if (!BASE64_RE.test(base64)) return undefined
  return { code: body.subarray(0, at), map: Buffer.from(base64.trim(), 'base64') }
}

/** The URL the plugin serves a resource's source map at: its own URL and its version. */
function sourceMapUrl(resource: ServedResource): string {
  return MAP_VERSION.add(resource)
}

/** Splits a request URL into its module's URL and the version of the map asked for; undefined when it is no map URL. */
export function parseSourceMapUrl(url: string): { url: string; version: string } | undefined {
  return MAP_VERSION.take(url)
}

interface ExternalForm {
  /** The body with the inline map replaced by a `//# sourceMappingURL=` of {@link sourceMapUrl}. */
  body: Buffer
  map: Buffer
  /** A weak ETag of the map itself. */
  mapEtag: string
}

const externalForms = new WeakMap<ServedResource, ExternalForm | null>()

/**
 * The resource's body with its inline source map replaced by a link to {@link sourceMapUrl},
 * made once per cached response (so the same version always gets the same bytes), and the map.
 * Undefined for a response with no inline map, not JavaScript, not a 200, or without a weak
 * ETag (the ETag stays Vite's: a weak one says the two bodies are equivalent, which they are).
 */
export function externalForm(resource: ServedResource): ExternalForm | undefined {
  let form = externalForms.get(resource)
  if (form === undefined) {
    form = makeExternalForm(resource) ?? null
    externalForms.set(resource, form)
  }
  return form ?? undefined
}

function makeExternalForm(resource: ServedResource): ExternalForm | undefined {
  const { status, headers, body } = resource.response
  if (status !== 200 || !isJavaScript(resource.response) || !headerString(headers.etag)?.startsWith('W/'))
    return undefined
  const split = splitInlineSourceMap(body)
  if (!split) return undefined
  return {
    body: Buffer.concat([split.code, Buffer.from(`\n//# sourceMappingURL=${sourceMapUrl(resource)}`)]),
    map: split.map,
    mapEtag: `W/"map-${createHash('sha1').update(split.map).digest('base64url')}"`,
  }
}

/**
 * True for a request a browser made (it sends `Sec-Fetch-Mode` with every request). Only those
 * get external maps: a push promises the browser form without it, so a GET with a promise's
 * request headers, and any plain GET by a tool, keep Vite's bytes with the inline map.
 */
export function wantsExternalMap(req: IncomingMessage): boolean {
  return req.headers['sec-fetch-mode'] !== undefined
}

const mapRequests = new WeakMap<IncomingMessage, string>()

/** The version a request asked a source map of, when it came to a map URL (the marker already taken off). */
export function sourceMapRequestOf(req: IncomingMessage): string | undefined {
  return mapRequests.get(req)
}

/**
 * Runs first in the stack: takes the map marker off a map URL, so every middleware after it sees
 * the module's own URL (and checks it as such); the cached-response middleware then answers it
 * with {@link answerSourceMap}, never Vite's transform.
 */
export function createSourceMapRequestMiddleware(): Connect.NextHandleFunction {
  return createMarkerMiddleware('http2PushSourceMapRequestMiddleware', MAP_VERSION, (req, taken) =>
    mapRequests.set(req, taken.version),
  )
}

/**
 * Answers a source map request: the map of the module's current response, through the guarded
 * graph (a denied file's map is denied as the file is; a miss is rendered first), only while
 * that response is still the version asked for. Anything else is a 404, never the module itself.
 */
export async function answerSourceMap(
  graph: ServedGraph,
  req: IncomingMessage,
  res: ServerResponse,
  version: string,
): Promise<void> {
  const url = requestedUrl(req)
  const resource =
    url && (req.method === 'GET' || req.method === 'HEAD') ? await graph.get({ url, as: 'script' }) : undefined
  const form = resource && versionToken(resource) === version ? externalForm(resource) : undefined
  if (res.headersSent || res.writableEnded) return
  if (!form) {
    res.statusCode = 404
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end('source map not found (the module changed, or it is not served)')
    return
  }
  res.setHeader('cache-control', 'no-cache')
  res.setHeader('etag', form.mapEtag)
  if (ifNoneMatchHits(req.headers['if-none-match'], form.mapEtag)) {
    res.statusCode = 304
    res.end()
    return
  }
  res.statusCode = 200
  res.setHeader('content-type', 'application/json')
  res.end(req.method === 'HEAD' ? undefined : form.map)
}
