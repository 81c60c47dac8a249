import type { IncomingMessage } from 'node:http'
import type { Connect } from 'vite'
import { isInProcessRequest } from '../render/in-process-request.js'
import { resourceKindRequested } from '../graph/resource-request.js'
import { parseVersionedUrl } from '../serve/versioned-url.js'
import { authorityOf, connectionOf, requestedUrl } from '../graph/request-url.js'
import type { LearnedClosure } from './learned-closure.js'
import type { LearnableRequests } from './learnable-requests.js'

/**
 * Records, for {@link LearnedClosure}, the script and style requests a page load makes: a GET with
 * a script or style `Sec-Fetch-Dest`, a same-origin `Referer` (not Vite's HMR client), on the
 * connection that loaded the page's HTML, while that load's window is open (a `Referer` alone,
 * from any other connection, teaches nothing). Only a URL of Vite's own forms that names a file
 * Vite may serve ({@link LearnableRequests.fileOf}), answered as a module or stylesheet by Vite
 * ({@link LearnableRequests.servedByVite}). Looks only at the request and, once it is answered,
 * its status and `Content-Type`; never changes either.
 */
export function createLearningMiddleware(
  learned: LearnedClosure,
  learnable: LearnableRequests,
): Connect.NextHandleFunction {
  return function http2PushLearningMiddleware(req, res, next) {
    if (req.method === 'GET' && !isInProcessRequest(req)) {
      const as = resourceKindRequested(req.headers)
      const referrer = as && sameOriginReferrer(req)
      // the HMR client's re-imports of an edited module (`?t=`) are not part of a page load: the
      // page's own importers may keep importing the module's plain form
      const fromPage = referrer !== undefined && !isViteClient(referrer)
      const window = fromPage ? learned.windowFor(connectionOf(req), referrer) : undefined
      const url = window && unversioned(requestedUrl(req))
      const file = url && learnable.fileOf(url)
      if (as && window && url && file) {
        res.once('finish', () => {
          const status = res.statusCode
          // a 200/304 that is not Vite's module or stylesheet (an SPA fallback's HTML) is neither learned nor forgets
          if ((status === 200 || status === 304) && !learnable.servedByVite(req, res, as)) return
          learned.record(window, { url, as }, status, file)
        })
      }
    }
    next()
  }
}

/** The path + query of the request's `Referer` when it names this server, else undefined. */
export function sameOriginReferrer(req: IncomingMessage): string | undefined {
  const referer = req.headers.referer
  const authority = authorityOf(req)
  if (typeof referer !== 'string' || !authority) return undefined
  try {
    const url = new URL(referer)
    return url.host === authority ? unversioned(url.pathname + url.search) : undefined
  } catch {
    return undefined
  }
}

/** Whether a path is Vite's client (`/@vite/client`, under any `base`), which runs HMR. */
function isViteClient(path: string): boolean {
  return /(^|\/)@vite\/client(\?|$)/.test(path)
}

/** A module's own URL, without the version an import map's versioned URL carries (that changes with every edit). */
function unversioned(url: string): string {
  return parseVersionedUrl(url)?.url ?? url
}
