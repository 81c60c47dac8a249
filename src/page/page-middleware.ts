import MagicString from 'magic-string'
import type { Connect, Logger } from 'vite'
import type { Debug } from '../debug.js'
import { sendEarlyHints } from '../deliver/early-hints.js'
import { addImportMap } from '../deliver/import-map.js'
import { addPreloadLinks } from '../deliver/preload-links.js'
import { startPagePush } from '../deliver/push.js'
import type { ServedGraph } from '../graph/served-graph.js'
import { resourceKey } from '../graph/served-resource.js'
import { extractPageEntries, type PageEntries } from '../html/page-entries.js'
import { resolveRequestUrl } from '../graph/resolve-url.js'
import { PLUGIN_NAME, type ResolvedOptions } from '../options.js'
import type { PushStats } from '../push/push-resources.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import type { ServedResource } from '../graph/served-resource.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import type { ResourceRequest } from '../render/resource-request.js'
import { encodeOnce, type EncodedBodies } from '../serve/compression.js'
import { deliveredBytes, type DeliveredBytes } from '../serve/delivered-bytes.js'
import { versionedHref } from '../serve/versioned-url.js'
import { chooseDelivery } from './delivery-choice.js'
import { mayBeDocument, requestedUrl } from './document-request.js'
import { interceptHtml } from './intercept-html.js'
import { withoutStaleForms } from './learned-forms.js'
import type { KnownPages } from './known-pages.js'
import type { LearnedClosure } from './learned-closure.js'
import { connectionOf } from './learning-middleware.js'
import { describeBytes, describeDenied, describePushes } from './page-log.js'
import { finalPlan, knownPlan, type FinalPagePlan } from './page-plan.js'

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
}

/** Longest a streamed page's head waits for its closure (for the links) before it goes out as it is. */
const STREAMED_HEAD_WAIT_MS = 500

/** Most text of a streamed body's rest kept at once while looking for late entries (an unclosed script). */
const MAX_REST_SCAN = 1024 * 1024

/**
 * The HTML request as a pipeline:
 * 1. choose the delivery (push to a client that takes pushes, else links in the HTML);
 * 2. from the plan known at request time (the page's last load, and what its loads were seen to
 *    request), send Early Hints and promise the early pushes while Vite or the framework renders;
 * 3. intercept the final HTML (after every `transformIndexHtml` hook; for a streamed page, its
 *    head), read its entries and make the final plan (the known one on the usual reload);
 * 4. deliver that plan: the import map and links into the HTML, the remaining pushes before the
 *    response ends; for a streamed page, also the pushes of entries named after its head (inline
 *    `import()`s at the end of the body).
 * Everything delivered comes from the served graph, whose guard keeps back what `server.fs` denies.
 */
export function createPageMiddleware(context: PageContext): Connect.NextHandleFunction {
  const { graph, options, knownPages, learned, debug } = context

  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const choice = chooseDelivery(options, context.connections, req, res)
    if (!choice.push && !choice.links) return next()
    const pageUrl = requestedUrl(req)
    const learnedEntries = learned.entriesFor(pageUrl)
    const learning = learned.beginLoad(pageUrl, connectionOf(req))
    res.once('close', () => learned.htmlEnded(learning))
    const lastEntries = knownPages.get(pageUrl)
    const known = knownPlan(graph, lastEntries && mergeEntries(lastEntries, learnedEntries), options.dynamicImports)
    const hrefOf = choice.links && options.importMap ? versionedHref : ownUrl
    if (known && choice.links && options.earlyHints) sendEarlyHints(res, known.closure.resources, hrefOf, debug)
    const push = choice.push && startPagePush(choice.push, options, debug)
    if (known && push) push.early(known.closure.resources)

    const started = performance.now()
    /** Parts of the page's log line: the links, then what the plan found, then the pushes. */
    let linksPart: string | undefined
    const planParts: string[] = []
    /** The final plan, once made; for a streamed page also what its pushes were and its late rounds. */
    let planned: Promise<FinalPagePlan> | undefined
    const lateRounds: Promise<unknown>[] = []
    /** What the links will cost this client (its bodies compressed meanwhile), for the log line. */
    let bytes: Promise<DeliveredBytes | undefined> | undefined
    /** Streamed pages: entries named after the head, and the text still to scan for them. */
    const late = new LateEntries(pageUrl)

    const log = (stats: PushStats | undefined) => {
      const parts = [linksPart, ...planParts, stats && describePushes(stats)].filter((part) => part !== undefined)
      const ms = Math.round(performance.now() - started)
      if (options.log)
        void Promise.resolve(bytes).then((delivered) =>
          context.logger.info(
            `[${PLUGIN_NAME}] ${pageUrl}: ${[...parts, ...(delivered ? [describeBytes(delivered)] : [])].join('; ')}, ${ms} ms`,
            { timestamp: true },
          ),
        )
    }

    interceptHtml(res, {
      async prepare(html, complete) {
        const preparing = performance.now()
        const page = extractPageEntries(html, pageUrl)
        // A streamed page may name more entries after its head: until they are seen, take the
        // last load's as well (they are what the rest of the body named then).
        const pageEntries = complete ? page.entries : mergeEntries(page.entries, lastEntries ?? [])
        late.planWith(page.entries, pageEntries)
        if (complete) knownPages.remember(pageUrl, page.entries)
        const entries = mergeEntries(pageEntries, learnedEntries)
        let pushing: Promise<PushStats> | undefined
        planned = finalPlan(graph, entries, known, options.dynamicImports).then((found) => {
          const closureMs = performance.now() - preparing
          const { plan, learnedOnly } =
            learnedEntries.length > 0
              ? withoutStaleForms(found, pageEntries, options.dynamicImports)
              : { plan: found, learnedOnly: 0 }
          forgetMissing(plan, learnedEntries)
          if (learnedEntries.length > 0) planParts.push(`${learnedOnly} learned`)
          const denied = describeDenied(plan.closure.denied)
          if (denied) planParts.push(denied)
          debug?.(
            `${pageUrl}: ${plan.entries.length} entries (${learnedEntries.length} learned), closure of ${plan.closure.resources.length} ` +
              `(${learnedOnly} only through learned entries) in ${closureMs.toFixed(1)} ms` +
              `${plan.asKnown ? ' (as known at request time)' : ''}${complete ? '' : ' (streamed: head only)'}`,
          )
          if (push && !res.writableEnded) pushing = push.finish(plan.closure.resources, plan.asKnown)
          return plan
        })
        // A streamed head waits for its closure only so long (a cold closure renders the whole
        // app); then it goes out as it is, and the pushes still go out before the stream ends.
        const plan = complete
          ? await planned
          : await Promise.race([planned, delay(STREAMED_HEAD_WAIT_MS).then(() => undefined)])
        const edit = new MagicString(html)
        // Counted (external maps made, bodies compressed) once the HTML is on its way: that work
        // is for the module requests that follow, and must not delay the page itself.
        if (choice.links && plan)
          bytes = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
            deliveredBytes(req, plan.closure.resources, {
              externalSourceMaps: options.sourceMaps === 'external',
              compression: options.compression,
              bodies: context.bodies,
            }).catch(() => undefined),
          )
        if (choice.links && plan) {
          const map = options.importMap ? addImportMap(edit, page, plan.closure.resources) : undefined
          if (options.importMap && !map) debug?.(`${pageUrl}: its own import map cannot be merged; no versioned URLs`)
          // A streamed head: what the rest of the body loads itself (at its own URL: the map does
          // not rewrite `src` there) gets no link, or the browser would fetch it twice.
          const loaded = complete ? page : { ...page, entries: pageEntries }
          // What the page's own import map points to is loaded at that URL (its entries win): a
          // learned module can be one, and is linked by that URL, not a versioned one.
          const theirs = map ? ownImportMapTargets(html, page, pageUrl) : new Set<string>()
          const linkHref = map
            ? (resource: ServedResource) => (theirs.has(resource.url) ? resource.url : hrefOf(resource))
            : ownUrl
          const added = addPreloadLinks(edit, loaded, plan.closure.resources, linkHref)
          linksPart = `${added} modulepreload links${map ? `; import map of ${map.mapped}` : ''}`
        } else if (choice.links) {
          linksPart = `no modulepreload links (closure not ready within ${STREAMED_HEAD_WAIT_MS} ms)`
        }
        // The whole body ends with this HTML, so pushes must be promised first. A streamed head
        // goes out now; its pushes are awaited before the stream ends.
        if (complete) log(await pushing)
        return edit.hasChanged() ? edit.toString() : html
      },
      onRest(text) {
        const found = late.scan(text)
        if (found.length === 0) return
        debug?.(`${pageUrl}: ${found.length} entries after the head`)
        if (push) {
          const closure = graph.closure(found, options.dynamicImports)
          lateRounds.push(Promise.all([planned, closure]).then(([, { resources }]) => push.more(resources)))
        }
      },
      async beforeEnd() {
        late.scan('', true)
        knownPages.remember(pageUrl, late.all())
        await planned?.catch(() => undefined)
        await Promise.all(lateRounds)
        // every round so far, summed (an empty round adds nothing)
        log(push ? await push.more([]) : undefined)
      },
      encode: (html) => encodeOnce(req, res, options.compression, html),
      onError(error) {
        context.logger.warn(
          `[${PLUGIN_NAME}] could not prepare ${pageUrl}, served it as is: ${(error as Error).message}`,
        )
      },
    })
    next()

    /** Learned URLs that now answer 404 (or anything but 200), or that the guard denies, are forgotten. */
    function forgetMissing(finished: FinalPagePlan, entries: readonly ResourceRequest[]): void {
      if (entries.length === 0) return
      const byKey = new Map(finished.closure.resources.map((resource) => [resource.key, resource]))
      const denied = new Set(finished.closure.denied)
      for (const entry of entries) {
        const resource = byKey.get(resourceKey(entry))
        if (denied.has(entry.url) || !resource || resource.response.status !== 200) learned.forget(pageUrl, entry)
      }
    }
  }
}

/** The URLs the page's own `<script type="importmap">` maps specifiers to. */
function ownImportMapTargets(html: string, page: PageEntries, pageUrl: string): Set<string> {
  const targets = new Set<string>()
  if (!page.importMap) return targets
  try {
    const map = JSON.parse(html.slice(page.importMap.start, page.importMap.end)) as {
      imports?: Record<string, unknown>
      scopes?: Record<string, Record<string, unknown>>
    }
    const values = [
      ...Object.values(map.imports ?? {}),
      ...Object.values(map.scopes ?? {}).flatMap((scope) => Object.values(scope ?? {})),
    ]
    for (const value of values) {
      const url = typeof value === 'string' ? resolveRequestUrl(value, pageUrl) : undefined
      if (url) targets.add(url)
    }
  } catch {
    // not JSON: the browser ignores that map too
  }
  return targets
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** `first`, then what `more` adds (by URL and kind), in order. */
function mergeEntries(first: readonly ResourceRequest[], more: readonly ResourceRequest[]): ResourceRequest[] {
  if (more.length === 0) return [...first]
  const seen = new Set(first.map(resourceKey))
  const merged = [...first]
  for (const entry of more) {
    const key = resourceKey(entry)
    if (seen.has(key)) continue
    seen.add(key)
    merged.push(entry)
  }
  return merged
}

/**
 * The entries a streamed page names after its head, found in the text as it passes: complete
 * `<script>` elements and tags are read as they arrive; an unfinished one waits for the next text.
 */
class LateEntries {
  private head: readonly ResourceRequest[] = []
  /** Everything named after the head, in order (for the next load's known plan). */
  private readonly rest: ResourceRequest[] = []
  /** Keys already planned or reported: not reported again. */
  private readonly planned = new Set<string>()
  private pending = ''

  constructor(private readonly pageUrl: string) {}

  /** The head's own entries, and the entries planned with them (the head's and those assumed from the last load). */
  planWith(head: readonly ResourceRequest[], planned: readonly ResourceRequest[]): void {
    this.head = head
    for (const entry of planned) this.planned.add(resourceKey(entry))
  }

  /** Scans `text` (after what was left unfinished before it); returns the entries not planned yet. */
  scan(text: string, final = false): ResourceRequest[] {
    const scannable = this.pending + text
    let cut = scannable.length
    if (!final) {
      const lower = scannable.toLowerCase()
      const open = lower.lastIndexOf('<script')
      const close = lower.lastIndexOf('</script')
      cut = open > close ? open : scannable.lastIndexOf('>') + 1
    }
    this.pending = scannable.slice(cut)
    if (this.pending.length > MAX_REST_SCAN) this.pending = '' // an endless script: give up on it
    const added: ResourceRequest[] = []
    if (cut === 0) return added
    for (const entry of extractPageEntries(scannable.slice(0, cut), this.pageUrl).entries) {
      this.rest.push(entry)
      const key = resourceKey(entry)
      if (this.planned.has(key)) continue
      this.planned.add(key)
      added.push(entry)
    }
    return added
  }

  /** The head's entries and those named after it. */
  all(): ResourceRequest[] {
    return mergeEntries(this.head, this.rest)
  }
}

const ownUrl = (resource: ServedResource) => resource.url
