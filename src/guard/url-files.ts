import path from 'node:path'

/** Where Vite looks for the file behind a request URL. */
export interface ServedPaths {
  root: string
  base: string
  /** Vite's resolved `publicDir`, or '' when it is off. */
  publicDir: string
}

/**
 * What a request URL can name on disk, in every way Vite's middlewares could read it:
 * - `/@fs/<absolute path>` (the raw fs and transform middlewares);
 * - `/@id/<absolute path>`; `/@id/__x00__…` and bare `/@id/<package>` name no file directly;
 * - any other path under `root` (transform, static) or the public dir;
 * always without `base`, without the query (`?import`, `?raw`, `?url`, `?inline`, `?worker`,
 * `?t=`, `?v=` … select a form of the same file), percent-decoded both as `decodeURI` and as
 * `decodeURIComponent` would. `'invalid'` for a URL outside `base`, with a malformed escape or a
 * null byte: nothing the plugin should deliver.
 */
export function filesForUrl(url: string, paths: ServedPaths): string[] | 'invalid' {
  const pathname = url.replace(/[?#].*$/s, '')
  if (!pathname.startsWith(paths.base) && `${pathname}/` !== paths.base) return 'invalid'
  const rest = `/${pathname.slice(paths.base.length)}`
  if (rest.startsWith('/@id/__x00__')) return []
  const decoded = decodings(rest)
  if (decoded === undefined) return 'invalid'
  const files = new Set<string>()
  for (const candidate of decoded) {
    if (candidate.includes('\0')) return 'invalid'
    if (candidate.startsWith('/@fs/')) files.add(path.resolve(candidate.slice('/@fs'.length)))
    else if (candidate.startsWith('/@id/')) {
      const id = candidate.slice('/@id/'.length)
      if (!path.isAbsolute(id)) continue // a package id Vite resolves like an import
      files.add(path.resolve(id))
      files.add(path.join(paths.root, id))
    } else {
      files.add(path.join(paths.root, candidate))
      if (paths.publicDir) files.add(path.join(paths.publicDir, candidate))
    }
  }
  return [...files]
}

/** The path decoded as `decodeURI` and as `decodeURIComponent` do; undefined when malformed. */
function decodings(text: string): string[] | undefined {
  try {
    return [...new Set([text, decodeURI(text), decodeURIComponent(text)])]
  } catch {
    return undefined
  }
}
