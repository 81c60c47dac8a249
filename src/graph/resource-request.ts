import type { IncomingHttpHeaders } from 'node:http'

/** How the browser requests a resource: as a module script, or as a stylesheet (`Accept: text/css`). */
export type ResourceKind = 'script' | 'style'

/** One request the page makes: a URL and the way it is fetched. */
export interface ResourceRequest {
  url: string
  as: ResourceKind
}

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

/**
 * The inverse of {@link requestHeadersFor}: the kind of resource a browser's request asks for,
 * when its headers select the same form a render of that kind got (`Sec-Fetch-Dest: script`
 * without `Accept: text/css`, or `style` with it); undefined for any other request.
 */
export function resourceKindRequested(headers: IncomingHttpHeaders): ResourceKind | undefined {
  const wantsCss = String(headers.accept ?? '').includes('text/css')
  const destination = headers['sec-fetch-dest']
  if (destination === 'script' && !wantsCss) return 'script'
  if (destination === 'style' && wantsCss) return 'style'
  return undefined
}
