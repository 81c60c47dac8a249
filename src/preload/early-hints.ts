import type { ServerResponse } from 'node:http'
import type { Debug } from '../debug.js'
import type { ServedResource } from '../graph/served-resource.js'
import { moduleResources } from './preload-links.js'

/** Sends one 103 Early Hints with a `modulepreload` link for each module of the closure known before the HTML is ready. */
export function sendEarlyHints(
  res: ServerResponse,
  closure: readonly ServedResource[],
  hrefOf: (resource: ServedResource) => string,
  debug: Debug,
): void {
  if (typeof res.writeEarlyHints !== 'function') return
  const links = moduleResources(closure).map((resource) => `<${hrefOf(resource)}>; rel=modulepreload`)
  if (links.length === 0) return
  try {
    res.writeEarlyHints({ link: links })
  } catch (error) {
    debug?.(`could not send 103 Early Hints: ${(error as Error).message}`)
  }
}
