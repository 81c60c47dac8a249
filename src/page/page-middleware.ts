import type { Connect } from 'vite'
import { isInProcessRequest } from '../render/in-process-request.js'
import { chooseDelivery } from './delivery-choice.js'
import { mayBeDocument } from './document-request.js'
import { hookHtmlResponse } from './html-response-hook.js'
import type { PageContext } from './page-context.js'
import { PageLoad } from './page-load.js'

/**
 * Starts a {@link PageLoad} for each request that may be an HTML page and gets its closure some
 * way (pushed to a client that takes pushes, else links in the HTML), and hooks its response so
 * that Vite's writes become the load's phases. Everything else passes untouched.
 */
export function createPageMiddleware(context: PageContext): Connect.NextHandleFunction {
  return function http2PushPageMiddleware(req, res, next) {
    if (isInProcessRequest(req) || !mayBeDocument(req)) return next()
    const choice = chooseDelivery(context.options, context.connections, req, res)
    if (!choice.push && !choice.links) return next()
    hookHtmlResponse(res, new PageLoad(context, req, res, choice))
    next()
  }
}
