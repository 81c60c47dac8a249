import type MagicString from 'magic-string'
import type { ServedResource } from '../graph/served-resource.js'
import { attributeValueText } from '../html/entities.js'
import { insertImportMap } from '../html/import-map-tag.js'
import type { PageEntries } from '../html/page-entries.js'
import { isVersionable, versionedHref, versionedUrl } from '../serve/versioned-url.js'
import { moduleResources } from './preload-links.js'

/**
 * Makes unchanged modules cost no request on a reload: maps each module URL of the closure to
 * its versioned URL (answered `immutable` while that version is current) in the page's import
 * map, and rewrites the page's own module script `src`, modulepreload and stylesheet `href`
 * attributes the same way (import maps apply only to specifiers). The module bodies stay
 * byte for byte as Vite serves them; an edit changes one entry. What is immutable already (`?v=`
 * deps) keeps its URL: other deliveries name resources with `versionedHref` to match. Undefined, with nothing changed, when the page's own import map cannot be
 * merged safely.
 */
export function addImportMap(
  edit: MagicString,
  page: PageEntries,
  closure: readonly ServedResource[],
): { mapped: number } | undefined {
  const imports: Record<string, string> = {}
  for (const resource of moduleResources(closure))
    if (isVersionable(resource)) imports[resource.url] = versionedUrl(resource)
  if (!insertImportMap(edit, page, imports)) return undefined
  const byKey = new Map(closure.map((resource) => [`${resource.as} ${resource.url}`, resource]))
  for (const attribute of page.urlAttributes) {
    const resource = byKey.get(`${attribute.as} ${attribute.url}`)
    if (resource && isVersionable(resource) && attribute.end > attribute.start)
      edit.overwrite(attribute.start, attribute.end, attributeValueText(versionedHref(resource), attribute.quote))
  }
  return { mapped: Object.keys(imports).length }
}
