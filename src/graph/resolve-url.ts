const BASE = 'http://vite.invalid'

/**
 * Resolves an import specifier or HTML attribute the way the browser will, relative to the URL of
 * the module or page that holds it. Returns the request path + query (percent-encoded, no
 * fragment), or undefined for what the dev server will not be asked for: bare specifiers,
 * other origins, `data:`/`blob:` URLs.
 */
export function resolveRequestUrl(specifier: string, importerUrl: string): string | undefined {
  const trimmed = specifier.trim()
  if (trimmed === '') return undefined
  const isRelative = trimmed.startsWith('./') || trimmed.startsWith('../') || trimmed === '.' || trimmed === '..'
  const isRootAbsolute = trimmed.startsWith('/') && !trimmed.startsWith('//')
  if (!isRelative && !isRootAbsolute) return undefined
  let resolved: URL
  try {
    resolved = new URL(trimmed, new URL(importerUrl, BASE))
  } catch {
    return undefined
  }
  if (resolved.origin !== BASE) return undefined
  return resolved.pathname + resolved.search
}

/** The path of a request URL without its query or fragment. */
export function stripQuery(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}
