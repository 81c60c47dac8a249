import type { IncomingMessage } from 'node:http'
import type { Connect } from 'vite'
import { rewriteRequestUrl } from '../graph/request-url.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import type { VersionParam } from './versioned-url.js'

/**
 * A middleware to run first in the stack: takes the plugin's marker (`param`: the version of a
 * versioned URL, or of a source map URL) off a request URL, so every middleware after it (Vite's
 * host check, CORS, `base`, `server.fs`, other plugins, the transform) sees the module's own URL,
 * exactly as for a request without it. `onTaken` sees each one, with the URL as requested. The
 * plugin's own in-process renders pass untouched: they never enter its answer paths.
 */
export function createMarkerMiddleware(
  name: string,
  param: VersionParam,
  onTaken: (req: IncomingMessage, taken: { url: string; version: string }) => void,
): Connect.NextHandleFunction {
  const middleware: Connect.NextHandleFunction = (req, _res, next) => {
    const parsed = req.url === undefined || isInProcessRequest(req) ? undefined : param.take(req.url)
    if (parsed) {
      onTaken(req, { url: req.url!, version: parsed.version })
      rewriteRequestUrl(req, parsed.url)
    }
    next()
  }
  // Vite's DEBUG output and the stack name middlewares by their function's name
  Object.defineProperty(middleware, 'name', { value: name })
  return middleware
}
