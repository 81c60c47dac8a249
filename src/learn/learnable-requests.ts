import fs from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ViteDevServer } from 'vite'
import type { Debug } from '../debug.js'
import type { DeliveryGuard } from '../graph/served-graph.js'
import { stripQuery } from '../graph/resolve-url.js'
import { headerString } from '../graph/rendered-response.js'
import type { ResourceKind } from '../graph/resource-request.js'
import { filesForUrl, type ServedPaths } from '../guard/url-files.js'
import { createProxiedUrlMatcher } from '../guard/proxied-url.js'
import { isVirtualModulePath, unlearnableForm } from './learnable-url.js'

/** What may be learned from a page load's requests, and what Vite's answer must have been. */
export interface LearnableRequests {
  /**
   * The file a request URL names, when the URL may be learned: one of Vite's own URL forms (see
   * {@link unlearnableForm}), not one `server.proxy` handles, naming a file on disk that the fs
   * guard allows (`server.fs.allow`, `deny`), or a virtual module (`/@id/…`, `/@vite/…`, named
   * by its path). Undefined for any other URL. Different forms of one file name the same file.
   */
  fileOf(url: string): string | undefined
  /**
   * Whether the answer was a module or stylesheet Vite served: a 200 with a JavaScript (a script
   * request) or CSS (a stylesheet request) `Content-Type`, or a 304 to an `If-None-Match` that is
   * the ETag of a module Vite transformed (its 304s carry no `Content-Type`). An SPA fallback's HTML,
   * a 304 of it, a raw file, an error page are not.
   */
  servedByVite(req: IncomingMessage, res: ServerResponse, as: ResourceKind): boolean
}

export function createLearnableRequests(server: ViteDevServer, guard: DeliveryGuard, debug: Debug): LearnableRequests {
  const config = server.config
  const paths: ServedPaths = { root: config.root, base: config.base, publicDir: config.publicDir || '' }
  const isProxied = createProxiedUrlMatcher(config.server.proxy)
  const moduleGraph = server.environments?.client?.moduleGraph ?? server.moduleGraph
  const refuse = (url: string, why: string) => void debug?.(`not learned (${why}): ${url}`)

  return {
    fileOf(url) {
      const badForm = unlearnableForm(url)
      if (badForm) return refuse(url, badForm)
      if (isProxied(url)) return refuse(url, 'server.proxy')
      if (!guard.allowsUrl(url)) return refuse(url, 'server.fs')
      const path = stripQuery(url)
      if (!path.startsWith(paths.base)) return refuse(url, 'outside base')
      const rest = `/${path.slice(paths.base.length)}`
      const files = filesForUrl(url, paths)
      if (files === 'invalid') return refuse(url, 'invalid path')
      const file = files.find(isFile)
      if (file !== undefined) return file
      return isVirtualModulePath(rest) ? rest : refuse(url, 'no file')
    },
    servedByVite(req, res, as) {
      if (res.statusCode === 304) {
        const etag = headerString(req.headers['if-none-match'])
        return etag !== undefined && moduleGraph.getModuleByEtag(etag)?.transformResult?.etag === etag
      }
      if (res.statusCode !== 200) return false
      const type = headerString(res.getHeader('content-type') as string | string[] | undefined) ?? ''
      return as === 'style' ? /^text\/css\b/i.test(type) : /\b(?:java|ecma)script\b/i.test(type)
    },
  }
}

/** Whether a path is a regular file now (not remembered: files come and go while the server runs). */
function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}
