import type { ResourceKind } from '../html/page-entries.js'

/**
 * The request headers that select the form Vite serves, as a browser sends them: CSS to a
 * stylesheet `<link>` (`Accept: text/css`), JavaScript to a module script or an import.
 * Used both to render a resource and in its PUSH_PROMISE, so the two always agree.
 */
export function requestHeadersFor(as: ResourceKind): Record<string, string> {
  return as === 'style'
    ? { accept: 'text/css,*/*;q=0.1', 'sec-fetch-dest': 'style' }
    : { accept: '*/*', 'sec-fetch-dest': 'script' }
}
