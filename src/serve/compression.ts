import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import type { CompressionMode } from '../options.js'
import { clientOf, compressionChoice } from './compression-choice.js'

export { isLoopback } from './compression-choice.js'

/** A content coding the plugin produces. */
export type Encoding = 'br' | 'gzip' | 'zstd'

type Compress = (body: Buffer, callback: (error: Error | null, result: Buffer) => void) => void

/** `zlib.zstdCompress`, on the Node versions that have it (22.15+, 23.8+). */
const zstdCompress = (zlib as unknown as { zstdCompress?: Compress }).zstdCompress

/**
 * Brotli at quality 5: within a few percent of quality 11 on source modules at a fraction of the
 * CPU, and each response is compressed once per version anyway.
 */
const BROTLI_QUALITY = 5

const COMPRESSORS: Partial<Record<Encoding, Compress>> = {
  br: (body, callback) =>
    zlib.brotliCompress(
      body,
      {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      },
      callback,
    ),
  ...(zstdCompress ? { zstd: zstdCompress } : {}),
  gzip: (body, callback) => zlib.gzip(body, { level: 6 }, callback),
}

/** The encodings this Node can produce, in the plugin's order of preference. */
const AVAILABLE_ENCODINGS: readonly Encoding[] = (['br', 'zstd', 'gzip'] as const).filter(
  (encoding) => COMPRESSORS[encoding] !== undefined,
)

/**
 * Bodies smaller than this are sent as they are. Measured on the playground's closure (median
 * body 0.9 kB with external maps): skipping below 1 kB left 0.45 MB, below 256 B 0.33 MB; below
 * that the gain is nil.
 */
const MIN_COMPRESSED_BYTES = 256

/**
 * The encoding to send for an `Accept-Encoding` header: the acceptable one (q > 0, by name or
 * by `*`) with the highest q, ties going to the first of `available`; undefined for none (send
 * the identity), including a missing header and `identity` alone.
 */
export function negotiateEncoding(
  header: string | undefined,
  available: readonly Encoding[] = AVAILABLE_ENCODINGS,
): Encoding | undefined {
  if (!header) return undefined
  const weights = new Map<string, number>()
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.toLowerCase().split(';')
    const name = rawName?.trim()
    if (!name) continue
    const q = params.map((param) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined)
    weights.set(name, q === undefined ? 1 : Number(q))
  }
  let best: Encoding | undefined
  let bestWeight = 0
  for (const encoding of available) {
    const weight = weights.get(encoding) ?? weights.get('*') ?? 0
    if (weight > bestWeight) {
      best = encoding
      bestWeight = weight
    }
  }
  return best
}

/** True for a content type worth compressing: JavaScript, CSS, HTML, JSON, SVG, XML, plain text. */
export function isCompressible(contentType: OutgoingHttpHeader | undefined): boolean {
  return /\b(?:javascript|ecmascript|css|html|json|svg|xml|text\/plain)\b/i.test(String(contentType ?? ''))
}

/**
 * The encoding a request should get, or undefined (identity): by `mode` (see
 * {@link compressionChoice}), the request's `Accept-Encoding`, never for a `Range` request.
 */
export function encodingFor(req: IncomingMessage, mode: CompressionMode): Encoding | undefined {
  return compressesFor(req, mode) ? acceptedEncoding(req) : undefined
}

/** The encoding the request's `Accept-Encoding` asks for, or undefined (identity), never for a `Range` request. */
export function acceptedEncoding(req: IncomingMessage): Encoding | undefined {
  if (req.headers.range !== undefined) return undefined
  const header = req.headers['accept-encoding']
  return negotiateEncoding(Array.isArray(header) ? header.join(',') : header)
}

/** True when `mode` compresses anything for this client (so its responses vary by `Accept-Encoding`). */
export function compressesFor(req: IncomingMessage, mode: CompressionMode): boolean {
  return compressionChoice(clientOf(req), mode).compress
}

/** Compresses once; undefined when the result is not at least 5% smaller (the body is then sent as is). */
function compress(body: Buffer, encoding: Encoding): Promise<Buffer | undefined> {
  const compressor = COMPRESSORS[encoding]
  if (!compressor || body.length < MIN_COMPRESSED_BYTES) return Promise.resolve(undefined)
  return new Promise((resolve, reject) =>
    compressor(body, (error, result) =>
      error ? reject(error) : resolve(result.length < body.length * 0.95 ? result : undefined),
    ),
  )
}

interface Entry {
  /** Per encoding: the encoded body, null when it does not pay, or the compression under way. */
  encoded: Map<Encoding, Buffer | null | Promise<Buffer | null>>
  bytes: number
  body: WeakRef<Buffer>
}

/**
 * Encoded forms of bodies, each made once and kept while its body lives (keyed weakly by the
 * body itself, which the response cache holds once per version), at most `maxBytes` of encoded
 * bytes in all: the least recently used are dropped first.
 */
export class EncodedBodies {
  private readonly byBody = new WeakMap<Buffer, Entry>()
  /** Least recently used first. A body that was collected leaves its bytes counted until it is dropped here. */
  private readonly recent = new Set<Entry>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  /** Encoded bytes held (an upper bound: bodies collected since are counted until their turn to go). */
  get size(): number {
    return this.bytes
  }

  /** The body in `encoding`, or undefined when it is sent as is; compressed on first use only. */
  async encode(body: Buffer, encoding: Encoding): Promise<Buffer | undefined> {
    if (body.length < MIN_COMPRESSED_BYTES) return undefined
    let entry = this.byBody.get(body)
    if (entry) this.recent.delete(entry)
    else {
      entry = { encoded: new Map(), bytes: 0, body: new WeakRef(body) }
      this.byBody.set(body, entry)
    }
    this.recent.add(entry)
    const known = entry.encoded.get(encoding)
    if (known !== undefined) return (await known) ?? undefined
    const pending = compress(body, encoding).then(
      (result) => result ?? null,
      () => null,
    )
    entry.encoded.set(encoding, pending)
    const result = await pending
    if (entry.encoded.get(encoding) === pending) {
      entry.encoded.set(encoding, result)
      this.add(entry, result?.length ?? 0)
    }
    return result ?? undefined
  }

  private add(entry: Entry, bytes: number): void {
    if (!this.recent.has(entry)) return // dropped while it compressed
    entry.bytes += bytes
    this.bytes += bytes
    for (const oldest of this.recent) {
      if (this.bytes <= this.maxBytes) break
      this.recent.delete(oldest)
      this.bytes -= oldest.bytes
      oldest.encoded.clear()
      const alive = oldest.body.deref()
      if (alive) this.byBody.delete(alive)
    }
  }
}

/**
 * Sets the headers of an encoded response: `Content-Encoding`, `Vary: Accept-Encoding` (added to
 * what is there, such as Vite's `Vary: Origin`) and a `Content-Length` that matches, if one was set.
 */
export function setEncodingHeaders(res: ServerResponse, encoding: Encoding | undefined, length: number): void {
  addVaryAcceptEncoding(res)
  if (encoding) res.setHeader('content-encoding', encoding)
  if (res.hasHeader('content-length')) res.setHeader('content-length', length)
}

/** Adds `Accept-Encoding` to the response's `Vary` (once). */
function addVaryAcceptEncoding(res: ServerResponse): void {
  const vary = res.getHeader('vary')
  const values = (Array.isArray(vary) ? vary : vary === undefined ? [] : [String(vary)])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean)
  if (values.some((value) => value === '*' || value.toLowerCase() === 'accept-encoding')) return
  res.setHeader('vary', [...values, 'Accept-Encoding'].join(', '))
}

/**
 * A response body made once per request (the final HTML) in the encoding the request gets, with
 * its headers set (see {@link setEncodingHeaders}); as is when `mode` leaves this client alone,
 * the response has an encoding already, or compressing does not pay.
 */
export async function encodeOnce(
  req: IncomingMessage,
  res: ServerResponse,
  mode: CompressionMode,
  body: string | Buffer,
): Promise<string | Buffer> {
  if (!compressesFor(req, mode) || res.hasHeader('content-encoding') || res.headersSent) return body
  const encoding = encodingFor(req, mode)
  const encoded = encoding && (await compress(Buffer.from(body), encoding).catch(() => undefined))
  if (res.headersSent) return body
  setEncodingHeaders(res, encoded ? encoding : undefined, encoded ? encoded.length : Buffer.byteLength(body))
  return encoded || body
}
