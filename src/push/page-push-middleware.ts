import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerHttp2Stream } from 'node:http2'
import type { Connect, Logger } from 'vite'
import type { Debug } from '../debug.js'
import type { ServedGraph } from '../graph/served-graph.js'
import { stripQuery } from '../graph/resolve-url.js'
import { extractPageEntries } from '../html/page-entries.js'
import type { ResolvedOptions } from '../options.js'
import { PLUGIN_NAME } from '../options.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import type { ConnectionPushRegistry } from './connection-push-state.js'
import { pushResources, type PushStats } from './push-resources.js'

/** What the page middleware needs from the plugin. */
export interface PagePushContext {
  graph: ServedGraph
  connections: ConnectionPushRegistry
  options: ResolvedOptions
  logger: Logger
  debug: Debug
}

type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown

const DOCUMENT_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'fencedframe', 'embed', 'object', ''])

/**
 * Watches HTML responses on HTTP/2 connections that accept push. When the final HTML is about
 * to be sent (after every `transformIndexHtml` hook), it works out the page's module closure,
 * promises and sends it, and only then lets the HTML response end (Node cannot push after).
 */
export function createPagePushMiddleware(context: PagePushContext): Connect.NextHandleFunction {
  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const stream = (res as unknown as { stream?: ServerHttp2Stream }).stream
    if (!stream?.session || !stream.pushAllowed) return next()
    interceptEnd(res, (html, finish) => {
      pushPageClosure(context, req, res, stream, html)
        .catch((error: unknown) => {
          context.logger.warn(`[${PLUGIN_NAME}] could not push for ${req.url}: ${(error as Error).message}`)
        })
        .finally(finish)
    })
    next()
  }
}

function mayBeDocument(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false
  const destination = req.headers['sec-fetch-dest']
  if (destination !== undefined && !DOCUMENT_DESTINATIONS.has(String(destination))) return false
  const path = stripQuery(req.url ?? '')
  const lastSegment = path.slice(path.lastIndexOf('/') + 1)
  return !lastSegment.includes('.') || /\.html?$/i.test(lastSegment)
}

/**
 * Replaces `res.end` so that a 200 `text/html` response is held until `onHtml` calls `finish`.
 * Anything else passes straight through.
 */
function interceptEnd(res: ServerResponse, onHtml: (html: string, finish: () => void) => void): void {
  const originalEnd = res.end as unknown as EndFunction
  const patchedEnd: EndFunction = function (this: ServerResponse, chunk, encoding, callback) {
    res.end = originalEnd as ServerResponse['end']
    const type = String(res.getHeader('content-type') ?? '')
    const isHtml = res.statusCode === 200 && /^text\/html\b/i.test(type) && chunk != null && typeof chunk !== 'function'
    if (!isHtml) return originalEnd.call(res, chunk, encoding, callback)
    const html = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)
    onHtml(html, () => {
      originalEnd.call(res, chunk, encoding, callback)
    })
    return res
  }
  res.end = patchedEnd as ServerResponse['end']
}

async function pushPageClosure(
  context: PagePushContext,
  req: IncomingMessage,
  res: ServerResponse,
  stream: ServerHttp2Stream,
  html: string,
): Promise<void> {
  const started = performance.now()
  const state = context.connections.forSession(stream.session!)
  if (!state) return
  const pageUrl = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/'
  const { entries } = extractPageEntries(html, pageUrl)
  const closure = await context.graph.closure(entries, context.options.dynamicImports)
  const closureMs = performance.now() - started
  if (res.writableEnded || stream.destroyed) return
  const stats = await pushResources(stream, closure, state, {
    budget: context.options,
    authority: authorityOf(req),
    debug: context.debug,
  })
  const totalMs = performance.now() - started
  context.debug?.(`${pageUrl}: ${entries.length} entries, closure of ${closure.length} in ${closureMs.toFixed(1)} ms`)
  if (context.options.log) context.logger.info(summaryLine(pageUrl, stats, totalMs), { timestamp: true })
}

function authorityOf(req: IncomingMessage): string | undefined {
  const value = req.headers[':authority'] ?? req.headers.host
  return typeof value === 'string' ? value : undefined
}

/** The one line logged per page load. */
export function summaryLine(pageUrl: string, stats: PushStats, ms: number): string {
  const parts = [`pushed ${stats.pushed} (${formatBytes(stats.bytes)})`, `${stats.alreadyPushed} already pushed`]
  if (stats.overBudget > 0) parts.push(`${stats.overBudget} over budget`)
  if (stats.notOk > 0) parts.push(`${stats.notOk} not 200`)
  if (stats.failed > 0) parts.push(`${stats.failed} reset`)
  if (stats.interrupted) parts.push('interrupted')
  return `[${PLUGIN_NAME}] ${pageUrl}: ${parts.join(', ')}, ${Math.round(ms)} ms`
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
