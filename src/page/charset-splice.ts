/** The charset a `Content-Type` declares (`utf-8` when it declares none). */
export function declaredCharset(contentType: string): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)
  return match ? match[1]!.toLowerCase() : 'utf-8'
}

/** A decoder for `charset`, or for UTF-8 when the runtime knows no such charset (with the charset it decodes). */
export function decoderFor(charset: string): { decoder: TextDecoder; charset: string } {
  try {
    return { decoder: new TextDecoder(charset), charset }
  } catch {
    return { decoder: new TextDecoder('utf-8'), charset: 'utf-8' }
  }
}

/**
 * The bytes of `edited` in `charset`. UTF-8 and UTF-16LE are encoded directly. For any other
 * charset the edit must be what the pipeline makes, an insertion of ASCII text: the original bytes
 * are kept and the inserted text spliced in at the byte offset of its insertion point. Undefined
 * when that is not possible.
 */
export function encodeEdited(
  original: string,
  edited: string,
  originalBytes: Buffer,
  charset: string,
): Buffer | undefined {
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
