import type { IncomingMessage } from 'node:http'
import type { ServedResource } from '../graph/served-resource.js'
import type { CompressionMode } from '../options.js'
import { acceptedEncoding, isCompressible, type EncodedBodies } from './compression.js'
import { clientOf, compressionChoice, describeChoice } from './compression-choice.js'
import { rttSettled } from './connection-rtt.js'
import { externalForm, wantsExternalMap } from './external-source-map.js'

/** The bytes of a page's closure: as Vite sends them, and as the plugin's cache will send them to this client. */
export interface DeliveredBytes {
  modules: number
  vite: number
  sent: number
  /** Whether this client's responses are compressed, and why (`compressed: RTT 41 ms`); none for `'off'`. */
  compression?: string
}

/** Longest the closure waits for the connection's round trip to settle whether it is compressed. */
const RTT_WAIT_MS = 1000

/**
 * Compresses the closure's bodies for the client that made this page request (as its own headers
 * suggest: a browser gets external maps; its `Accept-Encoding`), so the module requests that
 * follow the HTML find them ready, and returns what the closure then costs that client. Call it
 * while the page's stream is open; the work starts once the HTML is on its way (it is for the
 * module requests that follow, and must not delay the page), and with `'auto'` after the
 * connection's round trip has settled whether it is a tunnel (briefly).
 */
export async function precompressClosure(
  req: IncomingMessage,
  resources: readonly ServedResource[],
  options: { externalSourceMaps: boolean; compression: CompressionMode; bodies: EncodedBodies },
): Promise<DeliveredBytes> {
  const client = clientOf(req)
  const external = options.externalSourceMaps && wantsExternalMap(req)
  await new Promise<void>((resolve) => setImmediate(resolve))
  if (options.compression === 'auto') await rttSettled(client.session, RTT_WAIT_MS)
  const choice = compressionChoice(client, options.compression)
  const encoding = choice.compress ? acceptedEncoding(req) : undefined
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
    ...(options.compression === 'off' ? {} : { compression: describeChoice(choice) }),
  }
}
