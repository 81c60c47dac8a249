/**
 * The URL forms a page load may teach {@link LearnedClosure}: what Vite and its framework plugins
 * put into served code, and nothing a client made up. Pure checks on the URL text only; whether a
 * file is behind it and whether Vite served it is {@link createLearnableRequests}'s job.
 */

/** Longest URL (path + query, in bytes) that is learned: room for a deep `/@fs/` path, not for padding. */
const MAX_LEARNED_URL_BYTES = 1024

/**
 * Query keys that Vite and framework plugins put on the URLs they serve:
 * - Vite: `t` (HMR timestamp), `v` (optimized dependency hash), `import`, `direct`, `raw`, `url`,
 *   `inline`, `no-inline`, `worker`, `sharedworker`, `worker_file` + `type`, `html-proxy` +
 *   `index` (+ `inline-css`, `style-attr`), `used`, `init`, `source` (wasm);
 * - Svelte (`?svelte&type=style&lang.css`), Vue (`?vue&type=…&index=…&setup=…&scoped=…&src=…&module=…`),
 *   Astro (`?astro&type=script&index=0&lang.ts`), React Router (`?client-route=1`, `?route-chunk=…`);
 * - `lang.<ext>` (any of Vite's languages), checked apart.
 */
const VITE_QUERY_KEYS = new Set([
  't',
  'v',
  'import',
  'direct',
  'raw',
  'url',
  'inline',
  'no-inline',
  'worker',
  'sharedworker',
  'worker_file',
  'type',
  'html-proxy',
  'index',
  'inline-css',
  'style-attr',
  'used',
  'init',
  'source',
  'svelte',
  'vue',
  'astro',
  'setup',
  'scoped',
  'src',
  'module',
  'client-route',
  'route-chunk',
])

/** A value Vite or a framework plugin puts there: a hash, a number, a name (`0.js`, `module`, `clientLoader`). */
const QUERY_VALUE = /^[\w.-]{0,64}$/

/** Why a URL is not learned, for the debug log; undefined when its form is one Vite serves. */
export function unlearnableForm(url: string): string | undefined {
  if (Buffer.byteLength(url) > MAX_LEARNED_URL_BYTES) return `longer than ${MAX_LEARNED_URL_BYTES} bytes`
  const queryStart = url.indexOf('?')
  const path = queryStart === -1 ? url : url.slice(0, queryStart)
  const query = queryStart === -1 ? undefined : url.slice(queryStart + 1)
  const pathProblem = unlearnablePath(path)
  if (pathProblem) return pathProblem
  return query === undefined ? undefined : unlearnableQuery(query)
}

/** A path as Vite writes it: absolute, no `.`/`..`/empty segments (also once decoded), no `#`, `\` or NUL. */
function unlearnablePath(path: string): string | undefined {
  if (!path.startsWith('/')) return 'not a root-absolute path'
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return 'a malformed escape'
  }
  for (const form of [path, decoded]) {
    if (/[#\\\0]/.test(form)) return 'a #, \\ or NUL in the path'
    const segments = form.slice(1).split('/')
    if (
      segments.some((segment, i) => segment === '.' || segment === '..' || (segment === '' && i < segments.length - 1))
    )
      return 'an empty, . or .. segment'
  }
  return undefined
}

/** A query of Vite's own keys, each at most once, with short plain values (`t` digits only). */
function unlearnableQuery(query: string): string | undefined {
  if (query === '') return 'an empty query'
  const seen = new Set<string>()
  for (const part of query.split('&')) {
    const equals = part.indexOf('=')
    const key = equals === -1 ? part : part.slice(0, equals)
    const value = equals === -1 ? '' : part.slice(equals + 1)
    if (!VITE_QUERY_KEYS.has(key) && !/^lang\.\w{1,16}$/.test(key)) return `the query key ${JSON.stringify(key)}`
    if (seen.has(key)) return `the query key ${JSON.stringify(key)} twice`
    seen.add(key)
    if (!QUERY_VALUE.test(value) || (key === 't' && !/^\d+$/.test(value))) return `the value of ${JSON.stringify(key)}`
  }
  return undefined
}

/** A URL path that names a virtual module Vite serves (`/@id/…`, `/@vite/client`, `/@react-refresh`): no file on disk. */
export function isVirtualModulePath(pathWithoutBase: string): boolean {
  return /^\/@(?!fs\/)[^/]/.test(pathWithoutBase)
}
