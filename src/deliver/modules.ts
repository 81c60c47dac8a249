import type { ServedResource } from '../graph/served-resource.js'
import { isJavaScript } from '../render/captured-response.js'

/** The closure's JavaScript modules that answered 200 (what modulepreload and import maps can name), in push order. */
export function moduleResources(closure: readonly ServedResource[]): ServedResource[] {
  return closure.filter(
    (resource) => resource.as === 'script' && resource.response.status === 200 && isJavaScript(resource.response),
  )
}
