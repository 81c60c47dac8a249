import type { Connect } from 'vite'

/** The middleware function Vite serves transformed modules from. */
const VITE_TRANSFORM_MIDDLEWARE = 'viteTransformMiddleware'

interface StackLayer {
  route: string
  handle: Connect.NextHandleFunction
}

function stackOf(middlewares: Connect.Server): StackLayer[] | undefined {
  const stack = (middlewares as unknown as { stack?: StackLayer[] }).stack
  return Array.isArray(stack) ? stack : undefined
}

/**
 * Puts `handler` into the server's middleware stack right before Vite's transform middleware:
 * after the host check, CORS, proxy, `base` and public-file handling and any middleware a plugin
 * added, so only the transform itself is skipped. Returns false (and installs nothing) when that
 * middleware cannot be found.
 */
export function installBeforeViteTransform(middlewares: Connect.Server, handler: Connect.NextHandleFunction): boolean {
  const stack = stackOf(middlewares)
  const index = stack?.findIndex((layer) => layer.handle?.name === VITE_TRANSFORM_MIDDLEWARE) ?? -1
  if (!stack || index < 0) return false
  stack.splice(index, 0, { route: '', handle: handler })
  return true
}

/** Puts `handler` first in the server's middleware stack, ahead of Vite's own; false when there is no stack. */
export function installFirst(middlewares: Connect.Server, handler: Connect.NextHandleFunction): boolean {
  const stack = stackOf(middlewares)
  if (!stack) return false
  stack.unshift({ route: '', handle: handler })
  return true
}
