import type { ServedResource } from '../graph/served-resource.js'
import type { PageEntries } from '../html/page-entries.js'
import { insertModulePreloads } from '../html/preload-links.js'
import { moduleResources } from './modules.js'

/** The page's HTML with a `<link rel="modulepreload">` for each module of the closure it does not load already. */
export function addPreloadLinks(
  html: string,
  page: PageEntries,
  closure: readonly ServedResource[],
): { html: string; added: number } {
  return insertModulePreloads(
    html,
    page,
    moduleResources(closure).map((resource) => resource.url),
  )
}
