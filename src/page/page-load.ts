import type { IncomingMessage, ServerResponse } from 'node:http'
import MagicString from 'magic-string'
import { sendEarlyHints } from '../preload/early-hints.js'
import { addImportMap } from '../preload/import-map.js'
import { addPreloadLinks } from '../preload/preload-links.js'
import { startPagePush, type PagePush } from '../push/page-push.js'
import { resourceKey, type ServedResource } from '../graph/served-resource.js'
import { extractPageEntries, type PageEntries } from '../html/page-entries.js'
import type { PushStats } from '../push/push-resources.js'
import type { ResourceRequest } from '../graph/resource-request.js'
import { encodeOnce } from '../serve/compression.js'
import { precompressClosure, type DeliveredBytes } from '../serve/precompress.js'
import { versionedHref } from '../serve/versioned-url.js'
import type { DeliveryChoice } from './delivery-choice.js'
import { requestedUrl } from '../graph/request-url.js'
import type { HtmlPhases } from './html-phases.js'
import type { LearningWindow } from '../learn/learned-closure.js'
import { withoutStaleForms } from './learned-forms.js'
import { connectionOf } from '../graph/request-url.js'
import { describeBytes, describeDenied, describePushes } from './page-log.js'
import type { PageContext } from './page-context.js'
import { LateEntries } from './late-entries.js'
import { finalPlan, knownPlan, mergeEntries, type FinalPagePlan, type PagePlan } from './page-plan.js'
import { LOG_PREFIX } from '../plugin-name.js'
import type { LoadRecord } from '../report/load-record.js'

/** Longest a streamed page's head waits for its closure (for the links) before it goes out as it is. */
const STREAMED_HEAD_WAIT_MS = 500

/**
 * One HTML request, from the request to the end of its response, in the phases the response hook
 * calls in order:
 * 1. `begin` (the constructor): from the plan known at request time (the page's last load, and
 *    what its loads were seen to request), send Early Hints and promise the early pushes while
 *    Vite or the framework renders;
 * 2. `head(html, complete)`: read the final HTML's entries (for a streamed page, its head's), make
 *    the final plan (the known one on the usual reload) and deliver it: the import map and links
 *    into the HTML, the remaining pushes before the response ends;
 * 3. `rest(text)`: a streamed page's body after its head, scanned for late entries (inline
 *    `import()`s at the end of the body), whose pushes follow;
 * 4. `end()`: before a streamed response ends, every push is promised; then the log line.
 * Everything delivered comes from the served graph, whose guard keeps back what `server.fs` denies.
 */
export class PageLoad implements HtmlPhases {
  private readonly pageUrl: string
  private readonly started = performance.now()
  private readonly learnedEntries: ResourceRequest[]
  private readonly lastEntries: readonly ResourceRequest[] | undefined
  private readonly learning: LearningWindow
  private readonly known: PagePlan | undefined
  private readonly hrefOf: (resource: ServedResource) => string
  private readonly push: PagePush | undefined
  /** Parts of the page's log line: the links, then what the plan found. */
  private linksPart: string | undefined
  private readonly planParts: string[] = []
  /** The final plan, once made. */
  private planned: Promise<FinalPagePlan> | undefined
  /** The pushes of the final plan, once started. */
  private pushing: Promise<PushStats> | undefined
  /** A streamed page's pushes of entries named after its head. */
  private readonly lateRounds: Promise<unknown>[] = []
  /** What the links will cost this client (its bodies compressed meanwhile), for the log line. */
  private bytes: Promise<DeliveredBytes | undefined> | undefined
  private readonly late: LateEntries
  /** A streamed page's plan from the graph: recorded with all its entries once its body has ended. */
  private streamedPlan: FinalPagePlan | undefined
  private readonly reported: LoadRecord | undefined

  constructor(
    private readonly context: PageContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly choice: DeliveryChoice,
  ) {
    const { graph, options, learned, knownPages, debug } = context
    this.pageUrl = requestedUrl(req)
    this.late = new LateEntries(this.pageUrl)
    this.learnedEntries = learned.entriesFor(this.pageUrl)
    this.learning = learned.beginLoad(this.pageUrl, connectionOf(req))
    res.once('close', () => learned.htmlEnded(this.learning))
    this.reported = context.report?.begin(this.pageUrl, req, res, this.learning)
    this.lastEntries = knownPages.get(this.pageUrl)
    this.known = knownPlan(
      graph,
      this.lastEntries && mergeEntries(this.lastEntries, this.learnedEntries),
      options.dynamicImports,
    )
    this.hrefOf = choice.links && options.importMap ? versionedHref : ownUrl
    if (this.known && choice.links && options.earlyHints)
      sendEarlyHints(res, this.known.closure.resources, this.hrefOf, debug)
    this.push = choice.push ? startPagePush(choice.push, options, debug) : undefined
    if (this.known && this.push) this.push.early(this.known.closure.resources)
  }

  async head(html: string, complete: boolean): Promise<string> {
    const page = extractPageEntries(html, this.pageUrl)
    // A streamed page may name more entries after its head: until they are seen, take the last
    // load's as well (they are what the rest of the body named then).
    const pageEntries = complete ? page.entries : mergeEntries(page.entries, this.lastEntries ?? [])
    this.late.planWith(page.entries, pageEntries)
    if (complete) this.context.knownPages.remember(this.pageUrl, page.entries)
    // after a restart, links from the record while the graph does not know the closure yet (pushes need bodies)
    const recorded = this.push ? undefined : await this.context.record?.plan(this.pageUrl, pageEntries)
    if (recorded) this.planParts.push(recorded.note)
    this.planned = recorded
      ? Promise.resolve({
          entries: pageEntries,
          closure: recorded.closure,
          asKnown: false,
          fetchFirst: recorded.fetchFirst,
        })
      : this.plan(pageEntries, complete)
    // A streamed head waits for its closure only so long (a cold closure renders the whole app);
    // then it goes out as it is, and the pushes still go out before the stream ends.
    const plan = complete
      ? await this.planned
      : await Promise.race([this.planned, delay(STREAMED_HEAD_WAIT_MS).then(() => undefined)])
    const edited = this.choice.links ? this.addLinks(html, page, pageEntries, complete, plan) : html
    // The whole body ends with this HTML, so pushes must be promised first. A streamed head goes
    // out now; its pushes are awaited before the stream ends.
    if (complete) this.log(await this.pushing)
    return this.reported ? (this.context.report?.noted(this.reported, edited) ?? edited) : edited
  }

  rest(text: string): void {
    const found = this.late.scan(text)
    if (found.length === 0) return
    this.context.debug?.(`${this.pageUrl}: ${found.length} entries after the head`)
    const push = this.push
    if (!push) return
    const closure = this.context.graph.closure(found, this.context.options.dynamicImports)
    this.lateRounds.push(Promise.all([this.planned, closure]).then(([, { resources }]) => push.more(resources)))
  }

  async end(): Promise<void> {
    this.late.scan('', true)
    this.context.knownPages.remember(this.pageUrl, this.late.all())
    await this.planned?.catch(() => undefined)
    if (this.streamedPlan)
      this.context.record?.loaded(this.pageUrl, this.late.all(), this.streamedPlan.closure.resources)
    await Promise.all(this.lateRounds)
    // every round so far, summed (an empty round adds nothing)
    this.log(this.push ? await this.push.more([]) : undefined)
  }

  encode(html: string | Buffer): Promise<string | Buffer> {
    return encodeOnce(this.req, this.res, this.context.options.compression, html)
  }

  failed(error: unknown): void {
    this.context.logger.warn(
      `${LOG_PREFIX} could not prepare ${this.pageUrl}, served it as is: ${(error as Error).message}`,
    )
  }

  /** The final plan for the page's entries and what its loads learned; its pushes start when it is made. */
  private async plan(pageEntries: ResourceRequest[], complete: boolean): Promise<FinalPagePlan> {
    const { graph, options, debug } = this.context
    const preparing = performance.now()
    const found = await finalPlan(
      graph,
      mergeEntries(pageEntries, this.learnedEntries),
      this.known,
      options.dynamicImports,
    )
    const closureMs = performance.now() - preparing
    const learnedCount = this.learnedEntries.length
    const { plan, learnedOnly } =
      learnedCount > 0 ? withoutStaleForms(found, pageEntries, options.dynamicImports) : { plan: found, learnedOnly: 0 }
    this.forgetMissing(plan)
    if (complete) this.context.record?.loaded(this.pageUrl, pageEntries, plan.closure.resources)
    else this.streamedPlan = plan
    this.reported?.plannedAs(plan.closure.resources, learnedOnly, this.choice.links)
    if (learnedCount > 0) this.planParts.push(`${learnedOnly} learned`)
    const denied = describeDenied(plan.closure.denied)
    if (denied) this.planParts.push(denied)
    debug?.(
      `${this.pageUrl}: ${plan.entries.length} entries (${learnedCount} learned), closure of ${plan.closure.resources.length} ` +
        `(${learnedOnly} only through learned entries) in ${closureMs.toFixed(1)} ms` +
        `${plan.asKnown ? ' (as known at request time)' : ''}${complete ? '' : ' (streamed: head only)'}`,
    )
    if (this.push && !this.res.writableEnded) this.pushing = this.push.finish(plan.closure.resources, plan.asKnown)
    return plan
  }

  /** The HTML with the import map and modulepreload links of `plan` (unchanged without a plan). */
  private addLinks(
    html: string,
    page: PageEntries,
    pageEntries: ResourceRequest[],
    complete: boolean,
    plan: FinalPagePlan | undefined,
  ): string {
    const { options } = this.context
    if (!plan) {
      this.linksPart = `no modulepreload links (closure not ready within ${STREAMED_HEAD_WAIT_MS} ms)`
      return html
    }
    // Counted (external maps made, bodies compressed) once the HTML is on its way: that work is
    // for the module requests that follow, and must not delay the page itself.
    this.bytes = precompressClosure(this.req, plan.closure.resources, {
      externalSourceMaps: options.sourceMaps === 'external',
      compression: options.compression,
      bodies: this.context.bodies,
    }).catch(() => undefined)
    const edit = new MagicString(html)
    const map = options.importMap ? addImportMap(edit, page, plan.closure.resources, this.pageUrl) : undefined
    if (options.importMap && !map)
      this.context.debug?.(`${this.pageUrl}: its own import map cannot be merged; no versioned URLs`)
    // A streamed head: what the rest of the body loads itself (at its own URL: the map does not
    // rewrite `src` there) gets no link, or the browser would fetch it twice.
    const loaded = complete ? page : { ...page, entries: pageEntries }
    // What the page's own import map points to is loaded at that URL (its entries win): a learned
    // module can be one, and is linked by that URL, not a versioned one.
    const linkHref = map
      ? (resource: ServedResource) => (map.ownTargets.has(resource.url) ? resource.url : this.hrefOf(resource))
      : ownUrl
    const added = addPreloadLinks(edit, loaded, plan.closure.resources, linkHref, plan.fetchFirst)
    this.linksPart = `${added} modulepreload links${map ? `; import map of ${map.mapped}` : ''}`
    return edit.hasChanged() ? edit.toString() : html
  }

  /** Learned URLs that now answer 404 (or anything but 200), or that the guard denies, are forgotten. */
  private forgetMissing(plan: FinalPagePlan): void {
    if (this.learnedEntries.length === 0) return
    const byKey = new Map(plan.closure.resources.map((resource) => [resource.key, resource]))
    const denied = new Set(plan.closure.denied)
    for (const entry of this.learnedEntries) {
      const resource = byKey.get(resourceKey(entry))
      if (denied.has(entry.url) || !resource || resource.response.status !== 200)
        this.context.learned.forget(this.pageUrl, entry)
    }
  }

  /** The one line logged per page load (with `log: true`). */
  private log(stats: PushStats | undefined): void {
    if (this.reported) this.reported.pushed = stats?.pushed ?? 0
    if (!this.context.options.log) return
    const parts = [this.linksPart, ...this.planParts, stats && describePushes(stats)].filter(
      (part) => part !== undefined,
    )
    const ms = Math.round(performance.now() - this.started)
    void Promise.resolve(this.bytes).then((delivered) =>
      this.context.logger.info(
        `${LOG_PREFIX} ${this.pageUrl}: ${[...parts, ...(delivered ? [describeBytes(delivered)] : [])].join('; ')}, ${ms} ms`,
        { timestamp: true },
      ),
    )
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const ownUrl = (resource: ServedResource) => resource.url
