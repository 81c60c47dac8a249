import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http'

export type Callback = (error?: Error | null) => void
/** `res.write`, `res.end` and `res.writeHead` as the response hook keeps and calls the originals. */
export type WriteFunction = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean
export type EndFunction = (chunk?: unknown, encoding?: unknown, callback?: unknown) => unknown
export type WriteHeadFunction = (statusCode: number, reason?: unknown, headers?: unknown) => ServerResponse

/** One `write` as the framework made it: its bytes (for decoding) and its original arguments (to pass on untouched). */
export interface Write {
  bytes: Buffer
  chunk: unknown
  encoding: BufferEncoding | undefined
  callback: Callback | undefined
}

/** `end(chunk?, encoding?, callback?)`'s arguments in their places, whichever were left out. */
export function endArguments(
  chunk: unknown,
  encoding: unknown,
  callback: unknown,
): { chunk: unknown; encoding: unknown; callback: unknown } {
  if (typeof chunk === 'function') return { chunk: undefined, encoding: undefined, callback: chunk }
  if (typeof encoding === 'function') return { chunk, encoding: undefined, callback: encoding }
  return { chunk, encoding, callback }
}

/** True for a chunk `write`/`end` can send: a string or bytes. */
export function isBodyChunk(chunk: unknown): boolean {
  return typeof chunk === 'string' || chunk instanceof Uint8Array
}

/** A `write(chunk, encoding?, callback?)` call as a {@link Write}. */
export function toWrite(chunk: unknown, encoding: unknown, callback: unknown): Write {
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

/** Header name/value pairs from `writeHead`'s headers: an object, `[name, value][]` or a flat `[name, value, ...]` list. */
export function headerPairs(headers: unknown): Array<[string, OutgoingHttpHeader]> {
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
