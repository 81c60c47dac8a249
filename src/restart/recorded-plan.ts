import type { DeliveryGuard, ServedGraph } from '../graph/served-graph.js'
import type { ServedResource } from '../graph/served-resource.js'
import { versionToken } from '../serve/versioned-url.js'
import type { FileSnapshots } from './file-snapshots.js'
import type { RecordedModule, RecordedPage, RestartRecordData } from './record-format.js'

const EMPTY = Buffer.alloc(0)

/** A page's closure as far as the record can vouch for it now, without transforming anything. */
export interface RecordedClosure {
  /** In the recorded push order: current responses of the graph, else stand-ins for recorded ones still current on disk. */
  resources: ServedResource[]
  /** The version token delivered from the record, by key (what a later check compares with fresh transforms). */
  fromRecord: Map<string, string>
}

/**
 * The recorded closure of `page`: for each module, the graph's current response when it has one;
 * else, when every file the recorded version came from is unchanged on disk and `server.fs` still
 * allows the URL and the `?v=` it carries is Vite's optimizer hash now, a body-less stand-in with the recorded status, headers and version (all an
 * import map entry or a modulepreload link needs). Modules with no file behind them (virtual
 * modules, `/@vite/client`), or whose files changed, are left out: the browser requests them at
 * their own URL, and Vite serves them fresh.
 */
export async function recordedClosure(
  data: RestartRecordData,
  page: RecordedPage,
  graph: ServedGraph,
  guard: DeliveryGuard,
  snapshots: FileSnapshots,
  optimizerHash: string,
): Promise<RecordedClosure> {
  const fromRecord = new Map<string, string>()
  const found = await Promise.all(
    page.closure.map(async (key): Promise<ServedResource | undefined> => {
      const current = graph.currentOrDrop(key)
      if (current) return current
      const module = data.modules[key]
      if (!module || !guard.allowsUrl(module.url)) return undefined
      if (module.pins.some((pin) => pin !== optimizerHash)) return undefined
      const immutable = /\bimmutable\b/.test(module.cacheControl)
      if (!immutable && module.files.length === 0) return undefined
      const files = module.files.map((index) => data.files[index]!)
      if (!(await Promise.all(files.map((file) => snapshots.matches(file)))).every(Boolean)) return undefined
      const resource = standIn(key, module)
      fromRecord.set(key, versionToken(resource))
      return resource
    }),
  )
  return { resources: found.filter((resource) => resource !== undefined), fromRecord }
}

/** A resource with the recorded response's status, headers and version, and no body. */
function standIn(key: string, module: RecordedModule): ServedResource {
  return {
    url: module.url,
    as: module.as,
    key,
    response: {
      status: 200,
      headers: { 'content-type': module.contentType, 'cache-control': module.cacheControl, etag: module.version },
      body: EMPTY,
    },
    version: module.version,
    staticImports: [],
    dynamicImports: [],
  }
}
