import type MagicString from 'magic-string'
import type { ServedResource } from '../graph/served-resource.js'
import { attributeValueText } from '../html/entities.js'
import { resolveRequestUrl } from '../graph/resolve-url.js'
import { insertImportMap, type OwnImportMap } from '../html/import-map-tag.js'
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
  pageUrl: string,
): { mapped: number; ownTargets: Set<string> } | undefined {
  const imports: Record<string, string> = {}
  for (const resource of moduleResources(closure))
    if (isVersionable(resource)) imports[resource.url] = versionedUrl(resource)
  const own = insertImportMap(edit, page, imports)
  if (!own) return undefined
  const byKey = new Map(closure.map((resource) => [`${resource.as} ${resource.url}`, resource]))
  for (const attribute of page.urlAttributes) {
    const resource = byKey.get(`${attribute.as} ${attribute.url}`)
    if (resource && isVersionable(resource) && attribute.end > attribute.start)
      edit.overwrite(attribute.start, attribute.end, attributeValueText(versionedHref(resource), attribute.quote))
  }
  return { mapped: Object.keys(imports).length, ownTargets: targetsOf(own, pageUrl) }
}

/** The URLs a page's own import map maps specifiers to (in `imports` and every scope). */
function targetsOf(own: OwnImportMap, pageUrl: string): Set<string> {
  const targets = new Set<string>()
  const values = [
    ...Object.values(own.imports ?? {}),
    ...Object.values(own.scopes ?? {}).flatMap((scope) => Object.values(scope ?? {})),
  ]
  for (const value of values) {
    const url = typeof value === 'string' ? resolveRequestUrl(value, pageUrl) : undefined
    if (url) targets.add(url)
  }
  return targets
}
