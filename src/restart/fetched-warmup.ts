import type { ViteDevServer } from 'vite'
import type { Debug } from '../debug.js'
import type { DeliveryGuard } from '../graph/served-graph.js'
import { toModuleUrl } from '../graph/vite-freshness.js'

/** Most URLs one call starts transforming. */
const MAX_WARMED = 200

/**
 * Starts Vite's transform of module URLs the browser is about to request at their own URL: after
 * a restart, the scripts the record cannot vouch for (`/@vite/client`, Vite's `env.mjs`, other
 * virtual modules, files changed while the server was down). Their requests then find the result
 * in Vite's module graph (Vite's own `server.warmup` works the same way), instead of waiting one
 * after another for transforms the server only starts when each is asked for. Only URLs the
 * plugin's `server.fs` guard allows (Vite's warm-up skips its own check), none with an HMR
 * timestamp; a failed transform is Vite's to report, as for its own warm-up. Returns the URLs
 * it started, in order.
 */
export function warmModuleUrls(
  server: ViteDevServer,
  guard: DeliveryGuard,
  urls: Iterable<string>,
  debug: Debug,
): string[] {
  const started: string[] = []
  for (const url of new Set(urls)) {
    if (started.length >= MAX_WARMED) break
    if (/[?&]t=\d/.test(url) || !guard.allowsUrl(url)) continue
    const moduleUrl = toModuleUrl(url, server.config.base)
    if (moduleUrl === undefined) continue
    // the form Vite's transform middleware looks a request up by (`?import` taken off)
    void server.warmupRequest(moduleUrl.replace(/([?&])import=?(?:&|$)/, '$1').replace(/[?&]$/, ''))
    started.push(url)
  }
  if (started.length > 0) debug?.(`transforming ahead of their requests: ${started.join(', ')}`)
  return started
}
