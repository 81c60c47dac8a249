import type { ViteDevServer } from 'vite'
import type { FreshnessOracle } from './served-graph.js'

interface TransformToken {
  module: { transformResult: unknown }
  transformResult: unknown
}

/**
 * Freshness from Vite's own module graph: a response rendered from a transform result stays
 * current exactly as long as the module still holds that same result object. Vite drops it on
 * every file change, HMR update, soft invalidation and `invalidateModule`, and a GET would then
 * transform again, so would we.
 */
export function createViteFreshnessOracle(server: ViteDevServer): FreshnessOracle {
  const moduleGraph = server.environments?.client?.moduleGraph ?? server.moduleGraph
  return {
    track(etag) {
      const module = moduleGraph.getModuleByEtag(etag)
      const transformResult = module?.transformResult
      if (!module || !transformResult || transformResult.etag !== etag) return undefined
      const token: TransformToken = { module, transformResult }
      return token
    },
    isCurrent(token) {
      const { module, transformResult } = token as TransformToken
      return module.transformResult === transformResult
    },
    async isTrackable(url) {
      const moduleUrl = toModuleUrl(url, server.config.base)
      return moduleUrl !== undefined && (await moduleGraph.getModuleByUrl(moduleUrl)) !== undefined
    },
  }
}

/**
 * The URL Vite's transform middleware looks a request URL up by: without `base`, decoded, with
 * the `__x00__` placeholder back to a null byte. Undefined when it is outside `base` or malformed.
 */
export function toModuleUrl(url: string, base: string): string | undefined {
  if (!url.startsWith(base)) return undefined
  try {
    return decodeURI(`/${url.slice(base.length)}`).replace('__x00__', '\0')
  } catch {
    return undefined
  }
}
