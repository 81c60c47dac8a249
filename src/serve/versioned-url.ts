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

/** How long {@link versionToken} is: 16 characters of base64url. */
const TOKEN_LENGTH = 16

const tokens = new WeakMap<ServedResource, string>()

/** A short token of the resource's version (its ETag, or its body hash), safe in a URL. */
export function versionToken(resource: ServedResource): string {
  let token = tokens.get(resource)
  if (token === undefined) {
    token = createHash('sha1').update(resource.version).digest('base64url').slice(0, TOKEN_LENGTH)
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
   * when it carries none, or not exactly once in the plugin's own form. `a?p=x&b` → `a?b`; `a?b&p=x` → `a?b`; `a?p=x` → `a`.
   */
  take(url: string): { url: string; version: string } | undefined
}

/**
 * A marker the plugin reads is exactly its own form: the parameter once in the whole URL, with a
 * token of {@link versionToken}'s shape. Any other form (repeated, empty, over-long, another
 * alphabet) is not one the plugin handed out: the URL is left as it came, so Vite answers it as
 * it would without the plugin, and the plugin never renders a URL that still carries a marker
 * (a repeated one used to make each render ask for the next, until every render slot was held).
 */
export function versionParam(name: string): VersionParam {
  const anyOccurrence = new RegExp(`[?&]${name}(?=[=&]|$)`, 'g')
  const ownForm = new RegExp(`([?&])${name}=([A-Za-z0-9_-]{${TOKEN_LENGTH}})(?=&|$)`)
  return {
    add(resource) {
      const separator = resource.url.includes('?') ? '&' : '?'
      return `${resource.url}${separator}${name}=${versionToken(resource)}`
    },
    take(url) {
      if (url.match(anyOccurrence)?.length !== 1) return undefined
      const match = ownForm.exec(url)
      if (!match) return undefined
      const before = url.slice(0, match.index)
      const after = url.slice(match.index + match[0].length)
      const rest = match[1] === '?' ? (after ? `?${after.slice(1)}` : '') : after
      return { url: before + rest, version: match[2]! }
    },
  }
}

/** The marker of a versioned URL. */
export const VERSION = versionParam(VERSION_PARAM)

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
