import type { Connect, Logger } from 'vite'
import type { Debug } from '../debug.js'
import type { ServedGraph } from '../graph/served-graph.js'
import type { ResolvedOptions } from '../options.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import type { EncodedBodies } from '../serve/compression.js'
import { chooseDelivery } from './delivery-choice.js'
import { mayBeDocument } from './document-request.js'
import { hookHtmlResponse } from './html-response-hook.js'
import type { KnownPages } from './known-pages.js'
import type { LearnedClosure } from '../learn/learned-closure.js'
import { PageLoad } from './page-load.js'
import type { LoadReport } from '../report/load-report.js'

/** What the page pipeline needs from the plugin. */
export interface PageContext {
  graph: ServedGraph
  connections: ConnectionPushRegistry
  options: ResolvedOptions
  logger: Logger
  debug: Debug
  /** The entries each page had at its last load (or warm-up): what can be promised before the HTML is ready. */
  knownPages: KnownPages
  /** What each page's loads really requested (see {@link LearnedClosure}): extra entries of its plan. */
  learned: LearnedClosure
  /** The compressed bodies of cached responses. */
  bodies: EncodedBodies
  /** The recent loads' report (dev page and console note), when on. */
  report?: LoadReport
}

/**
 * Starts a {@link PageLoad} for each request that may be an HTML page and gets its closure some
 * way (pushed to a client that takes pushes, else links in the HTML), and hooks its response so
 * that Vite's writes become the load's phases. Everything else passes untouched.
 */
export function createPageMiddleware(context: PageContext): Connect.NextHandleFunction {
  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const choice = chooseDelivery(context.options, context.connections, req, res)
    if (!choice.push && !choice.links) return next()
    hookHtmlResponse(res, new PageLoad(context, req, res, choice))
    next()
  }
}
