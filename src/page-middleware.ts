import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerHttp2Stream } from 'node:http2'
import type { Connect, Logger } from 'vite'
import type { Debug } from './debug.js'
import { isJavaScript, type ServedGraph, type ServedResource } from './graph/served-graph.js'
import { stripQuery } from './graph/resolve-url.js'
import { extractPageEntries, type PageEntry } from './html/page-entries.js'
import { insertModulePreloads } from './html/preload-links.js'
import type { ResolvedOptions } from './options.js'
import { PLUGIN_NAME } from './options.js'
import type { ConnectionPushRegistry, ConnectionPushState } from './push/connection-push-state.js'
import { mergePushStats, pushResources, pushWindow, remainingBudget, type PushStats } from './push/push-resources.js'
import { isInProcessRequest } from './render/in-process-request.js'

/** What the page middleware needs from the plugin. */
export interface PageContext {
  graph: ServedGraph
  connections: ConnectionPushRegistry
  options: ResolvedOptions
  logger: Logger
  debug: Debug
  /** The entries each page had at its last load (or warm-up): what Early Hints can announce. */
  knownPages: KnownPages
}

/** How one HTML response gets its closure to the client. */
interface Delivery {
  /** The HTTP/2 stream to push on and its connection's push state, when this client takes pushes. */
  push: { stream: ServerHttp2Stream; state: ConnectionPushState } | undefined
  /** Whether to add modulepreload links to the HTML. */
  preload: boolean
}

type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown

const DOCUMENT_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'fencedframe', 'embed', 'object', ''])
const MAX_REMEMBERED_PAGES = 100

/**
 * The HTML request handler. When the final HTML is about to be sent (after every
 * `transformIndexHtml` hook) it computes the page's module closure once, then pushes it (before
 * the HTML ends: HTTP/2 cannot push after) and/or lists it as modulepreload links in the HTML.
 */
export function createPageMiddleware(context: PageContext): Connect.NextHandleFunction {
  const { knownPages } = context

  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const delivery = chooseDelivery(context, res)
    if (!delivery.push && !delivery.preload) return next()
    const pageUrl = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/'
    const knownEntries = knownPages.get(pageUrl)
    if (delivery.preload && context.options.earlyHints) sendEarlyHints(context, res, knownEntries)
    const pushContext = { budget: context.options, authority: authorityOf(req), debug: context.debug }
    // While Vite transforms the HTML, already promise what the page had at its last load, if all
    // of it is cached and current; the final HTML's closure then adds only what differs.
    const knownClosure =
      delivery.push && context.graph.cachedClosure(knownEntries ?? [], context.options.dynamicImports)
    const earlyPush =
      delivery.push && knownClosure?.length
        ? pushResources(delivery.push.stream, knownClosure, delivery.push.state, pushContext)
        : undefined
    interceptHtmlEnd(
      res,
      async (html) => {
        const started = performance.now()
        const page = extractPageEntries(html, pageUrl)
        knownPages.remember(pageUrl, page.entries)
        // The usual reload: same entries, and nothing in the early closure changed meanwhile, so
        // the final closure is the early one (its edges come from those very responses).
        const unchanged =
          earlyPush !== undefined &&
          knownClosure !== undefined &&
          sameEntries(knownEntries, page.entries) &&
          context.graph.allCurrent(knownClosure)
        const closure = unchanged
          ? knownClosure
          : await context.graph.closure(page.entries, context.options.dynamicImports)
        const closureMs = performance.now() - started
        const parts: string[] = []
        let finalHtml = html
        if (delivery.preload) {
          const edited = insertModulePreloads(html, page, preloadableModules(closure))
          finalHtml = edited.html
          parts.push(`${edited.added} modulepreload links`)
        }
        if (delivery.push && !res.writableEnded) {
          const early = await earlyPush
          if (unchanged && early && !early.interrupted && early.failed === 0) {
            // every push the final closure needs was promised in the early round
            parts.push(describePushes(early))
          } else {
            const budget = remainingBudget(context.options, early)
            const late = await pushResources(delivery.push.stream, closure, delivery.push.state, {
              ...pushContext,
              budget,
            })
            parts.push(describePushes(early ? mergePushStats(early, late) : late))
          }
        }
        const ms = performance.now() - started
        context.debug?.(
          `${pageUrl}: ${page.entries.length} entries, closure of ${closure.length} in ${closureMs.toFixed(1)} ms${unchanged ? ' (as promised early)' : ''}`,
        )
        if (context.options.log)
          context.logger.info(`[${PLUGIN_NAME}] ${pageUrl}: ${parts.join('; ')}, ${Math.round(ms)} ms`, {
            timestamp: true,
          })
        return finalHtml
      },
      (error) => {
        context.logger.warn(
          `[${PLUGIN_NAME}] could not prepare ${pageUrl}, served it as is: ${(error as Error).message}`,
        )
      },
    )
    next()
  }
}

/**
 * Push when the mode and the connection allow it (a client that kept resetting pushes counts as
 * refusing them); preload links otherwise (in auto) or always (in preload).
 */
function chooseDelivery(context: PageContext, res: ServerResponse): Delivery {
  const { options } = context
  const stream = (res as unknown as { stream?: ServerHttp2Stream }).stream
  const wantsPush = (options.mode === 'auto' || options.mode === 'push') && options.maxPushes > 0
  const state =
    wantsPush &&
    stream?.session !== undefined &&
    stream.pushAllowed &&
    pushWindow(stream.session.remoteSettings.maxConcurrentStreams) >= 1
      ? context.connections.forSession(stream.session)
      : undefined
  const push = stream && state && !state.refusesPush ? { stream, state } : undefined
  const preload = options.mode === 'preload' || (options.mode === 'auto' && !push)
  return { push, preload }
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
 * Replaces `res.end` so that a 200 `text/html` body goes through `prepare` (which may push and
 * returns the HTML to send) before the response ends. Anything else passes straight through.
 * When `prepare` fails, the original HTML is sent.
 */
function interceptHtmlEnd(
  res: ServerResponse,
  prepare: (html: string) => Promise<string>,
  onError: (error: unknown) => void,
): void {
  const originalEnd = res.end as unknown as EndFunction
  const patchedEnd: EndFunction = function (chunk, encoding, callback) {
    res.end = originalEnd as ServerResponse['end']
    const type = String(res.getHeader('content-type') ?? '')
    const isHtml =
      res.statusCode === 200 && /^text\/html\b/i.test(type) && (typeof chunk === 'string' || Buffer.isBuffer(chunk))
    if (!isHtml) return originalEnd.call(res, chunk, encoding, callback)
    const html = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : (chunk as string)
    prepare(html)
      .then(
        (finalHtml) => {
          if (finalHtml === html || res.headersSent) return chunk
          res.setHeader('etag', `W/"${createHash('sha1').update(finalHtml).digest('base64url')}"`)
          if (res.hasHeader('content-length')) res.setHeader('content-length', Buffer.byteLength(finalHtml))
          return finalHtml
        },
        (error: unknown) => {
          onError(error)
          return chunk
        },
      )
      .then((body) => {
        if (!res.writableEnded && !res.destroyed)
          originalEnd.call(res, body, typeof encoding === 'function' ? undefined : encoding, callback)
      })
    return res
  }
  res.end = patchedEnd as ServerResponse['end']
}

/** True when two entry lists request the same URLs the same way, in the same order. */
function sameEntries(known: readonly PageEntry[] | undefined, current: readonly PageEntry[]): boolean {
  return (
    known !== undefined &&
    known.length === current.length &&
    known.every((entry, index) => entry.url === current[index]!.url && entry.as === current[index]!.as)
  )
}

/** The closure's JavaScript modules (what modulepreload can fetch), in push order. */
function preloadableModules(closure: readonly ServedResource[]): string[] {
  return closure
    .filter(
      (resource) => resource.as === 'script' && resource.response.status === 200 && isJavaScript(resource.response),
    )
    .map((resource) => resource.url)
}

function sendEarlyHints(context: PageContext, res: ServerResponse, entries: PageEntry[] | undefined): void {
  if (!entries || typeof res.writeEarlyHints !== 'function') return
  const closure = context.graph.cachedClosure(entries, context.options.dynamicImports)
  if (!closure) return
  const links = preloadableModules(closure).map((url) => `<${url}>; rel=modulepreload`)
  if (links.length === 0) return
  try {
    res.writeEarlyHints({ link: links })
  } catch (error) {
    context.debug?.(`could not send 103 Early Hints: ${(error as Error).message}`)
  }
}

/** The entries of recently loaded pages, the most recent {@link MAX_REMEMBERED_PAGES}. */
export class KnownPages {
  private readonly entries = new Map<string, PageEntry[]>()

  remember(pageUrl: string, entries: PageEntry[]): void {
    this.entries.delete(pageUrl)
    this.entries.set(pageUrl, entries)
    if (this.entries.size > MAX_REMEMBERED_PAGES) this.entries.delete(this.entries.keys().next().value!)
  }

  get(pageUrl: string): PageEntry[] | undefined {
    return this.entries.get(pageUrl)
  }
}

function authorityOf(req: IncomingMessage): string | undefined {
  const value = req.headers[':authority'] ?? req.headers.host
  return typeof value === 'string' ? value : undefined
}

/** The push part of the one line logged per page load. */
export function describePushes(stats: PushStats): string {
  const parts = [`pushed ${stats.pushed} (${formatBytes(stats.bytes)})`, `${stats.alreadyPushed} already pushed`]
  if (stats.overBudget > 0) parts.push(`${stats.overBudget} over budget`)
  if (stats.notOk > 0) parts.push(`${stats.notOk} not 200`)
  if (stats.failed > 0) parts.push(`${stats.failed} reset`)
  if (stats.interrupted) parts.push('interrupted')
  return parts.join(', ')
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
