import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerHttp2Stream } from 'node:http2'
import type { PushTarget } from '../push/page-push.js'
import type { ResolvedOptions } from '../options.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import { pushWindow } from '../push/push-resources.js'
import { authorityOf } from '../graph/request-url.js'

/** How one HTML response gets its closure to the client. */
export interface DeliveryChoice {
  /** Where to push, when this client takes pushes. */
  push: PushTarget | undefined
  /** Whether to put the closure into the HTML (modulepreload links, import map). */
  links: boolean
}

/**
 * Push when the mode and the connection allow it (a client that kept resetting pushes counts as
 * refusing them); links in the HTML otherwise (in auto) or always (in preload).
 */
export function chooseDelivery(
  options: ResolvedOptions,
  connections: ConnectionPushRegistry,
  req: IncomingMessage,
  res: ServerResponse,
): DeliveryChoice {
  const stream = (res as unknown as { stream?: ServerHttp2Stream }).stream
  const wantsPush = (options.mode === 'auto' || options.mode === 'push') && options.maxPushes > 0
  const state =
    wantsPush &&
    stream?.session !== undefined &&
    stream.pushAllowed &&
    pushWindow(stream.session.remoteSettings.maxConcurrentStreams) >= 1
      ? connections.forSession(stream.session)
      : undefined
  const push = stream && state && !state.refusesPush ? { stream, state, authority: authorityOf(req) } : undefined
  const links = options.mode === 'preload' || (options.mode === 'auto' && !push)
  return { push, links }
}
