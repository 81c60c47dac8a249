// Builds a self-signed X.509 v3 certificate for local HTTPS / HTTP/2 with nothing but node:crypto.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  octetString,
  oid,
  sequence,
  set,
  time,
  utf8String,
} from './der.js'

export interface SelfSignedCertificateOptions {
  /** Subject and issuer common name. Default: "localhost". */
  commonName?: string
  /** Extra DNS subjectAltNames; "localhost" is always included. */
  dnsNames?: string[]
  /** Extra IP subjectAltNames (IPv4 or IPv6); 127.0.0.1 and ::1 are always included. */
  ipAddresses?: string[]
  /** Days of validity after `now` (1-397, so the whole window incl. the 1-day backdate is <= 398 days). Default: 365. */
  days?: number
  /** Reference time for the validity window. Default: the current time. */
  now?: Date
}

export interface PemKeyAndCertificate {
  key: string
  cert: string
}

const DEFAULT_COMMON_NAME = 'localhost'
const DEFAULT_DNS_NAMES = ['localhost']
const DEFAULT_IP_ADDRESSES = ['127.0.0.1', '::1']
const DEFAULT_DAYS = 365
// Browsers cap leaf validity at 398 days; notBefore is backdated one day, so 397 days ahead is the limit.
const MAX_DAYS = 397
const DAY_MS = 24 * 60 * 60 * 1000
const SERIAL_BYTES = 16
const X509_VERSION_3 = 2

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const

// GeneralName CHOICE tags (RFC 5280 §4.2.1.6).
const GENERAL_NAME_DNS = 2
const GENERAL_NAME_IP = 7
// keyUsage bit 0 (digitalSignature) is the most significant bit of the first byte; the other 7 bits are unused.
const KEY_USAGE_DIGITAL_SIGNATURE = Buffer.from([0x80])
const KEY_USAGE_UNUSED_BITS = 7

/** Creates a fresh ECDSA P-256 key and a self-signed X.509 v3 server certificate, both PEM-encoded. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions = {}): PemKeyAndCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const now = options.now ?? new Date()
  const days = validateDays(options.days ?? DEFAULT_DAYS)
  const name = distinguishedName(options.commonName ?? DEFAULT_COMMON_NAME)

  const tbs = sequence(
    explicit(0, integer(Buffer.from([X509_VERSION_3]))),
    integer(randomSerialNumber()),
    signatureAlgorithm(),
    name,
    sequence(time(new Date(now.getTime() - DAY_MS)), time(new Date(now.getTime() + days * DAY_MS))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions(publicKey, options)),
  )
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })
  const certificate = sequence(tbs, signatureAlgorithm(), bitString(signature))

  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: toPem('CERTIFICATE', certificate),
  }
}

/** Parses an IPv4 or IPv6 address into its 4- or 16-byte network representation. */
export function ipAddressToBytes(address: string): Buffer {
  const bytes = address.includes(':') ? parseIpv6(address) : parseIpv4(address)
  if (!bytes) throw new Error(`Invalid IP address: "${address}"`)
  return bytes
}

function validateDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new RangeError(`Certificate validity must be a whole number of days from 1 to ${MAX_DAYS}, got ${days}`)
  }
  return days
}

function randomSerialNumber(): Buffer {
  const serial = randomBytes(SERIAL_BYTES)
  // Clear the sign bit (serials must be positive) and set the next one so the value is never shortened.
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40
  return serial
}

function signatureAlgorithm(): Buffer {
  // RFC 5758: the parameters field is absent for ecdsa-with-SHA256.
  return sequence(oid(OID.ecdsaWithSha256))
}

function distinguishedName(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))))
}

function extensions(publicKey: KeyObject, options: SelfSignedCertificateOptions): Buffer {
  return sequence(
    extension(OID.subjectAltName, false, subjectAltName(options)),
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, bitString(KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_UNUSED_BITS)),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyIdentifier(publicKey))),
  )
}

function extension(extensionId: string, critical: boolean, value: Buffer): Buffer {
  // DER omits fields equal to their DEFAULT, and `critical` defaults to FALSE.
  const criticalField = critical ? [boolean(true)] : []
  return sequence(oid(extensionId), ...criticalField, octetString(value))
}

function subjectAltName(options: SelfSignedCertificateOptions): Buffer {
  const dnsNames = uniqueBy([...DEFAULT_DNS_NAMES, ...(options.dnsNames ?? [])], (n) => n.toLowerCase())
  const ipBytes = uniqueBy([...DEFAULT_IP_ADDRESSES, ...(options.ipAddresses ?? [])].map(ipAddressToBytes), (bytes) =>
    bytes.toString('hex'),
  )
  return sequence(
    ...dnsNames.map((dnsName) => implicit(GENERAL_NAME_DNS, ia5String(dnsName))),
    ...ipBytes.map((bytes) => implicit(GENERAL_NAME_IP, octetString(bytes))),
  )
}

function subjectKeyIdentifier(publicKey: KeyObject): Buffer {
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (the uncompressed EC point).
  const jwk = publicKey.export({ format: 'jwk' })
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ])
  return createHash('sha1').update(point).digest()
}

function uniqueBy<T>(items: T[], keyOf: (item: T) => string): T[] {
  const seen = new Set<string>()
  return items.filter((item) => {
    const key = keyOf(item)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function parseIpv4(address: string): Buffer | undefined {
  const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
  const match = new RegExp(`^${octet}\\.${octet}\\.${octet}\\.${octet}$`).exec(address)
  return match ? Buffer.from(match.slice(1, 5).map(Number)) : undefined
}

function parseIpv6(address: string): Buffer | undefined {
  const expanded = expandEmbeddedIpv4(address)
  if (expanded === undefined) return undefined
  const halves = expanded.split('::')
  if (halves.length > 2) return undefined
  const head = splitHexGroups(halves[0] as string)
  const tail = halves.length === 2 ? splitHexGroups(halves[1] as string) : []
  if (!head || !tail) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2))
  return bytes
}

// Rewrites a trailing dotted IPv4 part ("::ffff:1.2.3.4") as two hex groups ("::ffff:102:304").
function expandEmbeddedIpv4(address: string): string | undefined {
  const lastColon = address.lastIndexOf(':')
  const last = address.slice(lastColon + 1)
  if (!last.includes('.')) return address
  const ipv4 = parseIpv4(last)
  if (!ipv4) return undefined
  const high = ipv4.readUInt16BE(0).toString(16)
  const low = ipv4.readUInt16BE(2).toString(16)
  return `${address.slice(0, lastColon + 1)}${high}:${low}`
}

function splitHexGroups(part: string): number[] | undefined {
  if (part === '') return []
  const groups = part.split(':')
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined
  return groups.map((group) => Number.parseInt(group, 16))
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
