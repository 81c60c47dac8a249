import path from 'node:path'
import type { EnvironmentModuleNode, ViteDevServer } from 'vite'
import { headerString } from '../graph/rendered-response.js'
import type { DeliveryGuard } from '../graph/served-graph.js'
import type { ServedResource } from '../graph/served-resource.js'
import { toModuleUrl } from '../graph/vite-freshness.js'
import type { FileSnapshots } from './file-snapshots.js'
import type { RecordedFile, RecordedModule } from './record-format.js'

/** A file changed this recently may not have reached Vite's watcher yet: its module is not recorded. */
const SETTLED_MS = 2_000
/** A module that depends on more files than this (a CSS file scanning the app) is not recorded. */
const MAX_FILES_PER_MODULE = 500

/** A module as it goes into the record, with its files as they are now. */
export interface CapturedModule {
  module: Omit<RecordedModule, 'files'>
  files: RecordedFile[]
}

/**
 * What the record can vouch for after a restart, or undefined for a response it cannot:
 * - not a 200, or no file behind it: virtual modules (`/@id/`, `\0`), `/@vite/client` and
 *   `/@vite/env` (a per-start token, the config), `/@react-refresh`, inline scripts (`html-proxy`);
 * - Vite's client files (`vite/dist/client/`): Vite writes the config's `define` into `env.mjs`;
 * - code carrying an HMR timestamp (`?t=`): a restarted Vite serves it without;
 * - a file, or a file Vite's module graph says the module depends on (a CSS file's imports and
 *   PostCSS dependencies), that `server.fs` denies, that is gone, or that changed in the last
 *   {@link SETTLED_MS} (so a change Vite's watcher has not reported yet cannot pair new content
 *   with an old version).
 * What `?v=` already makes immutable (optimized deps) is recorded without files; every module
 * keeps the `?v=` hashes it carries, and is current only while Vite's optimizer hash is the same.
 */
export async function captureModule(
  resource: ServedResource,
  server: ViteDevServer,
  guard: DeliveryGuard,
  snapshots: FileSnapshots,
): Promise<CapturedModule | undefined> {
  const { response } = resource
  if (response.status !== 200 || !recordableUrl(resource)) return undefined
  const module = {
    url: resource.url,
    as: resource.as,
    version: resource.version,
    contentType: headerString(response.headers['content-type']) ?? '',
    cacheControl: headerString(response.headers['cache-control']) ?? '',
    pins: optimizerPins(resource),
  }
  if (/\bimmutable\b/.test(module.cacheControl)) return { module, files: [] }
  const paths = await filesBehind(resource.url, server)
  if (!paths || paths.length > MAX_FILES_PER_MODULE) return undefined
  const base = server.config.base
  const settled = Date.now() - SETTLED_MS
  const files: RecordedFile[] = []
  for (const file of paths) {
    if (!guard.allowsUrl(`${base}@fs${file}`)) return undefined
    const snapshot = await snapshots.fresh(file)
    if (!snapshot || snapshot.mtimeMs > settled) return undefined
    files.push(snapshot)
  }
  return { module, files }
}

/** The `?v=` hashes the module's URL and its imports carry (Vite's optimizer hash, for dependencies). */
function optimizerPins(resource: ServedResource): string[] {
  const pins = new Set<string>()
  for (const url of [resource.url, ...resource.staticImports, ...resource.dynamicImports]) {
    const pin = /[?&]v=([\w-]+)(?:&|$)/.exec(url)?.[1]
    if (pin) pins.add(pin)
  }
  return [...pins]
}

function recordableUrl(resource: ServedResource): boolean {
  const urls = [resource.url, ...resource.staticImports, ...resource.dynamicImports]
  if (urls.some((url) => /[?&]t=\d+(?:&|$)/.test(url))) return false
  return !/\/@(?:id|vite|react-refresh)\b|__x00__|\0|[?&]html-proxy\b|\/vite\/dist\/client\//.test(resource.url)
}

/** The module's own file, then the files of what Vite's module graph says it imports; undefined without an own file. */
async function filesBehind(url: string, server: ViteDevServer): Promise<string[] | undefined> {
  const node = await moduleOf(url, server)
  if (!node || !isRealPath(node.file)) return undefined
  const depsDir = path.resolve(server.config.root, server.config.cacheDir, 'deps')
  const files = new Set([node.file])
  for (const imported of node.importedModules) {
    const file = imported.file
    if (isRealPath(file) && !file.startsWith(`${depsDir}/`)) files.add(file)
  }
  return [...files]
}

/**
 * Vite's module for a request URL: looked up by the URL Vite keys it by (without `?import`,
 * `?direct`), else resolved (which fails while the server closes, when the record is written last).
 */
async function moduleOf(url: string, server: ViteDevServer): Promise<EnvironmentModuleNode | undefined> {
  const moduleGraph = server.environments.client.moduleGraph
  const moduleUrl = toModuleUrl(url, server.config.base)
  if (moduleUrl === undefined) return undefined
  const plain = moduleUrl.replace(/([?&])(?:import|direct)(?=&|$)/g, '$1').replace(/[?&]+$|(?<=\?)&+/g, '')
  const known = moduleGraph.urlToModuleMap.get(moduleUrl) ?? moduleGraph.urlToModuleMap.get(plain)
  return known ?? (await moduleGraph.getModuleByUrl(moduleUrl).catch(() => undefined))
}

function isRealPath(file: string | null | undefined): file is string {
  return typeof file === 'string' && path.isAbsolute(file) && !file.includes('\0')
}
