import type MagicString from 'magic-string'
import { escapeHtmlAttribute } from './entities.js'
import type { PageEntries } from './page-entries.js'

/**
 * Adds `<link rel="modulepreload">` for each module URL the page does not already load by a
 * module script or preload, in the given order, in the `<head>` before the first module script
 * (or at the end of the head when the first module script is in the body; before the first
 * module script, or at the top, for a page without a head). `hrefs` maps a URL to the href to
 * write (a versioned URL, say). `fetchFirst`: URLs linked ahead of all others at their own URL,
 * even when the page loads them itself (the browser starts a link's fetch as it parses it, and
 * behind a thousand links answered from its cache, a module it must ask the server for would
 * wait). Returns how many links were added.
 */
export function insertModulePreloads(
  edit: MagicString,
  page: PageEntries,
  moduleUrls: readonly string[],
  href: (url: string) => string = (url) => url,
  fetchFirst: readonly string[] = [],
): number {
  const alreadyLoaded = new Set(page.entries.filter((entry) => entry.as === 'script').map((entry) => entry.url))
  const first = new Set(fetchFirst)
  const added = new Set<string>()
  for (const url of moduleUrls) {
    if (!alreadyLoaded.has(url) && !first.has(url)) added.add(url)
  }
  if (added.size + first.size === 0) return 0
  const links = [
    ...[...first].map((url) => `<link rel="modulepreload" href="${escapeHtmlAttribute(url)}">`),
    ...[...added].map((url) => `<link rel="modulepreload" href="${escapeHtmlAttribute(href(url))}">`),
  ]
  edit.appendLeft(preloadPosition(edit.original, page), `${links.join('\n')}\n`)
  return links.length
}

function preloadPosition(html: string, page: PageEntries): number {
  const { firstModuleScriptStart, headContentStart, headEnd } = page
  if (headContentStart !== -1) {
    const scriptInHead = firstModuleScriptStart !== -1 && (headEnd === -1 || firstModuleScriptStart < headEnd)
    if (scriptInHead) return firstModuleScriptStart
    return headEnd !== -1 ? headEnd : headContentStart
  }
  return topPosition(html, page)
}

/** Before anything that can load a module: the start of the head, else before the first module script, else after the doctype. */
export function topPosition(html: string, page: PageEntries): number {
  if (page.headContentStart !== -1) return page.headContentStart
  if (page.firstModuleScriptStart !== -1) return page.firstModuleScriptStart
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html)
  return doctype ? doctype[0].length : 0
}
