import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { ifNoneMatchHits } from '../serve/revalidation.js'
import { encodeEdited } from './charset-splice.js'
import type { HtmlPhases } from './html-phases.js'
import type { Write, WriteFunction } from './response-writes.js'

/**
 * One `res.end(html)` through the page's phases: the bytes to end the response with (the
 * original chunk when nothing changed or preparing failed), with a weak ETag of the prepared
 * bytes and a corrected `Content-Length` set on `res`; `notModified` when the request's
 * `If-None-Match` names that ETag (the client holds these very bytes).
 */
export async function prepareWholeHtml(
  res: ServerResponse,
  phases: HtmlPhases,
  write: Write,
  html: string,
  charset: string,
): Promise<{ body: unknown; notModified: boolean }> {
  let body: unknown = write.chunk
  let notModified = false
  try {
    const finalHtml = await phases.head(html, true)
    if (finalHtml !== html && !res.headersSent) {
      const bytes = encodeEdited(html, finalHtml, write.bytes, charset)
      if (!bytes) throw new Error(`cannot write the prepared HTML back in charset ${charset}`)
      const etag = `W/"${createHash('sha1').update(bytes).digest('base64url')}"`
      res.setHeader('etag', etag)
      if (res.hasHeader('content-length')) res.setHeader('content-length', bytes.length)
      notModified = ifNoneMatchHits(res.req?.headers['if-none-match'], etag)
      body = bytes
    }
  } catch (error) {
    phases.failed(error)
  }
  if (phases.encode && !notModified) body = await phases.encode(body as string | Buffer).catch(() => body)
  return { body, notModified }
}

/** A streamed page's head through the page's phases: the bytes to send instead, or undefined to send it as written. */
export async function prepareStreamedHead(
  phases: HtmlPhases,
  text: string,
  heldBody: Buffer,
  charset: string,
): Promise<Buffer | undefined> {
  try {
    const prepared = await phases.head(text, false)
    if (prepared === text) return undefined
    const bytes = encodeEdited(text, prepared, heldBody, charset)
    if (!bytes) throw new Error(`cannot write the prepared HTML back in charset ${charset}`)
    return bytes
  } catch (error) {
    phases.failed(error)
    return undefined
  }
}

/**
 * Sends a streamed page's head with the original `write`: the prepared bytes (the body is no
 * longer the one `Content-Length` and `ETag` described, so both go; every held write's callback
 * is called), or the held writes as they were made.
 */
export function sendHeldHead(
  res: ServerResponse,
  write: WriteFunction,
  heldChunks: readonly Write[],
  preparedBytes: Buffer | undefined,
): void {
  if (!preparedBytes) {
    for (const held of heldChunks) write.call(res, held.chunk, held.encoding, held.callback)
    return
  }
  res.removeHeader('content-length')
  res.removeHeader('etag')
  const callbacks = heldChunks.map((held) => held.callback).filter((callback) => callback !== undefined)
  write.call(res, preparedBytes, undefined, (error?: Error | null) => {
    for (const callback of callbacks) callback(error)
  })
}
