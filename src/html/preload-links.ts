import MagicString from 'magic-string'
import { escapeHtmlAttribute } from './entities.js'
import type { PageEntries } from './page-entries.js'

/**
 * Adds `<link rel="modulepreload">` for each module URL the page does not already load by a
 * module script or preload, in the given order, in the `<head>` before the first module script
 * (or at the end of the head when the first module script is in the body; before the first
 * module script, or at the top, for a page without a head). Returns the HTML (unchanged when
 * there is nothing to add) and how many links were added.
 */
export function insertModulePreloads(
  html: string,
  page: PageEntries,
  moduleUrls: readonly string[],
): { html: string; added: number } {
  const alreadyLoaded = new Set(page.entries.filter((entry) => entry.as === 'script').map((entry) => entry.url))
  const added = new Set<string>()
  for (const url of moduleUrls) {
    if (!alreadyLoaded.has(url)) added.add(url)
  }
  if (added.size === 0) return { html, added: 0 }
  const links = [...added].map((url) => `<link rel="modulepreload" href="${escapeHtmlAttribute(url)}">`)
  const position = insertionPoint(html, page)
  const edited = new MagicString(html)
  edited.appendLeft(position, `${links.join('\n')}\n`)
  return { html: edited.toString(), added: added.size }
}

function insertionPoint(html: string, page: PageEntries): number {
  const { firstModuleScriptStart, headContentStart, headEnd } = page
  if (headContentStart !== -1) {
    const scriptInHead = firstModuleScriptStart !== -1 && (headEnd === -1 || firstModuleScriptStart < headEnd)
    if (scriptInHead) return firstModuleScriptStart
    return headEnd !== -1 ? headEnd : headContentStart
  }
  if (firstModuleScriptStart !== -1) return firstModuleScriptStart
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html)
  return doctype ? doctype[0].length : 0
}
