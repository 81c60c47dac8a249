import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { declaredCharset, decoderFor, encodeEdited } from './charset-splice.js'
import { answerNotModified, ifNoneMatchHits } from '../serve/revalidation.js'
import { headerPairs, isBodyChunk, toWrite, type Callback, type Write } from './response-writes.js'

/** The phases of an HTML response, in the order the hook calls them (a {@link PageLoad} implements them). */
export interface HtmlPhases {
  /**
   * Returns the HTML to send instead of `head`. `head` is the whole body when `complete` is true
   * (one `res.end(html)`), else the start of a streamed body: what was written up to the end of
   * `<head>`, the first module script or {@link MAX_HELD_BYTES}, whichever came first (or what
   * was written before the framework paused, see {@link HOLD_PAUSE_MS}).
   */
  head(head: string, complete: boolean): Promise<string>
  /** Text of the rest of a streamed body, as it passes through (to find late entries). */
  rest?(text: string): void
  /** Awaited before a streamed response ends (pushes must be promised before the stream ends). */
  end?(): Promise<void>
  /** The bytes to send for the final HTML (compressed, say), with the headers that go with them. */
  encode?(html: string | Buffer): Promise<string | Buffer>
  /** Preparing failed: the original bytes go out untouched. */
  failed(error: unknown): void
}

/** Most bytes of a streamed body held back while looking for the end of its head. */
export const MAX_HELD_BYTES = 64 * 1024
/**
 * A streamed body whose head is not complete yet is held at most this long after the last write:
 * a framework that pauses mid-head (an awaited render) would otherwise delay the first byte by
 * its own render time.
 */
export const HOLD_PAUSE_MS = 20

type WriteFunction = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean
type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown
type WriteHeadFunction = (statusCode: number, reason?: unknown, headers?: unknown) => ServerResponse

/**
 * Hooks the response so that a 200 `text/html` body goes through the page's phases before it is
 * sent, however it is written:
 * - one `res.end(html)`: the whole body is `head(html, true)`, and the response ends with the
 *   prepared HTML, an ETag of its own and a corrected `Content-Length` when it changed, or a 304
 *   without a body when the request's `If-None-Match` names that ETag (a reload of an unchanged page);
 * - `writeHead`, then `write` chunks (string, Buffer or Uint8Array, any encoding), then `end`:
 *   only the head is held and prepared; the rest passes through untouched as it is written (seen
 *   by `rest` as text), and the response ends only once `end()` resolved. A changed head drops
 *   `Content-Length` and `ETag`.
 * Headers are held (`writeHead`, `flushHeaders`) only while the response can still be a 200
 * `text/html`: anything else (an event stream, a redirect, a proxied answer) goes out at once.
 * The body is decoded in the charset its `Content-Type` declares (UTF-8 by default); a prepared
 * head goes out in that charset (see {@link encodeEdited}). Anything else passes straight through.
 */
export function hookHtmlResponse(res: ServerResponse, phases: HtmlPhases): void {
  new HtmlResponseHook(res, phases).install()
}

class HtmlResponseHook {
  private readonly original: {
    writeHead: WriteHeadFunction
    write: WriteFunction
    end: EndFunction
    flushHeaders: () => void
  }
  private state: 'undecided' | 'holding' | 'preparing' | 'passing' | 'done' = 'undecided'
  private decoder: TextDecoder | undefined
  private charset = 'utf-8'
  private readonly held: Write[] = []
  private heldBytes = 0
  private heldText = ''
  /** Writes made while the head is being prepared, sent right after it. */
  private readonly queued: Write[] = []
  private queuedBytes = 0
  private needsDrain = false
  private pendingEnd: { callback: Callback | undefined } | undefined
  private pauseTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly res: ServerResponse,
    private readonly phases: HtmlPhases,
  ) {
    this.original = {
      writeHead: res.writeHead as unknown as WriteHeadFunction,
      write: res.write as unknown as WriteFunction,
      end: res.end as unknown as EndFunction,
      flushHeaders: res.flushHeaders,
    }
  }

  install(): void {
    const res = this.res
    res.writeHead = ((statusCode: number, reason?: unknown, headers?: unknown) =>
      this.writeHead(statusCode, reason, headers)) as unknown as ServerResponse['writeHead']
    res.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) =>
      this.write(chunk, encoding, callback)) as unknown as ServerResponse['write']
    res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) =>
      this.end(chunk, encoding, callback)) as unknown as ServerResponse['end']
    res.flushHeaders = () => this.flushHeaders()
  }

  private restore(): void {
    const res = this.res
    res.writeHead = this.original.writeHead as unknown as ServerResponse['writeHead']
    res.write = this.original.write as unknown as ServerResponse['write']
    res.end = this.original.end as unknown as ServerResponse['end']
    res.flushHeaders = this.original.flushHeaders
  }

  /** True while the response, as its status and headers say now, can still be one to prepare. */
  private mayBeHtml(): boolean {
    const res = this.res
    const type = String(res.getHeader('content-type') ?? '')
    const encoding = String(res.getHeader('content-encoding') ?? 'identity').toLowerCase()
    return res.statusCode === 200 && /^text\/html\b/i.test(type) && encoding === 'identity' && !res.headersSent
  }

  /** Decides, at the first body byte, whether this response is one to prepare. */
  private decide(): boolean {
    if (!this.mayBeHtml()) {
      this.restore()
      this.state = 'done'
      return false
    }
    ;({ decoder: this.decoder, charset: this.charset } = decoderFor(
      declaredCharset(String(this.res.getHeader('content-type'))),
    ))
    return true
  }

  private writeHead(statusCode: number, reason: unknown, headers: unknown): ServerResponse {
    const res = this.res
    // Applied as setHeader calls, so that headers can still change once the head is prepared.
    res.statusCode = statusCode
    if (typeof reason !== 'string') headers = reason
    else if (!(res as unknown as { stream?: unknown }).stream) res.statusMessage = reason // HTTP/2 has none
    for (const [name, value] of headerPairs(headers)) res.setHeader(name, value)
    // Not a page: its headers go out now, as the handler asked.
    if (this.state === 'undecided' && !this.mayBeHtml())
      this.passThrough(() => this.original.writeHead.call(res, statusCode))
    return res
  }

  private flushHeaders(): void {
    // Held while the headers may still change because the head is prepared; anything else flushes now.
    if (this.state === 'undecided' && !this.mayBeHtml())
      this.passThrough(() => this.original.flushHeaders.call(this.res))
  }

  /** Leaves the response to its handler from now on, after `first`. */
  private passThrough(first: () => void): void {
    this.restore()
    this.state = 'done'
    first()
  }

  private write(chunk: unknown, encoding: unknown, callback: unknown): boolean {
    const res = this.res
    if (this.state === 'undecided' && !this.decide()) return this.original.write.call(res, chunk, encoding, callback)
    if (this.state === 'done') return this.original.write.call(res, chunk, encoding, callback)
    const write = toWrite(chunk, encoding, callback)
    if (this.state === 'passing') {
      this.phases.rest?.(this.decoder!.decode(write.bytes, { stream: true }))
      return this.original.write.call(res, chunk, encoding, callback)
    }
    if (this.state === 'preparing') {
      this.queued.push(write)
      this.queuedBytes += write.bytes.length
      if (this.queuedBytes < MAX_HELD_BYTES) return true
      this.needsDrain = true
      return false
    }
    this.state = 'holding'
    this.held.push(write)
    this.heldBytes += write.bytes.length
    this.heldText += this.decoder!.decode(write.bytes, { stream: true })
    if (headIsComplete(this.heldText) || this.heldBytes >= MAX_HELD_BYTES) this.releaseHead()
    else this.armPauseTimer()
    return true
  }

  private end(chunk: unknown, encoding: unknown, callback: unknown): unknown {
    const res = this.res
    if (typeof chunk === 'function') {
      callback = chunk
      chunk = undefined
      encoding = undefined
    } else if (typeof encoding === 'function') {
      callback = encoding
      encoding = undefined
    }
    const hasChunk = chunk !== undefined && chunk !== null && !(typeof chunk === 'string' && chunk === '')
    if (this.state === 'undecided') {
      if (!hasChunk || !isBodyChunk(chunk) || !this.decide()) {
        this.passThrough(() => undefined)
        return this.original.end.call(res, chunk, encoding, callback)
      }
      this.prepareWhole(toWrite(chunk, encoding, callback))
      return res
    }
    if (this.state === 'passing') {
      if (hasChunk) this.write(chunk, encoding, undefined)
      this.endStream(callback as Callback | undefined)
      return res
    }
    if (this.state === 'done') return this.original.end.call(res, chunk, encoding, callback)
    // holding or preparing: the head is not out yet
    if (hasChunk) this.write(chunk, encoding, undefined)
    this.pendingEnd = { callback: callback as Callback | undefined }
    if (this.state === 'holding') this.releaseHead()
    return res
  }

  /**
   * One `res.end(html)`: prepare the whole body, then end with it, or with a 304 when the client
   * already holds the prepared bytes (its `If-None-Match` names their ETag).
   */
  private prepareWhole(write: Write): void {
    const res = this.res
    this.state = 'preparing'
    const html = this.decoder!.decode(write.bytes)
    let notModified = false
    const failed = (error: unknown) => {
      this.phases.failed(error)
      return write.chunk
    }
    this.phases
      .head(html, true)
      .then((finalHtml) => {
        if (finalHtml === html || res.headersSent) return write.chunk
        const body = encodeEdited(html, finalHtml, write.bytes, this.charset)
        if (!body) throw new Error(`cannot write the prepared HTML back in charset ${this.charset}`)
        const etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`
        res.setHeader('etag', etag)
        if (res.hasHeader('content-length')) res.setHeader('content-length', body.length)
        notModified = ifNoneMatchHits(res.req?.headers['if-none-match'], etag)
        return body
      }, failed)
      .catch(failed)
      .then((body) =>
        this.phases.encode && !notModified ? this.phases.encode(body as string | Buffer).catch(() => body) : body,
      )
      .then((body) => {
        this.passThrough(() => undefined)
        if (res.writableEnded || res.destroyed) return
        if (notModified) {
          answerNotModified(res)
          this.original.end.call(res, undefined, undefined, write.callback)
        } else this.original.end.call(res, body, body === write.chunk ? write.encoding : undefined, write.callback)
      })
  }

  private armPauseTimer(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer)
    this.pauseTimer = setTimeout(() => {
      if (this.state === 'holding') this.releaseHead()
    }, HOLD_PAUSE_MS)
  }

  /** The head of a streamed body is held: prepare it, send it, then pass the rest through. */
  private releaseHead(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer)
    this.state = 'preparing'
    const heldChunks = this.held.splice(0)
    const text = this.heldText
    this.heldText = ''
    const heldBody = Buffer.concat(heldChunks.map((write) => write.bytes))
    this.phases
      .head(text, false)
      .then((prepared) => {
        if (prepared === text) return undefined
        const bytes = encodeEdited(text, prepared, heldBody, this.charset)
        if (!bytes) throw new Error(`cannot write the prepared HTML back in charset ${this.charset}`)
        return bytes
      })
      .catch((error: unknown) => {
        this.phases.failed(error)
        return undefined
      })
      .then((preparedBytes) => this.sendHead(heldChunks, preparedBytes))
  }

  private sendHead(heldChunks: Write[], preparedBytes: Buffer | undefined): void {
    const res = this.res
    const original = this.original
    this.state = 'passing'
    // Node's own write/end call writeHead to send the headers: from now on they must go out.
    res.writeHead = original.writeHead as unknown as ServerResponse['writeHead']
    res.flushHeaders = original.flushHeaders
    if (res.destroyed || res.writableEnded) return
    if (preparedBytes) {
      // The body is no longer the one these described.
      res.removeHeader('content-length')
      res.removeHeader('etag')
      const callbacks = heldChunks.map((write) => write.callback).filter((callback) => callback !== undefined)
      original.write.call(res, preparedBytes, undefined, (error?: Error | null) => {
        for (const callback of callbacks) callback(error)
      })
    } else {
      for (const write of heldChunks) original.write.call(res, write.chunk, write.encoding, write.callback)
    }
    let drained = true
    for (const write of this.queued.splice(0)) {
      this.phases.rest?.(this.decoder!.decode(write.bytes, { stream: true }))
      drained = original.write.call(res, write.chunk, write.encoding, write.callback)
    }
    if (this.needsDrain && drained) {
      this.needsDrain = false
      res.emit('drain')
    }
    if (this.pendingEnd) this.endStream(this.pendingEnd.callback)
  }

  /** Ends a streamed response once `end()` resolved (pushes are promised by then). */
  private endStream(callback: Callback | undefined): void {
    const res = this.res
    this.state = 'done'
    const tail = this.decoder!.decode()
    if (tail) this.phases.rest?.(tail)
    this.restore()
    const ending = this.phases.end?.() ?? Promise.resolve()
    ending
      .catch((error: unknown) => this.phases.failed(error))
      .then(() => {
        if (!res.writableEnded && !res.destroyed) this.original.end.call(res, undefined, undefined, callback)
      })
  }
}

/** True once the held text holds the whole head: its `</head>` or a module script tag. */
function headIsComplete(text: string): boolean {
  return /<\/head\s*>|<script\b[^>]*\btype\s*=\s*["']?module\b[^>]*>/i.test(text)
}
