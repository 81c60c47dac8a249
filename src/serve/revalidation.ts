import type { ServerResponse } from 'node:http'

/**
 * Whether a request's `If-None-Match` names `etag`: the weak comparison of RFC 9110 §13.1.2 (a
 * `W/` prefix on either side is ignored), over a comma-separated list, or `*`.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  const wanted = opaque(etag)
  return [header]
    .flat()
    .flatMap((value) => value.split(','))
    .some((tag) => tag.trim() === '*' || opaque(tag) === wanted)
}

/**
 * Turns a 200 for an HTML page into a 304 without a body: the client holds these exact bytes
 * (their ETag). Drops the headers that describe a body (RFC 9110 §15.4.5).
 */
export function answerNotModified(res: ServerResponse): void {
  res.statusCode = 304
  for (const name of ['content-type', 'content-length', 'content-encoding', 'transfer-encoding']) res.removeHeader(name)
}
