import { ServedGraph, type DeliveryGuard, type FreshnessOracle } from '../../src/graph/served-graph.js'
import type { RenderedResponse } from '../../src/graph/rendered-response.js'
import type { ResourceRequest } from '../../src/graph/resource-request.js'

/** A graph over an in-memory app: url -> code. Versions change when code changes. */
export function memoryGraph(
  files: Record<string, string>,
  options: { untracked?: string[]; racing?: string[]; denied?: string[]; deniedOnceResolved?: string[] } = {},
) {
  const renders: string[] = []
  /** URLs whose next track fails, as when an invalidation lands while they render. */
  const racing = new Set(options.racing)
  const versions = new Map<string, number>()
  const render = async ({ url }: ResourceRequest): Promise<RenderedResponse> => {
    renders.push(url)
    const code = files[url]
    if (code === undefined) return { status: 404, headers: {}, body: Buffer.alloc(0) }
    return {
      status: 200,
      headers: { 'content-type': 'text/javascript', etag: `W/"${url}@${versions.get(url) ?? 0}"` },
      body: Buffer.from(code),
    }
  }
  const urlOf = (etag: string) => /^W\/"(.*)@\d+"$/.exec(etag)![1]!
  const freshness: FreshnessOracle = {
    track: (etag) => {
      const url = urlOf(etag)
      if (options.untracked?.includes(url) || racing.delete(url)) return undefined
      return etag
    },
    isTrackable: async (url) => !options.untracked?.includes(url),
    isCurrent: (token) => {
      const [, url, version] = /^W\/"(.*)@(\d+)"$/.exec(token as string)!
      return Number(version) === (versions.get(url!) ?? 0)
    },
  }
  const guard: DeliveryGuard = {
    allowsUrl: (url) => !options.denied?.includes(url),
    allowsRendered: async (url) => !options.deniedOnceResolved?.includes(url),
  }
  const graph = new ServedGraph(render, freshness, guard, 1024 * 1024, undefined)
  const edit = (url: string, code: string) => {
    files[url] = code
    versions.set(url, (versions.get(url) ?? 0) + 1)
  }
  return { graph, renders, edit }
}
