import type { Connect } from 'vite'
import { runAsRenderOwner } from '../graph/render-slots.js'
import { connectionOf } from '../graph/request-url.js'
import { isInProcessRequest } from '../render/in-process-request.js'

/**
 * Runs the rest of the stack for a client's request with its connection (HTTP/2 session, or
 * socket for HTTP/1.1) as the owner of every render the request starts: a page load's closure,
 * a versioned or source map URL. The render slots are bounded per owner, so one connection can
 * never hold them all (see `RenderSlots`).
 */
export function createRenderOwnerMiddleware(): Connect.NextHandleFunction {
  return function http2PushRenderOwnerMiddleware(req, _res, next) {
    const owner = isInProcessRequest(req) ? undefined : connectionOf(req)
    if (owner) runAsRenderOwner(owner, next)
    else next()
  }
}
