import MagicString from 'magic-string'
import type { Connect, Logger } from 'vite'
import type { Debug } from '../debug.js'
import { sendEarlyHints } from '../deliver/early-hints.js'
import { addImportMap } from '../deliver/import-map.js'
import { addPreloadLinks } from '../deliver/preload-links.js'
import { startPagePush } from '../deliver/push.js'
import type { ServedGraph } from '../graph/served-graph.js'
import { extractPageEntries } from '../html/page-entries.js'
import { PLUGIN_NAME, type ResolvedOptions } from '../options.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import type { ServedResource } from '../graph/served-resource.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import { encodeOnce, type EncodedBodies } from '../serve/compression.js'
import { deliveredBytes } from '../serve/delivered-bytes.js'
import { versionedHref } from '../serve/versioned-url.js'
import { chooseDelivery } from './delivery-choice.js'
import { mayBeDocument, requestedUrl } from './document-request.js'
import { interceptHtml } from './intercept-html.js'
import type { KnownPages } from './known-pages.js'
import { describeBytes, describeDenied, describePushes } from './page-log.js'
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
  /** The compressed bodies of cached responses. */
  bodies: EncodedBodies
}

/**
 * The HTML request as a pipeline:
 * 1. choose the delivery (push to a client that takes pushes, else links in the HTML);
 * 2. from the plan known at request time (the page's last load), send Early Hints and promise
 *    the early pushes while Vite transforms the HTML;
 * 3. intercept the final HTML (after every `transformIndexHtml` hook), read its entries and make
 *    the final plan (the known one on the usual reload);
 * 4. deliver that plan: the import map and links into the HTML, the remaining pushes before the
 *    response ends.
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
    const hrefOf = choice.links && options.importMap ? versionedHref : ownUrl
    if (known && choice.links && options.earlyHints) sendEarlyHints(res, known.closure.resources, hrefOf, debug)
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
        const edit = new MagicString(html)
        // the bytes the links will cost this client; compresses them meanwhile (logged once known)
        const bytes = choice.links
          ? deliveredBytes(req, plan.closure.resources, {
              externalSourceMaps: options.sourceMaps === 'external',
              compression: options.compression,
              bodies: context.bodies,
            }).catch(() => undefined)
          : undefined
        if (choice.links) {
          const map = options.importMap ? addImportMap(edit, page, plan.closure.resources) : undefined
          if (options.importMap && !map) debug?.(`${pageUrl}: its own import map cannot be merged; no versioned URLs`)
          const added = addPreloadLinks(edit, page, plan.closure.resources, map ? hrefOf : ownUrl)
          parts.push(`${added} modulepreload links`)
          if (map) parts.push(`import map of ${map.mapped}`)
        }
        if (push && !res.writableEnded)
          parts.push(describePushes(await push.finish(plan.closure.resources, plan.asKnown)))
        const denied = describeDenied(plan.closure.denied)
        if (denied) parts.push(denied)
        debug?.(
          `${pageUrl}: ${plan.entries.length} entries, closure of ${plan.closure.resources.length} in ${closureMs.toFixed(1)} ms${plan.asKnown ? ' (as known at request time)' : ''}`,
        )
        const ms = Math.round(performance.now() - started)
        if (options.log)
          void Promise.resolve(bytes).then((delivered) =>
            context.logger.info(
              `[${PLUGIN_NAME}] ${pageUrl}: ${[...parts, ...(delivered ? [describeBytes(delivered)] : [])].join('; ')}, ${ms} ms`,
              { timestamp: true },
            ),
          )
        return edit.hasChanged() ? edit.toString() : html
      },
      encode: (html) => encodeOnce(req, res, options.compression, html),
      onError(error) {
        context.logger.warn(
          `[${PLUGIN_NAME}] could not prepare ${pageUrl}, served it as is: ${(error as Error).message}`,
        )
      },
    })
    next()
  }
}

const ownUrl = (resource: ServedResource) => resource.url
