import type MagicString from 'magic-string'
import type { ServedResource } from '../graph/served-resource.js'
import type { PageEntries } from '../html/page-entries.js'
import { insertModulePreloads } from '../html/preload-links.js'
import { moduleResources } from './modules.js'

/**
 * Adds a `<link rel="modulepreload">` for each module of the closure the page does not load
 * already, with the href `hrefOf` gives (the module's URL, or its versioned URL). Returns how
 * many were added.
 */
export function addPreloadLinks(
  edit: MagicString,
  page: PageEntries,
  closure: readonly ServedResource[],
  hrefOf: (resource: ServedResource) => string = (resource) => resource.url,
): number {
  const modules = moduleResources(closure)
  const byUrl = new Map(modules.map((resource) => [resource.url, resource]))
  return insertModulePreloads(
    edit,
    page,
    modules.map((resource) => resource.url),
    (url) => hrefOf(byUrl.get(url)!),
  )
}
