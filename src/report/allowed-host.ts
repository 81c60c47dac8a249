import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { authorityOf } from '../graph/request-url.js'

/**
 * Whether the request's Host (`:authority` over HTTP/2) is one Vite allows (`server.allowedHosts`,
 * which Vite has already extended with `server.host` and `server.origin`): an IP address,
 * `localhost` or `*.localhost`, a listed name, or one under a listed `.domain`. Vite checks this
 * itself only over plain HTTP; the plugin's own pages check it always (a DNS-rebound name must
 * not read them). No Host at all is allowed, as Vite allows it.
 */
export function isAllowedHost(req: IncomingMessage, allowedHosts: readonly string[] | true): boolean {
  if (allowedHosts === true) return true
  const authority = authorityOf(req)
  if (authority === undefined) return true
  const hostname = hostnameOf(authority)
  if (hostname === undefined) return false
  if (isIP(hostname) !== 0) return true
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true
  return allowedHosts.some(
    (allowed) =>
      allowed === hostname ||
      (allowed.startsWith('.') && (allowed.slice(1) === hostname || hostname.endsWith(allowed))),
  )
}

/** The host name of an authority (`name:port`, `[v6]:port`), lower case; undefined when it is not one. */
function hostnameOf(authority: string): string | undefined {
  try {
    const url = new URL(`http://${authority}`)
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined
    return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  } catch {
    return undefined
  }
}
