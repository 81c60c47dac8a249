import type MagicString from 'magic-string'
import type { ServedResource } from '../graph/served-resource.js'
import type { PageEntries } from '../html/page-entries.js'
import { insertModulePreloads } from '../html/preload-tags.js'
import { isJavaScript } from '../graph/rendered-response.js'

/**
 * Adds a `<link rel="modulepreload">` for each module of the closure the page does not load
 * already, with the href `hrefOf` gives (the module's URL, or its versioned URL); `fetchFirst`
 * (URLs the browser must ask the server for) go first, at their own URL. Returns how many were added.
 */
export function addPreloadLinks(
  edit: MagicString,
  page: PageEntries,
  closure: readonly ServedResource[],
  hrefOf: (resource: ServedResource) => string = (resource) => resource.url,
  fetchFirst: readonly string[] = [],
): number {
  const modules = moduleResources(closure)
  const byUrl = new Map(modules.map((resource) => [resource.url, resource]))
  return insertModulePreloads(
    edit,
    page,
    modules.map((resource) => resource.url),
    (url) => hrefOf(byUrl.get(url)!),
    fetchFirst,
  )
}

/** The closure's JavaScript modules that answered 200 (what modulepreload and import maps can name), in push order. */
export function moduleResources(closure: readonly ServedResource[]): ServedResource[] {
  return closure.filter(
    (resource) => resource.as === 'script' && resource.response.status === 200 && isJavaScript(resource.response),
  )
}
