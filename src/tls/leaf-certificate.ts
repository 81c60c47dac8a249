// The localhost TLS certificate the dev server presents: signed by a CA (mkcert's or the plugin's
// own), or self-signed when no issuer is given.
import { X509Certificate, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ipAddressToBytes } from './ip-address.js'
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  buildCertificate,
  distinguishedName,
  keyIdentifier,
  keyUsageExtension,
  readCertificateFields,
  serverAuthExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './x509.js'
import type { HostNames } from './x509.js'

/** A CA that signs leaves: its private key and its PEM certificate. */
export interface Issuer {
  key: KeyObject
  cert: string
}

export interface LeafCertificateOptions {
  /** The CA that signs the leaf. Default: none, the leaf signs itself. */
  issuer?: Issuer
  /** Subject common name. Default: "localhost". */
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
const DEFAULT_DAYS = 365
// Browsers cap leaf validity at 398 days; notBefore is backdated one day, so 397 days ahead is the limit.
const MAX_DAYS = 397
const DAY_MS = 24 * 60 * 60 * 1000

/** The names every leaf covers, then `extra`, without duplicates (DNS names lower-cased). */
export function leafNames(extra: Partial<HostNames> = {}): HostNames {
  return {
    dnsNames: uniqueBy(['localhost', ...(extra.dnsNames ?? [])], (name) => name.toLowerCase()),
    ipAddresses: uniqueBy(['127.0.0.1', '::1', ...(extra.ipAddresses ?? [])], (address) =>
      ipAddressToBytes(address).toString('hex'),
    ),
  }
}

/** Creates a fresh ECDSA P-256 key and an X.509 v3 server certificate for it, both PEM-encoded. */
export function createLeafCertificate(options: LeafCertificateOptions = {}): PemKeyAndCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const now = options.now ?? new Date()
  const days = validateDays(options.days ?? DEFAULT_DAYS)
  const subject = distinguishedName(options.commonName ?? DEFAULT_COMMON_NAME)
  const issuer = options.issuer && issuerFields(options.issuer)
  const cert = buildCertificate({
    subject,
    issuer: issuer?.subject ?? subject,
    publicKey,
    signingKey: options.issuer?.key ?? privateKey,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    extensions: [
      subjectAltNameExtension(leafNames(options)),
      basicConstraintsExtension(false),
      keyUsageExtension(false),
      serverAuthExtension(),
      subjectKeyIdentifierExtension(keyIdentifier(publicKey)),
      ...(issuer ? [authorityKeyIdentifierExtension(issuer.keyId)] : []),
    ],
  })
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert }
}

function issuerFields(issuer: Issuer): { subject: Buffer; keyId: Buffer } {
  const fields = readCertificateFields(issuer.cert)
  const keyId = fields.subjectKeyId ?? keyIdentifier(new X509Certificate(issuer.cert).publicKey)
  return { subject: fields.subject, keyId }
}

function validateDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new RangeError(`Certificate validity must be a whole number of days from 1 to ${MAX_DAYS}, got ${days}`)
  }
  return days
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
