import type { Connect, Logger } from 'vite'
import type { Debug } from '../debug.js'
import { sendEarlyHints } from '../deliver/early-hints.js'
import { addPreloadLinks } from '../deliver/preload-links.js'
import { startPagePush } from '../deliver/push.js'
import type { ServedGraph } from '../graph/served-graph.js'
import { extractPageEntries } from '../html/page-entries.js'
import { PLUGIN_NAME, type ResolvedOptions } from '../options.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import { chooseDelivery } from './delivery-choice.js'
import { mayBeDocument, requestedUrl } from './document-request.js'
import { interceptHtml } from './intercept-html.js'
import type { KnownPages } from './known-pages.js'
import { describeDenied, describePushes } from './page-log.js'
import { finalPlan, knownPlan } from './page-plan.js'

/** What the page pipeline needs from the plugin. */
export interface PageContext {
  graph: ServedGraph
  connections: ConnectionPushRegistry
  options: ResolvedOptions
  logger: Logger
  debug: Debug
  /** The entries each page had at its last load (or warm-up): what can be promised before the HTML is ready. */
  knownPages: KnownPages
}

/**
 * The HTML request as a pipeline:
 * 1. choose the delivery (push to a client that takes pushes, else links in the HTML);
 * 2. from the plan known at request time (the page's last load), send Early Hints and promise
 *    the early pushes while Vite transforms the HTML;
 * 3. intercept the final HTML (after every `transformIndexHtml` hook), read its entries and make
 *    the final plan (the known one on the usual reload);
 * 4. deliver that plan: links into the HTML, the remaining pushes before the response ends.
 * Everything delivered comes from the served graph, whose guard keeps back what `server.fs` denies.
 */
export function createPageMiddleware(context: PageContext): Connect.NextHandleFunction {
  const { graph, options, knownPages, debug } = context

  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const choice = chooseDelivery(options, context.connections, req, res)
    if (!choice.push && !choice.links) return next()
    const pageUrl = requestedUrl(req)
    const known = knownPlan(graph, knownPages.get(pageUrl), options.dynamicImports)
    if (known && choice.links && options.earlyHints) sendEarlyHints(res, known.closure.resources, debug)
    const push = choice.push && startPagePush(choice.push, options, debug)
    if (known && push) push.early(known.closure.resources)

    interceptHtml(res, {
      async prepare(html) {
        const started = performance.now()
        const page = extractPageEntries(html, pageUrl)
        knownPages.remember(pageUrl, page.entries)
        const plan = await finalPlan(graph, page.entries, known, options.dynamicImports)
        const closureMs = performance.now() - started
        const parts: string[] = []
        let finalHtml = html
        if (choice.links) {
          const edited = addPreloadLinks(finalHtml, page, plan.closure.resources)
          finalHtml = edited.html
          parts.push(`${edited.added} modulepreload links`)
        }
        if (push && !res.writableEnded) parts.push(describePushes(await push.finish(plan.closure.resources, plan.asKnown)))
        const denied = describeDenied(plan.closure.denied)
        if (denied) parts.push(denied)
        debug?.(
          `${pageUrl}: ${plan.entries.length} entries, closure of ${plan.closure.resources.length} in ${closureMs.toFixed(1)} ms${plan.asKnown ? ' (as known at request time)' : ''}`,
        )
        if (options.log)
          context.logger.info(
            `[${PLUGIN_NAME}] ${pageUrl}: ${parts.join('; ')}, ${Math.round(performance.now() - started)} ms`,
            { timestamp: true },
          )
        return finalHtml
      },
      onError(error) {
        context.logger.warn(
          `[${PLUGIN_NAME}] could not prepare ${pageUrl}, served it as is: ${(error as Error).message}`,
        )
      },
    })
    next()
  }
}
