/**
 * Tells the URLs `server.proxy` forwards to a backend, matched as Vite's proxy middleware matches
 * them (`createProxyContextMatcher` in vite/src/node/server/middlewares/proxy.ts): a key that
 * starts with `^` is a regular expression tested on the request URL, any other key a prefix of it.
 * The plugin never renders such a URL in-process: that would send the server's own requests to
 * the backend on every page load, and what a backend answers is no module Vite served. A
 * `bypass` function may still hand some of these URLs back to Vite; the plugin does not call it
 * (it takes a live request and response), so it leaves all of them to the browser.
 */
export function createProxiedUrlMatcher(proxy: Record<string, unknown> | undefined): (url: string) => boolean {
  const matchers: Array<(url: string) => boolean> = []
  for (const [context, options] of Object.entries(proxy ?? {})) {
    if (!options) continue // Vite skips an entry without options
    matchers.push(contextMatcher(context))
  }
  return (url) => matchers.some((matches) => matches(url))
}

function contextMatcher(context: string): (url: string) => boolean {
  if (!context.startsWith('^')) return (url) => url.startsWith(context)
  try {
    const pattern = new RegExp(context)
    return (url) => pattern.test(url)
  } catch {
    // Vite fails to start with such a key; should one get here, nothing under it is rendered
    return () => true
  }
}
