import { createHash } from 'node:crypto'
import type { Debug } from '../debug.js'
import { headerString, isJavaScript, type RenderedResponse } from './rendered-response.js'
import type { ResourceRequest } from './resource-request.js'
import { lexImports } from './lex-imports.js'
import { resolveRequestUrl } from './resolve-url.js'

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

/** The key of a request: its URL, or `style:` + URL for a stylesheet `<link>` (Vite serves CSS to it, JS to an import). */
export function resourceKey(request: ResourceRequest): string {
  return request.as === 'style' ? `style:${request.url}` : request.url
}

/** The served resource of a rendered response: its version, and for JavaScript its imports as request URLs. */
export function buildResource(request: ResourceRequest, response: RenderedResponse, debug: Debug): ServedResource {
  const resource: ServedResource = {
    ...request,
    key: resourceKey(request),
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
    debug?.(`could not lex ${request.url} (its imports are not delivered): ${(error as Error).message}`)
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

/**
 * False for a 200 that is neither JavaScript nor CSS: Vite did not serve it as a module or a
 * stylesheet (it is an app's API, a page, an image), so it is never delivered as one. Other
 * statuses pass: they are not delivered anyway, and tell the page's learning that a URL went away.
 */
export function isServedAsModuleOrStylesheet(response: RenderedResponse): boolean {
  if (response.status !== 200) return true
  return isJavaScript(response) || /\btext\/css\b/i.test(headerString(response.headers['content-type']) ?? '')
}

/** Calls `visit` with each import of the resource: the static ones, and the literal dynamic ones when asked. */
export function forEachImport(
  resource: ServedResource,
  includeDynamic: boolean,
  visit: (request: ResourceRequest) => void,
): void {
  for (const url of resource.staticImports) visit({ url, as: 'script' })
  if (includeDynamic) for (const url of resource.dynamicImports) visit({ url, as: 'script' })
}

/**
 * The resources found for a closure in push order: the entries first (document order), then
 * breadth-first over their imports. Cycles are visited once; what was not found is left out.
 */
export function orderBreadthFirst(
  entries: readonly ResourceRequest[],
  found: ReadonlyMap<string, ServedResource | undefined>,
  includeDynamic: boolean,
): ServedResource[] {
  const ordered: ServedResource[] = []
  const seen = new Set<string>()
  const enqueue = (request: ResourceRequest) => {
    const key = resourceKey(request)
    if (seen.has(key)) return
    seen.add(key)
    const resource = found.get(key)
    if (resource) ordered.push(resource)
  }
  for (const entry of entries) enqueue(entry)
  for (let i = 0; i < ordered.length; i++) forEachImport(ordered[i]!, includeDynamic, enqueue)
  return ordered
}
