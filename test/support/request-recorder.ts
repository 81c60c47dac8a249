import type { Plugin } from 'vite'

/** A request a browser made to the dev server, and how it was answered. */
export interface RecordedRequest {
  url: string
  dest: string
  /** `<status> <cache-control>`, once answered. */
  answer: string
}

/**
 * A Vite plugin that records every request a browser makes (after the plugin took a version
 * marker off the URL). The plugin's own in-process renders go through the stack too; a
 * browser's requests carry `Sec-Fetch-Mode`, theirs do not.
 */
export function requestRecorder(requests: RecordedRequest[]): Plugin {
  return {
    name: 'record-requests',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.headers['sec-fetch-mode'] === undefined) return next()
        const entry: RecordedRequest = {
          url: req.url ?? '',
          dest: String(req.headers['sec-fetch-dest'] ?? ''),
          answer: '',
        }
        requests.push(entry)
        res.once('finish', () => {
          entry.answer = `${res.statusCode} ${String(res.getHeader('cache-control'))}`
        })
        next()
      })
    },
  }
}

/** The recorded requests for modules, styles and other subresources (not documents, not the favicon). */
export function subresourceRequests(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((request) => request.dest !== 'document' && !request.url.startsWith('/favicon.ico'))
}
