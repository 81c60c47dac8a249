import { createHash } from 'node:crypto'
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { answerNotModified, ifNoneMatchHits } from './html-revalidation.js'

/** What the page pipeline does with an HTML response on its way out. */
export interface HtmlInterceptHooks {
  /**
   * Returns the HTML to send instead of `head`. `head` is the whole body when `complete` is true
   * (one `res.end(html)`), else the start of a streamed body: what was written up to the end of
   * `<head>`, the first module script or {@link MAX_HELD_BYTES}, whichever came first (or what
   * was written before the framework paused, see {@link HOLD_PAUSE_MS}).
   */
  prepare(head: string, complete: boolean): Promise<string>
  /** Text of the rest of a streamed body, as it passes through (to find late entries). */
  onRest?(text: string): void
  /** Awaited before a streamed response ends (pushes must be promised before the stream ends). */
  beforeEnd?(): Promise<void>
  /** Preparing failed: the original bytes go out untouched. */
  onError(error: unknown): void
  /** The bytes to send for the final HTML (compressed, say), with the headers that go with them. */
  encode?(html: string | Buffer): Promise<string | Buffer>
}

/** Most bytes of a streamed body held back while looking for the end of its head. */
export const MAX_HELD_BYTES = 64 * 1024
/**
 * A streamed body whose head is not complete yet is held at most this long after the last write:
 * a framework that pauses mid-head (an awaited render) would otherwise delay the first byte by
 * its own render time.
 */
export const HOLD_PAUSE_MS = 20

type Callback = (error?: Error | null) => void
type WriteFunction = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean
type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown
type WriteHeadFunction = (statusCode: number, reason?: unknown, headers?: unknown) => ServerResponse

/** One `write` as the framework made it: its bytes (for decoding) and its original arguments (to pass on untouched). */
interface Write {
  bytes: Buffer
  chunk: unknown
  encoding: BufferEncoding | undefined
  callback: Callback | undefined
}

/**
 * Hooks the response so that a 200 `text/html` body goes through `hooks.prepare` before it is
 * sent, however it is written:
 * - one `res.end(html)`: the whole body is prepared, and the response ends with the prepared HTML,
 *   an ETag of its own and a corrected `Content-Length` when it changed, or a 304 without a body
 *   when the request's `If-None-Match` names that ETag (a reload of an unchanged page);
 * - `writeHead` (deferred while the body is held), then `write` chunks (string, Buffer or
 *   Uint8Array, any encoding), then `end`: only the head is held and prepared; the rest passes
 *   through untouched as it is written (seen by `hooks.onRest` as text), and the response ends
 *   only once `hooks.beforeEnd` resolved. A changed head drops `Content-Length` and `ETag`.
 * The body is decoded in the charset its `Content-Type` declares (UTF-8 by default), with a
 * streaming decoder so characters split across chunks come out whole; a prepared head goes out
 * in that charset. Anything else (another status or type, an encoded body) passes straight through.
 */
export function interceptHtml(res: ServerResponse, hooks: HtmlInterceptHooks): void {
  const original = {
    writeHead: res.writeHead as unknown as WriteHeadFunction,
    write: res.write as unknown as WriteFunction,
    end: res.end as unknown as EndFunction,
    flushHeaders: res.flushHeaders,
  }
  let state: 'undecided' | 'holding' | 'preparing' | 'passing' | 'done' = 'undecided'
  let decoder: TextDecoder | undefined
  let charset = 'utf-8'
  const held: Write[] = []
  let heldBytes = 0
  let heldText = ''
  /** Writes made while the head is being prepared, sent right after it. */
  const queued: Write[] = []
  let pendingEnd: { callback: Callback | undefined } | undefined
  let pauseTimer: NodeJS.Timeout | undefined
  let needsDrain = false
  let queuedBytes = 0

  const restore = () => {
    res.writeHead = original.writeHead as unknown as ServerResponse['writeHead']
    res.write = original.write as unknown as ServerResponse['write']
    res.end = original.end as unknown as ServerResponse['end']
    res.flushHeaders = original.flushHeaders
  }

  /** Decides, at the first body byte, whether this response is one to prepare. */
  const decide = (): boolean => {
    const type = String(res.getHeader('content-type') ?? '')
    const encoding = String(res.getHeader('content-encoding') ?? 'identity').toLowerCase()
    if (res.statusCode !== 200 || !/^text\/html\b/i.test(type) || encoding !== 'identity' || res.headersSent) {
      restore()
      state = 'done'
      return false
    }
    charset = declaredCharset(type)
    try {
      decoder = new TextDecoder(charset)
    } catch {
      charset = 'utf-8'
      decoder = new TextDecoder(charset)
    }
    return true
  }

  const patchedWriteHead: WriteHeadFunction = function (statusCode, reason, headers) {
    // Deferred (as setHeader calls) so that headers can still change once the head is prepared.
    res.statusCode = statusCode
    if (typeof reason !== 'string') headers = reason
    else if (!(res as unknown as { stream?: unknown }).stream) res.statusMessage = reason // HTTP/2 has none
    for (const [name, value] of headerPairs(headers)) res.setHeader(name, value)
    return res
  }

  const patchedWrite: WriteFunction = function (chunk, encoding, callback) {
    if (state === 'undecided' && !decide()) return original.write.call(res, chunk, encoding, callback)
    if (state === 'done') return original.write.call(res, chunk, encoding, callback)
    const write = toWrite(chunk, encoding, callback)
    if (state === 'passing') {
      hooks.onRest?.(decoder!.decode(write.bytes, { stream: true }))
      return original.write.call(res, chunk, encoding, callback)
    }
    if (state === 'preparing') {
      queued.push(write)
      queuedBytes += write.bytes.length
      if (queuedBytes < MAX_HELD_BYTES) return true
      needsDrain = true
      return false
    }
    state = 'holding'
    held.push(write)
    heldBytes += write.bytes.length
    heldText += decoder!.decode(write.bytes, { stream: true })
    if (headIsComplete(heldText) || heldBytes >= MAX_HELD_BYTES) releaseHead()
    else armPauseTimer()
    return true
  }

  const patchedEnd: EndFunction = function (chunk, encoding, callback) {
    if (typeof chunk === 'function') {
      callback = chunk
      chunk = undefined
      encoding = undefined
    } else if (typeof encoding === 'function') {
      callback = encoding
      encoding = undefined
    }
    const hasChunk = chunk !== undefined && chunk !== null && !(typeof chunk === 'string' && chunk === '')
    if (state === 'undecided') {
      if (!hasChunk || !isBodyChunk(chunk) || !decide()) {
        restore()
        state = 'done'
        return original.end.call(res, chunk, encoding, callback)
      }
      prepareWhole(toWrite(chunk, encoding, callback as Callback | undefined))
      return res
    }
    if (state === 'passing') {
      if (hasChunk) patchedWrite(chunk, encoding, undefined)
      endStream(callback as Callback | undefined)
      return res
    }
    if (state === 'done') return original.end.call(res, chunk, encoding, callback)
    // holding or preparing: the head is not out yet
    if (hasChunk) patchedWrite(chunk, encoding, undefined)
    pendingEnd = { callback: callback as Callback | undefined }
    if (state === 'holding') releaseHead()
    return res
  }

  const patchedFlushHeaders = function () {
    // Deferred too: the headers may still change until the head has been prepared.
  }

  /**
   * One `res.end(html)`: prepare the whole body, then end with it, or with a 304 when the client
   * already holds the prepared bytes (its `If-None-Match` names their ETag).
   */
  const prepareWhole = (write: Write) => {
    state = 'preparing'
    const html = decoder!.decode(write.bytes)
    let notModified = false
    hooks
      .prepare(html, true)
      .then(
        (finalHtml) => {
          if (finalHtml === html || res.headersSent) return write.chunk
          const body = encodeEdited(html, finalHtml, write.bytes, charset)
          if (!body) throw new Error(`cannot write the prepared HTML back in charset ${charset}`)
          const etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`
          res.setHeader('etag', etag)
          if (res.hasHeader('content-length')) res.setHeader('content-length', body.length)
          notModified = ifNoneMatchHits(res.req?.headers['if-none-match'], etag)
          return body
        },
        (error: unknown) => {
          hooks.onError(error)
          return write.chunk
        },
      )
      .catch((error: unknown) => {
        hooks.onError(error)
        return write.chunk
      })
      .then((body) => (hooks.encode && !notModified ? hooks.encode(body as string | Buffer).catch(() => body) : body))
      .then((body) => {
        restore()
        state = 'done'
        if (res.writableEnded || res.destroyed) return
        if (notModified) {
          answerNotModified(res)
          original.end.call(res, undefined, undefined, write.callback)
        } else original.end.call(res, body, body === write.chunk ? write.encoding : undefined, write.callback)
      })
  }

  const armPauseTimer = () => {
    if (pauseTimer) clearTimeout(pauseTimer)
    pauseTimer = setTimeout(() => {
      if (state === 'holding') releaseHead()
    }, HOLD_PAUSE_MS)
  }

  /** The head of a streamed body is held: prepare it, send it, then pass the rest through. */
  const releaseHead = () => {
    if (pauseTimer) clearTimeout(pauseTimer)
    state = 'preparing'
    const heldChunks = held.splice(0)
    const text = heldText
    heldText = ''
    const heldBody = Buffer.concat(heldChunks.map((write) => write.bytes))
    hooks
      .prepare(text, false)
      .then((prepared) => {
        if (prepared === text) return undefined
        const bytes = encodeEdited(text, prepared, heldBody, charset)
        if (!bytes) throw new Error(`cannot write the prepared HTML back in charset ${charset}`)
        return bytes
      })
      .catch((error: unknown) => {
        hooks.onError(error)
        return undefined
      })
      .then((preparedBytes) => sendHead(heldChunks, preparedBytes))
  }

  const sendHead = (heldChunks: Write[], preparedBytes: Buffer | undefined) => {
    state = 'passing'
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
    for (const write of queued.splice(0)) {
      hooks.onRest?.(decoder!.decode(write.bytes, { stream: true }))
      drained = original.write.call(res, write.chunk, write.encoding, write.callback)
    }
    if (needsDrain && drained) {
      needsDrain = false
      res.emit('drain')
    }
    if (pendingEnd) endStream(pendingEnd.callback)
  }

  /** Ends a streamed response once `beforeEnd` resolved (pushes are promised by then). */
  const endStream = (callback: Callback | undefined) => {
    state = 'done'
    const tail = decoder!.decode()
    if (tail) hooks.onRest?.(tail)
    restore()
    const beforeEnd = hooks.beforeEnd?.() ?? Promise.resolve()
    beforeEnd
      .catch((error: unknown) => hooks.onError(error))
      .then(() => {
        if (!res.writableEnded && !res.destroyed) original.end.call(res, undefined, undefined, callback)
      })
  }

  res.writeHead = patchedWriteHead as unknown as ServerResponse['writeHead']
  res.write = patchedWrite as unknown as ServerResponse['write']
  res.end = patchedEnd as unknown as ServerResponse['end']
  res.flushHeaders = patchedFlushHeaders
}

/** True once the held text holds the whole head: its `</head>` or a module script tag. */
function headIsComplete(text: string): boolean {
  return /<\/head\s*>|<script\b[^>]*\btype\s*=\s*["']?module\b[^>]*>/i.test(text)
}

function isBodyChunk(chunk: unknown): boolean {
  return typeof chunk === 'string' || chunk instanceof Uint8Array
}

function toWrite(chunk: unknown, encoding: unknown, callback: unknown): Write {
  if (typeof encoding === 'function') {
    callback = encoding
    encoding = undefined
  }
  const bufferEncoding = typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined
  let bytes: Buffer
  if (typeof chunk === 'string') bytes = Buffer.from(chunk, bufferEncoding ?? 'utf8')
  else if (Buffer.isBuffer(chunk)) bytes = chunk
  else if (chunk instanceof Uint8Array) bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  else bytes = Buffer.alloc(0)
  return { bytes, chunk, encoding: bufferEncoding, callback: callback as Callback | undefined }
}

/** The charset a `Content-Type` declares (`utf-8` when it declares none). */
function declaredCharset(contentType: string): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)
  return match ? match[1]!.toLowerCase() : 'utf-8'
}

/**
 * The bytes of `edited` in `charset`. UTF-8 and UTF-16LE are encoded directly. For any other
 * charset the edit must be what the pipeline makes, an insertion of ASCII text: the original bytes
 * are kept and the inserted text spliced in at the byte offset of its insertion point. Undefined
 * when that is not possible.
 */
function encodeEdited(original: string, edited: string, originalBytes: Buffer, charset: string): Buffer | undefined {
  const normalized = charset.toLowerCase().replace(/[^a-z0-9]/g, '')
  if (normalized === 'utf8' || normalized === 'unicode11utf8') return Buffer.from(edited, 'utf8')
  if (normalized === 'utf16le' || normalized === 'utf16') return Buffer.from(edited, 'utf16le')
  let prefix = 0
  const limit = Math.min(original.length, edited.length)
  while (prefix < limit && original.charCodeAt(prefix) === edited.charCodeAt(prefix)) prefix++
  const insertedLength = edited.length - original.length
  if (insertedLength <= 0 || edited.slice(prefix + insertedLength) !== original.slice(prefix)) return undefined
  const inserted = edited.slice(prefix, prefix + insertedLength)
  for (let i = 0; i < inserted.length; i++) if (inserted.charCodeAt(i) > 0x7f) return undefined
  const offset = byteOffsetOf(prefix, original, originalBytes, charset)
  if (offset === undefined) return undefined
  return Buffer.concat([
    originalBytes.subarray(0, offset),
    Buffer.from(inserted, 'latin1'),
    originalBytes.subarray(offset),
  ])
}

/** The byte offset in `bytes` (text in `charset`) where the first `chars` characters of `text` end. */
function byteOffsetOf(chars: number, text: string, bytes: Buffer, charset: string): number | undefined {
  const decoder = new TextDecoder(charset)
  const want = text.slice(0, chars)
  let low = 0
  let high = bytes.length
  // Decoded length grows with the byte count: find the smallest prefix that decodes to `want`.
  while (low < high) {
    const middle = (low + high) >> 1
    if (decoder.decode(bytes.subarray(0, middle)).length < chars) low = middle + 1
    else high = middle
  }
  return decoder.decode(bytes.subarray(0, low)) === want ? low : undefined
}

/** Header name/value pairs from `writeHead`'s headers: an object, `[name, value][]` or a flat `[name, value, ...]` list. */
function headerPairs(headers: unknown): Array<[string, OutgoingHttpHeader]> {
  if (!headers) return []
  if (!Array.isArray(headers))
    return Object.entries(headers as OutgoingHttpHeaders).filter(([, value]) => value !== undefined) as Array<
      [string, OutgoingHttpHeader]
    >
  const merged = new Map<string, { name: string; values: string[] }>()
  const add = (name: unknown, value: unknown) => {
    const key = String(name).toLowerCase()
    const entry = merged.get(key) ?? { name: String(name), values: [] }
    for (const item of Array.isArray(value) ? value : [value]) entry.values.push(String(item))
    merged.set(key, entry)
  }
  if (headers.length > 0 && Array.isArray(headers[0]))
    for (const [name, value] of headers as unknown[][]) add(name, value)
  else for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1])
  return [...merged.values()].map(({ name, values }) => [name, values.length === 1 ? values[0]! : values])
}
