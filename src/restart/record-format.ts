import type { ResourceKind, ResourceRequest } from '../graph/resource-request.js'

/** The format of the record file; a record of another format is ignored. */
export const RECORD_FORMAT = 2

/** Most modules a record holds (about 200 bytes each); the least recently loaded pages go first. */
export const MAX_RECORDED_MODULES = 20_000
/** Most pages a record holds. */
export const MAX_RECORDED_PAGES = 100

/** What a module's served version was derived from on disk, as it was when the version was recorded. */
export interface RecordedFile {
  path: string
  size: number
  mtimeMs: number
  /** sha1 of the content, base64url. */
  sha1: string
}

/** One response as it was served: enough for an import map entry and a modulepreload link, no body. */
export interface RecordedModule extends ResourceRequest {
  /** The response's ETag (what its version token is a hash of). */
  version: string
  contentType: string
  cacheControl: string
  /** Indexes into {@link RestartRecordData.files}: the module's own file, then the files Vite says it depends on. */
  files: number[]
  /** The optimizer hashes (`?v=`) its URL and its imports carry: it is current only while Vite's is the same. */
  pins: string[]
}

/** Most {@link RecordedPage.fetched} URLs kept per page. */
export const MAX_FETCHED_PER_PAGE = 50

/** One page: the entries its HTML had, and its closure (module keys, in push order). */
export interface RecordedPage {
  url: string
  entries: ResourceRequest[]
  closure: string[]
  /**
   * Scripts of its closure the record cannot vouch for (`/@vite/client`, Vite's `env.mjs`, other
   * virtual modules), which the browser fetches at their own URL after a restart: the server
   * transforms them as soon as it listens (at most {@link MAX_FETCHED_PER_PAGE}).
   */
  fetched: string[]
  /** When the page was last loaded (ms since the epoch): the least recent go first when the record is full. */
  loadedAt: number
}

/** The record file's content. */
export interface RestartRecordData {
  format: typeof RECORD_FORMAT
  /** The plugin's version; a record of another version is ignored. */
  plugin: string
  /** A hash of everything global that changes served code (Vite's version, the config, the plugins). */
  inputs: string
  pages: RecordedPage[]
  /** By key (`style:` + URL for a stylesheet, else the URL). */
  modules: Record<string, RecordedModule>
  files: RecordedFile[]
}

/** The record in `text`, or why it cannot be used (corrupt, another format or plugin version). */
export function parseRecord(text: string, pluginVersion: string): RestartRecordData | string {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return `not JSON (${(error as Error).message})`
  }
  if (!isObject(data) || data.format !== RECORD_FORMAT) return 'another format'
  if (data.plugin !== pluginVersion) return `written by version ${String(data.plugin)}, this is ${pluginVersion}`
  if (typeof data.inputs !== 'string' || !Array.isArray(data.pages) || !isObject(data.modules)) return 'malformed'
  if (!Array.isArray(data.files) || !data.files.every(isRecordedFile)) return 'malformed files'
  const fileCount = data.files.length
  for (const module of Object.values(data.modules)) if (!isRecordedModule(module, fileCount)) return 'malformed module'
  if (!data.pages.every(isRecordedPage)) return 'malformed page'
  return data as unknown as RestartRecordData
}

/**
 * The record cut to its bounds: the most recently loaded {@link MAX_RECORDED_PAGES} pages that fit
 * in {@link MAX_RECORDED_MODULES} modules, only the modules and files they use.
 */
export function boundRecord(data: RestartRecordData): RestartRecordData {
  const pages = [...data.pages].sort((a, b) => b.loadedAt - a.loadedAt).slice(0, MAX_RECORDED_PAGES)
  const kept: RecordedPage[] = []
  const modules: Record<string, RecordedModule> = {}
  let moduleCount = 0
  for (const page of pages) {
    const added = page.closure.filter((key) => data.modules[key] && !modules[key])
    if (moduleCount + added.length > MAX_RECORDED_MODULES) continue
    for (const key of added) modules[key] = { ...data.modules[key]! }
    moduleCount += added.length
    kept.push({ ...page, closure: page.closure.filter((key) => data.modules[key]) })
  }
  // renumber the files the kept modules use
  const files: RecordedFile[] = []
  const index = new Map<number, number>()
  for (const module of Object.values(modules)) {
    module.files = module.files.map((old) => {
      let now = index.get(old)
      if (now === undefined) {
        now = files.push(data.files[old]!) - 1
        index.set(old, now)
      }
      return now
    })
  }
  return { ...data, pages: kept, modules, files }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function isKind(value: unknown): value is ResourceKind {
  return value === 'script' || value === 'style'
}

function isRecordedFile(value: unknown): value is RecordedFile {
  return (
    isObject(value) &&
    typeof value.path === 'string' &&
    typeof value.size === 'number' &&
    typeof value.mtimeMs === 'number' &&
    typeof value.sha1 === 'string'
  )
}

function isRecordedModule(value: unknown, fileCount: number): value is RecordedModule {
  return (
    isObject(value) &&
    typeof value.url === 'string' &&
    isKind(value.as) &&
    typeof value.version === 'string' &&
    typeof value.contentType === 'string' &&
    typeof value.cacheControl === 'string' &&
    Array.isArray(value.pins) &&
    value.pins.every((pin) => typeof pin === 'string') &&
    Array.isArray(value.files) &&
    value.files.every((file) => Number.isInteger(file) && (file as number) >= 0 && (file as number) < fileCount)
  )
}

function isRecordedPage(value: unknown): value is RecordedPage {
  return (
    isObject(value) &&
    typeof value.url === 'string' &&
    typeof value.loadedAt === 'number' &&
    Array.isArray(value.entries) &&
    value.entries.every((entry) => isObject(entry) && typeof entry.url === 'string' && isKind(entry.as)) &&
    Array.isArray(value.closure) &&
    value.closure.every((key) => typeof key === 'string') &&
    Array.isArray(value.fetched) &&
    value.fetched.length <= MAX_FETCHED_PER_PAGE &&
    value.fetched.every((url) => typeof url === 'string')
  )
}
