// A minimal DER (ASN.1 Distinguished Encoding Rules) writer and reader: just enough to build
// X.509 certificates and to read back the few fields of a CA certificate a leaf needs.
// Every writer returns a complete TLV as a Buffer.

const TAG_BOOLEAN = 0x01
const TAG_INTEGER = 0x02
const TAG_BIT_STRING = 0x03
const TAG_OCTET_STRING = 0x04
const TAG_NULL = 0x05
const TAG_OID = 0x06
const TAG_UTF8_STRING = 0x0c
const TAG_IA5_STRING = 0x16
const TAG_UTC_TIME = 0x17
const TAG_GENERALIZED_TIME = 0x18
const TAG_SEQUENCE = 0x30
const TAG_SET = 0x31

const CLASS_CONTEXT_SPECIFIC = 0x80
const CONSTRUCTED = 0x20
const MAX_LOW_TAG_NUMBER = 30

/** Encodes a definite length: short form below 128, long form otherwise. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Invalid DER length: ${length}`)
  }
  if (length < 0x80) return Buffer.from([length])
  const bytes: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
    bytes.unshift(rest % 256)
  }
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** Wraps content in a tag-length-value triple with a single-byte tag. */
function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content])
}

/** SEQUENCE of already-encoded elements, in the given order. */
export function sequence(...elements: Buffer[]): Buffer {
  return tlv(TAG_SEQUENCE, Buffer.concat(elements))
}

/** SET OF already-encoded elements, sorted by encoding as DER requires. */
export function set(...elements: Buffer[]): Buffer {
  const sorted = [...elements].sort(Buffer.compare)
  return tlv(TAG_SET, Buffer.concat(sorted))
}

/** Non-negative INTEGER from big-endian magnitude bytes (minimal, with a 0x00 pad when the top bit is set). */
export function integer(magnitude: Buffer): Buffer {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const minimal = magnitude.length === 0 ? Buffer.from([0]) : magnitude.subarray(start)
  const needsPad = (minimal[0] as number) & 0x80
  return tlv(TAG_INTEGER, needsPad ? Buffer.concat([Buffer.from([0]), minimal]) : minimal)
}

/** BOOLEAN (DER: TRUE is 0xFF). */
export function boolean(value: boolean): Buffer {
  return tlv(TAG_BOOLEAN, Buffer.from([value ? 0xff : 0x00]))
}

/** OBJECT IDENTIFIER from dotted-decimal notation, e.g. "2.5.4.3". */
export function oid(dotted: string): Buffer {
  const arcs = parseOidArcs(dotted)
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]]
  const encodedArcs = [first * 40n + second, ...rest].map(encodeBase128)
  return tlv(TAG_OID, Buffer.concat(encodedArcs))
}

function parseOidArcs(dotted: string): bigint[] {
  if (!/^\d+(\.\d+)+$/.test(dotted)) throw new Error(`Invalid OID: "${dotted}"`)
  const arcs = dotted.split('.').map((arc) => BigInt(arc))
  const [first, second] = arcs as [bigint, bigint]
  if (first > 2n || (first < 2n && second > 39n)) throw new Error(`Invalid OID: "${dotted}"`)
  return arcs
}

function encodeBase128(value: bigint): Buffer {
  const bytes = [Number(value & 0x7fn)]
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) {
    bytes.unshift(Number(rest & 0x7fn) | 0x80)
  }
  return Buffer.from(bytes)
}

/** UTF8String. */
export function utf8String(value: string): Buffer {
  return tlv(TAG_UTF8_STRING, Buffer.from(value, 'utf8'))
}

/** IA5String (7-bit ASCII; throws otherwise), used for dNSName. */
export function ia5String(value: string): Buffer {
  if (!/^\p{ASCII}*$/u.test(value)) throw new Error(`Not an IA5String: "${value}"`)
  return tlv(TAG_IA5_STRING, Buffer.from(value, 'ascii'))
}

/** UTCTime "YYMMDDHHMMSSZ" (only for years 1950-2049). */
function utcTime(date: Date): Buffer {
  const year = date.getUTCFullYear()
  if (year < 1950 || year > 2049) throw new RangeError(`UTCTime cannot represent year ${year}`)
  return tlv(TAG_UTC_TIME, Buffer.from(formatTime(date).slice(2), 'ascii'))
}

/** GeneralizedTime "YYYYMMDDHHMMSSZ" (no fractional seconds). */
function generalizedTime(date: Date): Buffer {
  return tlv(TAG_GENERALIZED_TIME, Buffer.from(formatTime(date), 'ascii'))
}

/** X.509 Time (RFC 5280 §4.1.2.5): UTCTime for 1950-2049, GeneralizedTime otherwise. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear()
  return year >= 1950 && year < 2050 ? utcTime(date) : generalizedTime(date)
}

function formatTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid Date')
  const year = date.getUTCFullYear()
  if (year < 0 || year > 9999) throw new RangeError(`Year out of range: ${year}`)
  const twoDigits = (n: number): string => String(n).padStart(2, '0')
  return (
    String(year).padStart(4, '0') +
    twoDigits(date.getUTCMonth() + 1) +
    twoDigits(date.getUTCDate()) +
    twoDigits(date.getUTCHours()) +
    twoDigits(date.getUTCMinutes()) +
    twoDigits(date.getUTCSeconds()) +
    'Z'
  )
}

/** BIT STRING from whole bytes, with `unusedBits` (0-7) padding bits in the last byte. */
export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new RangeError(`Invalid unused bit count: ${unusedBits}`)
  }
  if (bytes.length === 0 && unusedBits !== 0) {
    throw new RangeError('An empty BIT STRING cannot have unused bits')
  }
  return tlv(TAG_BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]))
}

/** NULL (the parameters of sha256WithRSAEncryption). */
export function nullValue(): Buffer {
  return tlv(TAG_NULL, Buffer.alloc(0))
}

/** OCTET STRING. */
export function octetString(bytes: Buffer): Buffer {
  return tlv(TAG_OCTET_STRING, bytes)
}

/** Context-specific EXPLICIT tag [n]: a constructed wrapper around one encoded element. */
export function explicit(tagNumber: number, element: Buffer): Buffer {
  return tlv(contextTag(tagNumber, true), element)
}

/**
 * Context-specific IMPLICIT tag [n]: replaces the tag of `element` (a complete TLV),
 * keeping its content. Constructed-ness follows the original element's tag.
 */
export function implicit(tagNumber: number, element: Buffer): Buffer {
  const originalTag = element[0]
  if (originalTag === undefined) throw new Error('Cannot implicitly tag an empty encoding')
  if ((originalTag & 0x1f) === 0x1f) throw new Error('Multi-byte tags are not supported')
  const constructed = (originalTag & CONSTRUCTED) !== 0
  return Buffer.concat([Buffer.from([contextTag(tagNumber, constructed)]), element.subarray(1)])
}

function contextTag(tagNumber: number, constructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > MAX_LOW_TAG_NUMBER) {
    throw new RangeError(`Unsupported context tag number: ${tagNumber}`)
  }
  return CLASS_CONTEXT_SPECIFIC | (constructed ? CONSTRUCTED : 0) | tagNumber
}

/** One element read back from a DER encoding: its tag, its content and the whole TLV. */
export interface DerElement {
  tag: number
  content: Buffer
  encoded: Buffer
}

/** Reads the element that starts at `offset` (single-byte tags, definite lengths only). */
export function readElement(der: Buffer, offset = 0): DerElement {
  const tag = der[offset]
  const first = der[offset + 1]
  if (tag === undefined || first === undefined) throw new Error('Truncated DER element')
  let length = first
  let headerLength = 2
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 4) throw new Error('Unsupported DER length')
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] ?? 0)
    headerLength += count
  }
  const end = offset + headerLength + length
  if (end > der.length) throw new Error('Truncated DER element')
  return { tag, content: der.subarray(offset + headerLength, end), encoded: der.subarray(offset, end) }
}

/** The elements inside a constructed element's content, in order. */
export function readChildren(content: Buffer): DerElement[] {
  const children: DerElement[] = []
  for (let offset = 0; offset < content.length;) {
    const child = readElement(content, offset)
    children.push(child)
    offset += child.encoded.length
  }
  return children
}
