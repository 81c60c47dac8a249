import { createHash } from 'node:crypto'
import type { RenderedResponse } from '../render/captured-response.js'
import type { ResourceKind } from '../html/page-entries.js'
import type { Debug } from '../debug.js'
import { lexImports } from './lex-imports.js'
import { resolveRequestUrl } from './resolve-url.js'

/** One request the page makes: a URL and the way it is fetched. */
export interface ResourceRequest {
  url: string
  as: ResourceKind
}

/** A response as served, with the import edges read from its body. */
export interface ServedResource extends ResourceRequest {
  /** Identity of the request: the URL, prefixed for the stylesheet form of a URL. */
  key: string
  response: RenderedResponse
  /** The response's ETag, or a hash of its body when it has none. */
  version: string
  /** Request URLs of the static imports, as the browser resolves them. */
  staticImports: string[]
  /** Request URLs of `import('literal')`s. */
  dynamicImports: string[]
}

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

export type RenderFunction = (request: ResourceRequest) => Promise<RenderedResponse>

interface CacheEntry {
  resource: ServedResource
  token: unknown
  bytes: number
}

/** The key of a request: its URL, or `style:` + URL for a stylesheet `<link>` (Vite serves CSS to it, JS to an import). */
export function resourceKey(request: ResourceRequest): string {
  return request.as === 'style' ? `style:${request.url}` : request.url
}

const RENDER_CONCURRENCY = 32

/**
 * The import graph of the app as Vite serves it: each node is a rendered response, each edge
 * an import in its served code, resolved to the URL the browser will request. Nodes are cached
 * per request and re-rendered as soon as Vite's module graph says their source changed.
 */
export class ServedGraph {
  private readonly cache = new Map<string, CacheEntry>()
  private readonly rendering = new Map<string, Promise<ServedResource | undefined>>()
  private cachedBytes = 0
  private activeRenders = 0
  private readonly renderQueue: Array<() => void> = []

  constructor(
    private readonly render: RenderFunction,
    private readonly freshness: FreshnessOracle,
    private readonly maxCachedBytes: number,
    private readonly debug: Debug,
  ) {}

  /** Number of cached responses. */
  get size(): number {
    return this.cache.size
  }

  /** The cached resource if it is still current, without rendering. */
  peek(key: string): ServedResource | undefined {
    const entry = this.cache.get(key)
    if (!entry) return undefined
    if (entry.token === undefined || !this.freshness.isCurrent(entry.token)) {
      this.evict(key, entry)
      return undefined
    }
    return entry.resource
  }

  /** The current resource for a request: from the cache when fresh, else rendered now. */
  get(request: ResourceRequest): Promise<ServedResource | undefined> {
    const key = resourceKey(request)
    const cached = this.peek(key)
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
  async closure(entries: ResourceRequest[], includeDynamic: boolean): Promise<ServedResource[]> {
    const found = new Map<string, ServedResource | undefined>()
    const waiting: Promise<void>[] = []
    const visit = (request: ResourceRequest): void => {
      const key = resourceKey(request)
      if (found.has(key)) return
      found.set(key, undefined)
      const cached = this.peek(key)
      if (cached) {
        found.set(key, cached)
        forEachImport(cached, includeDynamic, visit)
        return
      }
      waiting.push(
        this.get(request).then((resource) => {
          found.set(key, resource)
          if (resource) forEachImport(resource, includeDynamic, visit)
        }),
      )
    }
    for (const entry of entries) visit(entry)
    while (waiting.length > 0) await Promise.all(waiting.splice(0))
    return orderBreadthFirst(entries, found, includeDynamic)
  }

  /**
   * The closure from the cache alone, without rendering or waiting: undefined unless every
   * resource in it is cached and current. For work that must not delay the response (Early Hints).
   */
  cachedClosure(entries: ResourceRequest[], includeDynamic: boolean): ServedResource[] | undefined {
    const found = new Map<string, ServedResource | undefined>()
    const stack = [...entries]
    while (stack.length > 0) {
      const request = stack.pop()!
      const key = resourceKey(request)
      if (found.has(key)) continue
      const cached = this.peek(key)
      if (!cached) return undefined
      found.set(key, cached)
      forEachImport(cached, includeDynamic, (next) => stack.push(next))
    }
    return orderBreadthFirst(entries, found, includeDynamic)
  }

  /** True while every one of these resources is still the cached, current response for its request. */
  allCurrent(resources: readonly ServedResource[]): boolean {
    return resources.every((resource) => this.peek(resource.key) === resource)
  }

  /** Drops every cached response (used when Vite restarts or the config changes). */
  clear(): void {
    this.cache.clear()
    this.cachedBytes = 0
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
    return this.peek(resource.key) !== resource && this.freshness.track(etag) === undefined
  }

  /**
   * Renders a request and caches the response while its source is trackable. A module response
   * Vite did not keep (its transform ran in the millisecond of an invalidation, which Vite's
   * timestamps cannot order, e.g. Vite 6 invalidating an inline script's proxy module on each
   * HTML request) is rendered once more, so it can be cached and announced early next time.
   */
  private async renderResource(
    key: string,
    request: ResourceRequest,
    retried = false,
  ): Promise<ServedResource | undefined> {
    await this.acquireRenderSlot()
    let response: RenderedResponse
    try {
      response = await this.render(request)
    } catch (error) {
      this.debug?.(`could not render ${request.url}: ${(error as Error).message}`)
      return undefined
    } finally {
      this.releaseRenderSlot()
    }
    const resource = buildResource(key, request, response, this.debug)
    const etag = headerString(response.headers.etag)
    if (response.status !== 200 || etag === undefined) return resource
    const token = this.freshness.track(etag)
    if (token !== undefined) {
      this.store(key, { resource, token, bytes: response.body.length })
      return resource
    }
    if (retried || !(await this.freshness.isTrackable(request.url).catch(() => false))) return resource
    this.debug?.(`${request.url} changed while it rendered: rendering it again`)
    await new Promise((resolve) => setTimeout(resolve, 1))
    return (await this.renderResource(key, request, true)) ?? resource
  }

  private store(key: string, entry: CacheEntry): void {
    const previous = this.cache.get(key)
    if (previous) this.evict(key, previous)
    this.cache.set(key, entry)
    this.cachedBytes += entry.bytes
    for (const [oldKey, oldEntry] of this.cache) {
      if (this.cachedBytes <= this.maxCachedBytes || oldKey === key) break
      this.evict(oldKey, oldEntry)
    }
  }

  private evict(key: string, entry: CacheEntry): void {
    if (this.cache.get(key) !== entry) return
    this.cache.delete(key)
    this.cachedBytes -= entry.bytes
  }

  private acquireRenderSlot(): Promise<void> {
    if (this.activeRenders < RENDER_CONCURRENCY) {
      this.activeRenders++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.renderQueue.push(resolve))
  }

  private releaseRenderSlot(): void {
    const next = this.renderQueue.shift()
    if (next) next()
    else this.activeRenders--
  }
}

function buildResource(
  key: string,
  request: ResourceRequest,
  response: RenderedResponse,
  debug: Debug,
): ServedResource {
  const resource: ServedResource = {
    ...request,
    key,
    response,
    version:
      headerString(response.headers.etag) ?? `"sha1-${createHash('sha1').update(response.body).digest('base64url')}"`,
    staticImports: [],
    dynamicImports: [],
  }
  if (response.status !== 200 || !isJavaScript(response)) return resource
  let imports
  try {
    imports = lexImports(response.body.toString('utf8'))
  } catch (error) {
    debug?.(`could not lex ${request.url} (its imports are not pushed): ${(error as Error).message}`)
    return resource
  }
  resource.staticImports = resolveAll(imports.static, request.url)
  resource.dynamicImports = resolveAll(imports.dynamic, request.url)
  return resource
}

function resolveAll(specifiers: string[], importerUrl: string): string[] {
  const urls = new Set<string>()
  for (const specifier of specifiers) {
    const url = resolveRequestUrl(specifier, importerUrl)
    if (url !== undefined) urls.add(url)
  }
  return [...urls]
}

function forEachImport(
  resource: ServedResource,
  includeDynamic: boolean,
  visit: (request: ResourceRequest) => void,
): void {
  for (const url of resource.staticImports) visit({ url, as: 'script' })
  if (includeDynamic) for (const url of resource.dynamicImports) visit({ url, as: 'script' })
}

function orderBreadthFirst(
  entries: ResourceRequest[],
  found: Map<string, ServedResource | undefined>,
  includeDynamic: boolean,
): ServedResource[] {
  const ordered: ServedResource[] = []
  const seen = new Set<string>()
  const queue: ServedResource[] = []
  const enqueue = (request: ResourceRequest) => {
    const key = resourceKey(request)
    if (seen.has(key)) return
    seen.add(key)
    const resource = found.get(key)
    if (resource) queue.push(resource)
  }
  for (const entry of entries) enqueue(entry)
  for (let i = 0; i < queue.length; i++) {
    const resource = queue[i]!
    ordered.push(resource)
    forEachImport(resource, includeDynamic, enqueue)
  }
  return ordered
}

/** True for a response served as JavaScript (what es-module-lexer reads and modulepreload fetches). */
export function isJavaScript(response: RenderedResponse): boolean {
  const type = headerString(response.headers['content-type']) ?? ''
  return /\b(?:java|ecma)script\b/i.test(type)
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
