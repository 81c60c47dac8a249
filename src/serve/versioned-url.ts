import { createHash } from 'node:crypto'
import type { ServedResource } from '../graph/served-resource.js'

/**
 * The query parameter that carries a response's version in a versioned module URL. It is taken
 * off every request before anything else sees the URL, so it never reaches Vite or another
 * plugin, and one module file never becomes two Vite modules because of it.
 */
const VERSION_PARAM = '__h2v'

/** The Cache-Control of a versioned URL answered at its current version. */
export const IMMUTABLE = 'max-age=31536000, immutable'

const tokens = new WeakMap<ServedResource, string>()

/** A short token of the resource's version (its ETag, or its body hash), safe in a URL. */
export function versionToken(resource: ServedResource): string {
  let token = tokens.get(resource)
  if (token === undefined) {
    token = createHash('sha1').update(resource.version).digest('base64url').slice(0, 16)
    tokens.set(resource, token)
  }
  return token
}

/** A query parameter that carries a resource's version token: added to its URL, taken off a request. */
export interface VersionParam {
  /** The resource's URL with its version token in the parameter. */
  add(resource: ServedResource): string
  /**
   * Splits a request URL into the URL without the parameter and the token it carried; undefined
   * when it carries none. `a?p=x&b` → `a?b`; `a?b&p=x` → `a?b`; `a?p=x` → `a`.
   */
  take(url: string): { url: string; version: string } | undefined
}

export function versionParam(name: string): VersionParam {
  const pattern = new RegExp(`([?&])${name}=([A-Za-z0-9_-]+)(?=&|$)`)
  return {
    add(resource) {
      const separator = resource.url.includes('?') ? '&' : '?'
      return `${resource.url}${separator}${name}=${versionToken(resource)}`
    },
    take(url) {
      const match = pattern.exec(url)
      if (!match) return undefined
      const before = url.slice(0, match.index)
      const after = url.slice(match.index + match[0].length)
      const rest = match[1] === '?' ? (after ? `?${after.slice(1)}` : '') : after
      return { url: before + rest, version: match[2]! }
    },
  }
}

const VERSION = versionParam(VERSION_PARAM)

/** The resource's URL with its version: what an import map, a script `src` or a link `href` names. */
export function versionedUrl(resource: ServedResource): string {
  return VERSION.add(resource)
}

/**
 * True for a response worth a versioned URL: a 200 that is not immutable at its own URL already
 * (Vite's `?v=` deps are).
 */
export function isVersionable(resource: ServedResource): boolean {
  return (
    resource.response.status === 200 && !/\bimmutable\b/.test(String(resource.response.headers['cache-control'] ?? ''))
  )
}

/** The URL to name a resource by when versioned URLs are on: its versioned URL, or its own when it needs none. */
export function versionedHref(resource: ServedResource): string {
  return isVersionable(resource) ? versionedUrl(resource) : resource.url
}

/** Splits a request URL into the URL without the version and the version asked for; undefined when it carries none. */
export function parseVersionedUrl(url: string): { url: string; version: string } | undefined {
  return VERSION.take(url)
}
