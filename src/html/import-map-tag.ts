import type MagicString from 'magic-string'
import type { PageEntries } from './page-entries.js'
import { topPosition } from './preload-tags.js'

/** A page's own import map, as parsed once: its specifier → URL entries and scopes. */
export interface OwnImportMap {
  imports?: Record<string, unknown>
  scopes?: Record<string, Record<string, unknown>>
}

/**
 * Puts `imports` into the page's import map: merged into the page's own
 * `<script type="importmap">` (its entries win, its scopes stay), or as a new one before
 * anything that can load a module. Returns the page's own map (empty when it has none), or
 * undefined, changing nothing, when that map is not a JSON object with an object `imports` (or
 * none): merging into it would not be safe.
 */
export function insertImportMap(
  edit: MagicString,
  page: PageEntries,
  imports: Record<string, string>,
): OwnImportMap | undefined {
  if (!page.importMap) {
    edit.prependLeft(topPosition(edit.original, page), `<script type="importmap">${scriptJson({ imports })}</script>\n`)
    return {}
  }
  const { start, end } = page.importMap
  let own: unknown
  try {
    own = JSON.parse(edit.original.slice(start, end))
  } catch {
    return undefined
  }
  if (!isObject(own) || (own.imports !== undefined && !isObject(own.imports))) return undefined
  const merged = { ...own, imports: { ...imports, ...(own.imports as Record<string, unknown> | undefined) } }
  if (start === end) edit.appendLeft(start, scriptJson(merged))
  else edit.overwrite(start, end, scriptJson(merged))
  return own as OwnImportMap
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON that cannot end the script element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c')
}
