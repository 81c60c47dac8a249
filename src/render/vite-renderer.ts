import type { ViteDevServer } from 'vite'
import type { RenderFunction } from '../graph/served-graph.js'
import { renderInProcess, type RequestHandler } from './in-process-request.js'
import { requestHeadersFor } from '../graph/resource-request.js'

/** How long one in-process GET may take before it is given up (the page is then served without it). */
const RENDER_TIMEOUT_MS = 30_000

/** Renders a resource by running its GET through the dev server's own middleware stack. */
export function createViteRenderer(server: ViteDevServer): RenderFunction {
  const handler = server.middlewares as unknown as RequestHandler
  return (request) =>
    renderInProcess(handler, request.url, { host: 'localhost', ...requestHeadersFor(request.as) }, RENDER_TIMEOUT_MS)
}
