import type { IncomingMessage } from 'node:http'
import type { ServedResource } from '../graph/served-resource.js'
import type { CompressionMode } from '../options.js'
import { encodingFor, isCompressible, type EncodedBodies } from './compression.js'
import { externalForm, wantsExternalMap } from './external-source-map.js'

/** The bytes of a page's closure: as Vite sends them, and as the plugin's cache will send them to this client. */
export interface DeliveredBytes {
  modules: number
  vite: number
  sent: number
}

/**
 * Compresses the closure's bodies for the client that made this page request (as its own headers
 * suggest: a browser gets external maps; its `Accept-Encoding`), so the module requests that
 * follow the HTML find them ready, and returns what the closure then costs that client.
 */
export async function precompressClosure(
  req: IncomingMessage,
  resources: readonly ServedResource[],
  options: { externalSourceMaps: boolean; compression: CompressionMode; bodies: EncodedBodies },
): Promise<DeliveredBytes> {
  const external = options.externalSourceMaps && wantsExternalMap(req)
  const encoding = encodingFor(req, options.compression)
  const sizes = await Promise.all(
    resources.map(async (resource) => {
      if (resource.response.status !== 200) return 0
      const body = (external && externalForm(resource)?.body) || resource.response.body
      if (!encoding || !isCompressible(resource.response.headers['content-type'])) return body.length
      return ((await options.bodies.encode(body, encoding)) ?? body).length
    }),
  )
  return {
    modules: resources.length,
    vite: resources.reduce((sum, resource) => sum + resource.response.body.length, 0),
    sent: sizes.reduce((sum, size) => sum + size, 0),
  }
}
