import type { ServerResponse } from 'node:http'
import { HOLD_PAUSE_MS, MAX_HELD_BYTES, headIsComplete, type HtmlPhases } from './html-phases.js'
import { declaredCharset, decoderFor } from './charset-splice.js'
import { prepareStreamedHead, prepareWholeHtml, sendHeldHead } from './prepared-html.js'
import { answerNotModified } from '../serve/revalidation.js'
import { endArguments, headerPairs, isBodyChunk, toWrite } from './response-writes.js'
import type { Callback, EndFunction, Write, WriteFunction, WriteHeadFunction } from './response-writes.js'

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

/** The response methods the hook replaces while the response may be a page. */
interface HookedMethods {
  writeHead: WriteHeadFunction
  write: WriteFunction
  end: EndFunction
  flushHeaders: () => void
}

class HtmlResponseHook {
  private readonly original: HookedMethods
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
    this.setMethods({
      writeHead: (statusCode, reason, headers) => this.writeHead(statusCode, reason, headers),
      write: (chunk, encoding, callback) => this.write(chunk, encoding, callback),
      end: (chunk, encoding, callback) => this.end(chunk, encoding, callback),
      flushHeaders: () => this.flushHeaders(),
    })
  }

  /** Puts these as the response's own methods (the hooked ones, or back the originals). */
  private setMethods(methods: HookedMethods): void {
    Object.assign(this.res, methods)
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
      this.passThrough(() => undefined)
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
    this.setMethods(this.original)
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

  private end(...args: [unknown, unknown, unknown]): unknown {
    const res = this.res
    const { chunk, encoding, callback } = endArguments(...args)
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
    void prepareWholeHtml(res, this.phases, write, this.decoder!.decode(write.bytes), this.charset).then(
      ({ body, notModified }) => {
        this.passThrough(() => undefined)
        if (res.writableEnded || res.destroyed) return
        if (notModified) {
          answerNotModified(res)
          this.original.end.call(res, undefined, undefined, write.callback)
        } else this.original.end.call(res, body, body === write.chunk ? write.encoding : undefined, write.callback)
      },
    )
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
    void prepareStreamedHead(this.phases, text, heldBody, this.charset).then((preparedBytes) =>
      this.sendHead(heldChunks, preparedBytes),
    )
  }

  private sendHead(heldChunks: Write[], preparedBytes: Buffer | undefined): void {
    const res = this.res
    const original = this.original
    this.state = 'passing'
    // Node's own write/end call writeHead to send the headers: from now on they must go out.
    res.writeHead = original.writeHead as unknown as ServerResponse['writeHead']
    res.flushHeaders = original.flushHeaders
    if (res.destroyed || res.writableEnded) return
    sendHeldHead(res, original.write, heldChunks, preparedBytes)
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
    this.setMethods(this.original)
    const ending = this.phases.end?.() ?? Promise.resolve()
    ending
      .catch((error: unknown) => this.phases.failed(error))
      .then(() => {
        if (!res.writableEnded && !res.destroyed) this.original.end.call(res, undefined, undefined, callback)
      })
  }
}
