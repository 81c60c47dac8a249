import type { ServerResponse } from 'node:http'
import type { Debug } from '../debug.js'
import type { ServedResource } from '../graph/served-resource.js'
import { linkTarget } from './link-target.js'
import { moduleResources } from './preload-links.js'

/**
 * Sends one 103 Early Hints with a `modulepreload` link for each module of the closure known
 * before the HTML is ready. Each URL is made safe for the header by `linkTarget`, which leaves out
 * a URL it cannot write unambiguously.
 */
export function sendEarlyHints(
  res: ServerResponse,
  closure: readonly ServedResource[],
  hrefOf: (resource: ServedResource) => string,
  debug: Debug,
): void {
  if (typeof res.writeEarlyHints !== 'function') return
  const links: string[] = []
  for (const resource of moduleResources(closure)) {
    const href = hrefOf(resource)
    const target = linkTarget(href)
    if (target !== undefined) links.push(`<${target}>; rel=modulepreload`)
    else debug?.(`103 Early Hints: left out ${JSON.stringify(href)}, whose , or ; a Link header parser may split at`)
  }
  if (links.length === 0) return
  try {
    res.writeEarlyHints({ link: links })
  } catch (error) {
    debug?.(`could not send 103 Early Hints: ${(error as Error).message}`)
  }
}
