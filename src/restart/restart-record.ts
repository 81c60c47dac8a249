import path from 'node:path'
import type { Logger, ViteDevServer } from 'vite'
import type { Debug } from '../debug.js'
import type { Closure, DeliveryGuard, ServedGraph } from '../graph/served-graph.js'
import type { ServedResource } from '../graph/served-resource.js'
import type { ResourceRequest } from '../graph/resource-request.js'
import { LOG_PREFIX } from '../plugin-name.js'
import { versionToken } from '../serve/versioned-url.js'
import { warmModuleUrls } from './fetched-warmup.js'
import { FileSnapshots } from './file-snapshots.js'
import type { IdleTracker } from './idle-tracker.js'
import { captureModule, type CapturedModule } from './record-capture.js'
import { RecordBuilder } from './record-builder.js'
import { RECORD_FILE_NAME, readRecord, writeRecord } from './record-file.js'
import { boundRecord, MAX_RECORDED_PAGES, type RecordedPage, type RestartRecordData } from './record-format.js'
import { configFingerprint, optimizerHash, pluginVersion } from './record-inputs.js'
import { recordedClosure } from './recorded-plan.js'

/** How long the server must be idle before the record is written. */
const WRITE_QUIET_MS = 1_500
/** How long the server must be idle before a page answered from the record is checked against fresh transforms. */
const CHECK_QUIET_MS = 2_000

/** What the record needs from the plugin. */
export interface RestartRecordContext {
  server: ViteDevServer
  graph: ServedGraph
  guard: DeliveryGuard
  idle: IdleTracker
  dynamicImports: boolean
  logger: Logger
  debug: Debug
}

interface LivePage {
  entries: readonly ResourceRequest[]
  resources: readonly ServedResource[]
  loadedAt: number
}

/**
 * The plugin's knowledge kept across restarts (see docs/restarts.md): per page, its entries and
 * closure; per module, its version and the files it came from. After a restart, a page whose
 * closure the graph does not know yet gets its import map and links from the record, for the
 * modules whose files are unchanged; a check at idle time then transforms the closure and
 * corrects the record where a version was wrong. Written at idle time and on close, atomically.
 */
export class RestartRecord {
  private data: RestartRecordData | undefined
  private pages = new Map<string, RecordedPage>()
  private readonly live = new Map<string, LivePage>()
  /** The closure each page was last seen with, so an unchanged reload does not rewrite the record. */
  private readonly seen = new Map<string, readonly ServedResource[]>()
  private readonly snapshots = new FileSnapshots()
  private readonly checking = new Set<string>()
  private readonly version = pluginVersion()
  private readonly config: string
  private readonly file: string
  private dirty = false
  private cancelWrite: (() => void) | undefined
  private writing: Promise<void> = Promise.resolve()
  private toldInputs = false

  private constructor(private readonly context: RestartRecordContext) {
    const { config } = context.server
    this.config = configFingerprint(config)
    this.file = path.resolve(config.root, config.cacheDir, RECORD_FILE_NAME)
  }

  /** The record of the server's `cacheDir`, read (an unusable one is ignored with a DEBUG line). */
  static async open(context: RestartRecordContext): Promise<RestartRecord> {
    const record = new RestartRecord(context)
    record.use(await readRecord(record.file, record.version, context.debug))
    return record
  }

  /** Number of pages the record holds. */
  get pageCount(): number {
    return this.pages.size
  }

  /** The entries of each recorded page (what a streamed page's head is completed with, as after a reload). */
  recordedEntries(): Array<[pageUrl: string, entries: readonly ResourceRequest[]]> {
    return [...this.pages.values()].map((page) => [page.url, page.entries])
  }

  /**
   * Starts transforming what the browser will request at its own URL on its first load after the
   * restart: the recorded pages' scripts the record cannot vouch for, most recently loaded first.
   * Called once the server listens; nothing when the record does not apply (other inputs).
   */
  warmFetched(): void {
    if (!this.data || this.data.inputs !== this.config) return
    const pages = [...this.pages.values()].sort((a, b) => b.loadedAt - a.loadedAt)
    const { server, guard, debug } = this.context
    warmModuleUrls(
      server,
      guard,
      pages.flatMap((page) => page.fetched),
      debug,
    )
  }

  /** A file changed on disk (Vite's watcher): its recorded versions are checked again. */
  fileChanged(file: string): void {
    this.snapshots.forget(file)
  }

  /**
   * The closure of a page from the record, when the graph does not know the page's closure yet and
   * the record has the page with the same entries and the same inputs; undefined otherwise.
   */
  async plan(
    pageUrl: string,
    entries: readonly ResourceRequest[],
  ): Promise<{ closure: Closure; fetchFirst: string[]; note: string } | undefined> {
    const page = this.pages.get(pageUrl)
    const { graph, guard, dynamicImports } = this.context
    if (!this.data || !page || !sameEntries(page.entries, entries)) return undefined
    // only until this process has planned the page itself: a reload after that takes the graph's plan
    if (this.seen.has(pageUrl)) return undefined
    if (graph.cachedClosure(entries, dynamicImports)) return undefined
    if (this.config !== this.data.inputs) {
      if (!this.toldInputs) this.context.debug?.(`restart record not used: the config or the plugins changed`)
      this.toldInputs = true
      return undefined
    }
    const optimizer = optimizerHash(this.context.server)
    const closure = await recordedClosure(this.data, page, graph, guard, this.snapshots, optimizer)
    // a record of which under 90% still holds (dependencies re-optimized, files changed) would list
    // too little: the page waits for its transform instead, as without one
    if (closure.resources.length < 0.9 * page.closure.length) {
      this.context.debug?.(`${pageUrl}: under 90% of its ${page.closure.length} recorded modules still hold; not used`)
      return undefined
    }
    this.checkLater(pageUrl, entries, closure.fromRecord)
    // what the HTML will not name by a recorded version, the browser asks for next
    const vouched = new Set(closure.resources.map((resource) => resource.key))
    const leftOut = page.closure.filter((key) => !vouched.has(key) && !key.startsWith('style:'))
    const fetchFirst = warmModuleUrls(this.context.server, guard, [...page.fetched, ...leftOut], this.context.debug)
    return {
      closure: { resources: closure.resources, denied: [] },
      fetchFirst,
      note: `${closure.fromRecord.size} of ${page.closure.length} versions from the restart record`,
    }
  }

  /** A page was loaded with this closure (from the graph): recorded at the next idle moment. */
  loaded(pageUrl: string, entries: readonly ResourceRequest[], resources: readonly ServedResource[]): void {
    const seen = this.seen.get(pageUrl)
    if (seen?.length === resources.length && seen.every((resource, index) => resource === resources[index])) return
    this.seen.delete(pageUrl)
    this.seen.set(pageUrl, resources)
    if (this.seen.size > MAX_RECORDED_PAGES) this.seen.delete(this.seen.keys().next().value!)
    this.live.delete(pageUrl)
    this.live.set(pageUrl, { entries, resources, loadedAt: Date.now() })
    this.dirty = true
    this.cancelWrite?.()
    this.cancelWrite = this.context.idle.whenIdle(WRITE_QUIET_MS, () => void this.flush())
  }

  /** Writes what is not written yet (on server close). */
  async close(): Promise<void> {
    this.cancelWrite?.()
    await this.flush()
  }

  private use(data: RestartRecordData | undefined): void {
    this.data = data
    this.pages = new Map((data?.pages ?? []).map((page) => [page.url, page]))
  }

  /**
   * At the next idle moment, transforms the page's closure (as its next load would), compares the
   * versions found with those delivered from the record, records the right ones, and says so once.
   */
  private checkLater(pageUrl: string, entries: readonly ResourceRequest[], fromRecord: Map<string, string>): void {
    if (this.checking.has(pageUrl)) return
    this.checking.add(pageUrl)
    const { idle, graph, dynamicImports, logger, debug } = this.context
    idle.whenIdle(CHECK_QUIET_MS, () => {
      graph
        .closure(entries, dynamicImports)
        .then(({ resources }) => {
          const wrong = resources.filter((resource) => {
            const delivered = fromRecord.get(resource.key)
            return delivered !== undefined && delivered !== versionToken(resource)
          })
          this.loaded(pageUrl, entries, resources)
          debug?.(`${pageUrl}: checked ${fromRecord.size} recorded versions, ${wrong.length} wrong`)
          if (wrong.length > 0)
            logger.warn(
              `${LOG_PREFIX} after the restart ${wrong.length} module(s) had another version than recorded ` +
                `(first: ${wrong[0]!.url}); the next load has the right ones`,
              { timestamp: true },
            )
        })
        .catch((error: unknown) =>
          debug?.(`checking ${pageUrl} against the record failed: ${(error as Error).message}`),
        )
        .finally(() => this.checking.delete(pageUrl))
    })
  }

  private flush(): Promise<void> {
    this.writing = this.writing
      .then(() => this.write())
      .catch((error: unknown) => this.context.debug?.(`restart record not written: ${(error as Error).message}`))
    return this.writing
  }

  private async write(): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    const { server, graph, guard } = this.context
    const builder = new RecordBuilder(this.version, this.config, this.data)
    const captured = new Map<string, Promise<CapturedModule | undefined>>()
    const capture = async (resource: ServedResource) => {
      const module = await captureModule(resource, server, guard, this.snapshots)
      // changed while its files were read: not recordable now
      return graph.currentOrDrop(resource.key) === resource ? module : undefined
    }
    let added = 0
    for (const [url, page] of this.live) {
      // a page changed since its load is recorded at its next load
      if (!graph.allCurrent(page.resources)) continue
      const closure = await Promise.all(
        page.resources.map(async (resource) => {
          let module = captured.get(resource.key)
          if (!module) captured.set(resource.key, (module = capture(resource)))
          return [resource.key, await module] as const
        }),
      )
      builder.addPage(url, page.entries, closure, page.loadedAt)
      added++
    }
    this.live.clear()
    // nothing new to vouch for: the file stays as it is (maybe another server's, sharing the cacheDir)
    if (added === 0) return
    const data = boundRecord(builder.build())
    await writeRecord(this.file, data)
    this.use(data)
    this.context.debug?.(
      `restart record written: ${data.pages.length} pages, ${Object.keys(data.modules).length} modules`,
    )
  }
}

function sameEntries(recorded: readonly ResourceRequest[], current: readonly ResourceRequest[]): boolean {
  return (
    recorded.length === current.length &&
    recorded.every((entry, index) => entry.url === current[index]!.url && entry.as === current[index]!.as)
  )
}
