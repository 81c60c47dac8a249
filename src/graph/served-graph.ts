import type { Debug } from '../debug.js'
import { headerString, type RenderedResponse } from './rendered-response.js'
import type { ResourceRequest } from './resource-request.js'
import { RenderSlots } from './render-slots.js'
import { ResponseCache } from './response-cache.js'
import {
  buildResource,
  forEachImport,
  isServedAsModuleOrStylesheet,
  orderBreadthFirst,
  resourceKey,
  type ServedResource,
} from './served-resource.js'

/** Produces the response a GET of the request gets now (render/vite-renderer.ts: through Vite's own stack). */
export type RenderFunction = (request: ResourceRequest) => Promise<RenderedResponse>

/** Tells whether a response rendered earlier is still what a GET returns now. */
export interface FreshnessOracle {
  /** Remembers what the response with this ETag was rendered from; undefined when it cannot be tracked. */
  track(etag: string): unknown
  /** True while the tracked source is unchanged. */
  isCurrent(token: unknown): boolean
  /**
   * True when the source of this request URL is one the oracle tracks (a module Vite
   * transforms), so a response it could not {@link track} lost a race with an invalidation and is
   * worth rendering again; false for what it never tracks (a static file).
   */
  isTrackable(url: string): Promise<boolean>
}

/**
 * Decides which URLs may leave the server at all. The graph asks it before it renders a URL
 * (so a denied file is never put into Vite's module graph by the plugin) and again once Vite has
 * resolved it; what it refuses is never rendered, cached, returned or walked through.
 */
export interface DeliveryGuard {
  /** False when the file the URL names may not be served (outside `server.fs.allow`, denied, ...). */
  allowsUrl(url: string): boolean
  /** False when the file Vite resolved the rendered URL to may not be served (aliases, symlinks). */
  allowsRendered(url: string): Promise<boolean>
}

/** A page's closure: what may be delivered, in push order, and the URLs the guard refused. */
export interface Closure {
  resources: ServedResource[]
  denied: string[]
}

type Resource = ServedResource | undefined

/** Renders at once; one client holds at most half of them, each for at most a few seconds (see {@link RenderSlots}). */
const RENDER_CONCURRENCY = 32
const RENDER_SLOTS_PER_CLIENT = 16
const RENDER_SLOT_HOLD_MS = 3000

/**
 * The import graph of the app as Vite serves it: each node is a rendered response, each edge
 * an import in its served code, resolved to the URL the browser will request. Nodes are cached
 * per request and re-rendered as soon as Vite's module graph says their source changed. Every
 * URL passes the {@link DeliveryGuard} first: the graph is the one gate between Vite and every
 * way the plugin delivers a response (push, preload links, import map, Early Hints, cached answers).
 */
export class ServedGraph {
  private readonly cache: ResponseCache
  private readonly rendering = new Map<string, Promise<ServedResource | undefined>>()
  private readonly slots = new RenderSlots(RENDER_CONCURRENCY, RENDER_SLOTS_PER_CLIENT, RENDER_SLOT_HOLD_MS)
  /** URLs refused by {@link DeliveryGuard.allowsRendered} at their last render (bounded by the app's own URLs). */
  private readonly deniedAfterRender = new Set<string>()

  constructor(
    private readonly render: RenderFunction,
    private readonly freshness: FreshnessOracle,
    private readonly guard: DeliveryGuard,
    maxCachedBytes: number,
    private readonly debug: Debug,
    /** True for a URL the plugin must never render in-process (one `server.proxy` forwards to a backend). */
    private readonly mayNotRender: (url: string) => boolean = () => false,
  ) {
    this.cache = new ResponseCache(maxCachedBytes)
  }

  /** Number of cached responses. */
  get size(): number {
    return this.cache.size
  }

  /** The cached resource for this key while it is current; a cached one that went stale is dropped. */
  currentOrDrop(key: string): ServedResource | undefined {
    const entry = this.cache.get(key)
    if (!entry) return undefined
    if (entry.token === undefined || !this.freshness.isCurrent(entry.token)) {
      this.cache.evict(key, entry)
      return undefined
    }
    return entry.resource
  }

  /** The current resource for a request: from the cache when fresh, else rendered now; undefined when denied or failed. */
  get(request: ResourceRequest): Promise<ServedResource | undefined> {
    if (!this.guard.allowsUrl(request.url) || this.mayNotRender(request.url)) return Promise.resolve(undefined)
    const key = resourceKey(request)
    const cached = this.currentOrDrop(key)
    if (cached) return Promise.resolve(cached)
    const pending = this.rendering.get(key)
    if (!pending) return this.startRender(key, request)
    // A render already under way may have started before the source changed (Vite then drops its
    // result): join it only if what it returns is still current, as a GET made now would be.
    return pending.then((resource) =>
      resource && this.isOutdated(resource) ? this.startRender(key, request) : resource,
    )
  }

  /**
   * The page's transitive closure in push order: entries first (document order), then
   * breadth-first over static imports (and dynamic ones when asked). Cycles are visited once.
   */
  async closure(entries: readonly ResourceRequest[], includeDynamic: boolean): Promise<Closure> {
    const waiting: Promise<void>[] = []
    const walk = this.walk(entries, includeDynamic, (request, reached) => {
      waiting.push(this.get(request).then(reached))
      return true
    })
    while (waiting.length > 0) await Promise.all(waiting.splice(0))
    return { resources: orderBreadthFirst(entries, walk.found, includeDynamic), denied: walk.denied }
  }

  /**
   * The closure from the cache alone, without rendering or waiting: undefined unless every
   * resource in it is cached and current. For work that must not delay the response (Early Hints).
   */
  cachedClosure(entries: readonly ResourceRequest[], includeDynamic: boolean): Closure | undefined {
    const walk = this.walk(entries, includeDynamic, () => false)
    return walk.complete
      ? { resources: orderBreadthFirst(entries, walk.found, includeDynamic), denied: walk.denied }
      : undefined
  }

  /**
   * The one walk over a closure: each request once, denied ones reported, cached current responses
   * followed at once; a miss goes to `miss`, which calls `reached` with what it found (and returns
   * true), or returns false to end the walk incomplete.
   */
  private walk(
    entries: readonly ResourceRequest[],
    includeDynamic: boolean,
    miss: (request: ResourceRequest, reached: (resource: ServedResource | undefined) => void) => boolean,
  ): { found: Map<string, ServedResource | undefined>; denied: string[]; complete: boolean } {
    const walk = { found: new Map<string, ServedResource | undefined>(), denied: [] as string[], complete: true }
    const visit = (request: ResourceRequest): void => {
      const key = resourceKey(request)
      if (!walk.complete || walk.found.has(key)) return
      walk.found.set(key, undefined)
      if (!this.guard.allowsUrl(request.url)) {
        walk.denied.push(request.url)
        return
      }
      const reached = (resource: ServedResource | undefined) => {
        walk.found.set(key, resource)
        if (resource) forEachImport(resource, includeDynamic, visit)
        else if (this.deniedAfterRender.has(request.url)) walk.denied.push(request.url)
      }
      const cached = this.currentOrDrop(key)
      if (cached) reached(cached)
      else if (!miss(request, reached)) walk.complete = false
    }
    for (const entry of entries) visit(entry)
    return walk
  }

  /** True while every one of these resources is still the cached, current response for its request. */
  allCurrent(resources: readonly ServedResource[]): boolean {
    return resources.every((resource) => this.currentOrDrop(resource.key) === resource)
  }

  private startRender(key: string, request: ResourceRequest): Promise<ServedResource | undefined> {
    const existing = this.rendering.get(key)
    if (existing) return existing
    const started = this.renderResource(key, request).finally(() => {
      if (this.rendering.get(key) === started) this.rendering.delete(key)
    })
    this.rendering.set(key, started)
    return started
  }

  /**
   * True for a response with an ETag that Vite's module graph does not hold (any more): its
   * source changed while it rendered, or since. Re-rendering one that Vite never tracks (a static
   * file's ETag) costs a render, and is never wrong.
   */
  private isOutdated(resource: ServedResource): boolean {
    const etag = headerString(resource.response.headers.etag)
    if (resource.response.status !== 200 || etag === undefined) return false
    return this.currentOrDrop(resource.key) !== resource && this.freshness.track(etag) === undefined
  }

  /** {@link renderAndCache}, with any failure a miss for this one URL. */
  private async renderResource(key: string, request: ResourceRequest, retried = false): Promise<Resource> {
    try {
      return await this.renderAndCache(key, request, retried)
    } catch (error) {
      // a failed render is a miss for this one URL, never an error for the page or the process
      this.debug?.(`could not render ${request.url}: ${(error as Error).message}`)
      return undefined
    }
  }

  /**
   * Renders a request and caches the response while its source is trackable. A module response
   * Vite did not keep (its transform ran in the millisecond of an invalidation, which Vite's
   * timestamps cannot order, e.g. Vite 6 invalidating an inline script's proxy module on each
   * HTML request) is rendered once more, so it can be cached and announced early next time.
   */
  private async renderAndCache(key: string, request: ResourceRequest, retried: boolean): Promise<Resource> {
    const release = await this.slots.acquire()
    let response: RenderedResponse
    try {
      response = await this.render(request)
    } finally {
      release()
    }
    if (!(await this.guard.allowsRendered(request.url).catch(() => false))) {
      this.deniedAfterRender.add(request.url)
      return undefined
    }
    this.deniedAfterRender.delete(request.url)
    if (!isServedAsModuleOrStylesheet(response)) {
      this.debug?.(
        `${request.url} is not served as a ${request.as === 'style' ? 'stylesheet' : 'module'}: not delivered`,
      )
      return undefined
    }
    const resource = buildResource(request, response, this.debug)
    const etag = headerString(response.headers.etag)
    if (response.status !== 200 || etag === undefined) return resource
    const token = this.freshness.track(etag)
    if (token !== undefined) {
      this.cache.store(key, { resource, token, bytes: response.body.length })
      return resource
    }
    if (retried || !(await this.freshness.isTrackable(request.url).catch(() => false))) return resource
    this.debug?.(`${request.url} changed while it rendered: rendering it again`)
    await new Promise((resolve) => setTimeout(resolve, 1))
    return (await this.renderResource(key, request, true)) ?? resource
  }
}
