import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'

/** What the page pipeline does with an HTML response on its way out. */
export interface HtmlInterceptHooks {
  /**
   * Returns the HTML to send instead of `head`. `head` is the whole body when `complete` is true
   * (one `res.end(html)`), else the start of a streamed body.
   */
  prepare(head: string, complete: boolean): Promise<string>
  /** Text of the rest of a streamed body, as it passes through (to find late entries). */
  onRest?(text: string): void
  /** Awaited before a streamed response ends (pushes must be promised before the stream ends). */
  beforeEnd?(): Promise<void>
  /** Preparing failed: the original bytes go out untouched. */
  onError(error: unknown): void
}

type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown

/**
 * Hooks the response so that a 200 `text/html` body written by one `res.end(html)` goes through
 * `hooks.prepare` before it is sent; the response ends once the prepared HTML is ready, with an
 * ETag of its own (and a corrected `Content-Length`) when it changed. Anything else passes
 * straight through.
 */
export function interceptHtml(res: ServerResponse, hooks: HtmlInterceptHooks): void {
  const originalEnd = res.end as unknown as EndFunction
  const patchedEnd: EndFunction = function (chunk, encoding, callback) {
    res.end = originalEnd as ServerResponse['end']
    const type = String(res.getHeader('content-type') ?? '')
    const isHtml =
      res.statusCode === 200 && /^text\/html\b/i.test(type) && (typeof chunk === 'string' || Buffer.isBuffer(chunk))
    if (!isHtml || res.headersSent) return originalEnd.call(res, chunk, encoding, callback)
    const html = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : (chunk as string)
    hooks
      .prepare(html, true)
      .then(
        (finalHtml) => {
          if (finalHtml === html || res.headersSent) return chunk
          res.setHeader('etag', `W/"${createHash('sha1').update(finalHtml).digest('base64url')}"`)
          if (res.hasHeader('content-length')) res.setHeader('content-length', Buffer.byteLength(finalHtml))
          return finalHtml
        },
        (error: unknown) => {
          hooks.onError(error)
          return chunk
        },
      )
      .then((body) => {
        if (!res.writableEnded && !res.destroyed)
          originalEnd.call(res, body, typeof encoding === 'function' ? undefined : encoding, callback)
      })
    return res
  }
  res.end = patchedEnd as ServerResponse['end']
}
