// X.509 v3 certificates built with the DER writer and signed with node:crypto, and the few fields
// of an existing certificate (subject, key id, name constraints) a leaf or a check needs.
import { createHash, randomBytes, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import {
  bitString,
  boolean,
  explicit,
  ia5String,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  readChildren,
  readElement,
  sequence,
  set,
  time,
  utf8String,
} from './der.js'
import type { DerElement } from './der.js'
import { ipAddressToBytes } from './ip-address.js'

/** What a certificate says and who signs it. */
export interface CertificateSpec {
  /** Encoded Name of the subject (see {@link distinguishedName}). */
  subject: Buffer
  /** Encoded Name of the issuer: the subject of the signing CA, byte for byte, or `subject` itself. */
  issuer: Buffer
  publicKey: KeyObject
  /** Private key of the issuer (EC or RSA); the certificate's own key when self-signed. */
  signingKey: KeyObject
  notBefore: Date
  notAfter: Date
  /** Encoded extensions (see {@link extension}). */
  extensions: Buffer[]
}

/** Names a certificate may carry in its subjectAltName, or a CA may permit. */
export interface HostNames {
  dnsNames: string[]
  ipAddresses: string[]
}

/** A CA's permitted subtrees: DNS names (each with its subdomains) and IP ranges. */
export interface PermittedNames {
  dnsNames: string[]
  /** Address bytes followed by mask bytes (8 bytes for IPv4, 32 for IPv6), as X.509 stores them. */
  ipRanges: Buffer[]
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const

const SERIAL_BYTES = 16
const X509_VERSION_3 = 2
// GeneralName CHOICE tags (RFC 5280 §4.2.1.6).
const GENERAL_NAME_DNS = 2
const GENERAL_NAME_IP = 7
// keyUsage bits count from the most significant bit of the first byte (RFC 5280 §4.2.1.3).
const KEY_USAGE_DIGITAL_SIGNATURE = { bits: Buffer.from([0x80]), unused: 7 }
const KEY_USAGE_CERT_AND_CRL_SIGN = { bits: Buffer.from([0x06]), unused: 1 }
const TAG_CONTEXT_0_CONSTRUCTED = 0xa0
const TAG_CONTEXT_3_CONSTRUCTED = 0xa3
const TAG_DNS_NAME = 0x80 | GENERAL_NAME_DNS
const TAG_IP_ADDRESS = 0x80 | GENERAL_NAME_IP

/** Builds and signs a certificate; returns it PEM-encoded. */
export function buildCertificate(spec: CertificateSpec): string {
  const algorithm = signatureAlgorithm(spec.signingKey)
  const tbs = sequence(
    explicit(0, integer(Buffer.from([X509_VERSION_3]))),
    integer(randomSerialNumber()),
    algorithm,
    spec.issuer,
    sequence(time(spec.notBefore), time(spec.notAfter)),
    spec.subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...spec.extensions)),
  )
  const signature = sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' })
  return toPem('CERTIFICATE', sequence(tbs, algorithm, bitString(signature)))
}

/** A Name with an optional organization and a common name. */
export function distinguishedName(commonName: string, organization?: string): Buffer {
  const rdn = (type: string, value: string) => set(sequence(oid(type), utf8String(value)))
  return sequence(...(organization ? [rdn(OID.organizationName, organization)] : []), rdn(OID.commonName, commonName))
}

/** One Extension; DER omits `critical` when it is FALSE, its DEFAULT. */
function extension(extensionId: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(extensionId), ...(critical ? [boolean(true)] : []), octetString(value))
}

/** basicConstraints (critical): a CA that may sign leaves only (pathLen 0), or an end entity. */
export function basicConstraintsExtension(ca: boolean): Buffer {
  const value = ca ? sequence(boolean(true), integer(Buffer.from([0]))) : sequence()
  return extension(OID.basicConstraints, true, value)
}

/** keyUsage (critical): certificate and CRL signing for a CA, digital signature for a TLS leaf. */
export function keyUsageExtension(ca: boolean): Buffer {
  const usage = ca ? KEY_USAGE_CERT_AND_CRL_SIGN : KEY_USAGE_DIGITAL_SIGNATURE
  return extension(OID.keyUsage, true, bitString(usage.bits, usage.unused))
}

/** extKeyUsage: TLS server authentication. */
export function serverAuthExtension(): Buffer {
  return extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth)))
}

/** subjectAltName with DNS names then IP addresses. */
export function subjectAltNameExtension(names: HostNames): Buffer {
  return extension(
    OID.subjectAltName,
    false,
    sequence(
      ...names.dnsNames.map((name) => implicit(GENERAL_NAME_DNS, ia5String(name))),
      ...names.ipAddresses.map((address) => implicit(GENERAL_NAME_IP, octetString(ipAddressToBytes(address)))),
    ),
  )
}

export function subjectKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId))
}

export function authorityKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, octetString(keyId))))
}

/** nameConstraints (critical) with permitted subtrees only (RFC 5280 §4.2.1.10). */
export function nameConstraintsExtension(permitted: PermittedNames): Buffer {
  const subtrees = [
    ...permitted.dnsNames.map((name) => sequence(implicit(GENERAL_NAME_DNS, ia5String(name)))),
    ...permitted.ipRanges.map((range) => sequence(implicit(GENERAL_NAME_IP, octetString(range)))),
  ]
  return extension(OID.nameConstraints, true, sequence(implicit(0, sequence(...subtrees))))
}

/** An IP range for {@link nameConstraintsExtension}: `address` with the first `prefixLength` bits fixed. */
export function ipRange(address: string, prefixLength: number): Buffer {
  const bytes = ipAddressToBytes(address)
  const mask = Buffer.alloc(bytes.length)
  for (let bit = 0; bit < prefixLength; bit++) mask[bit >> 3] = (mask[bit >> 3] as number) | (0x80 >> (bit & 7))
  return Buffer.concat([bytes.map((byte, i) => byte & (mask[i] as number)), mask])
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits (EC or RSA). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = readChildren(readElement(publicKey.export({ type: 'spki', format: 'der' })).content)
  const bits = spki[1]?.content
  if (!bits) throw new Error('Malformed public key')
  return createHash('sha1').update(bits.subarray(1)).digest()
}

/** The fields of a parsed certificate the CA and leaf code compare. */
export interface CertificateFields {
  /** The encoded subject Name, to be copied as the issuer of the certificates it signs. */
  subject: Buffer
  subjectKeyId: Buffer | undefined
  /** Permitted subtrees, or undefined when the certificate has no name constraints. */
  permitted: PermittedNames | undefined
}

/** Reads subject, subjectKeyIdentifier and name constraints from a PEM certificate. */
export function readCertificateFields(pem: string): CertificateFields {
  const certificate = readChildren(readElement(fromPem(pem)).content)
  const tbs = readChildren(certificate[0]?.content ?? Buffer.alloc(0))
  const fields = tbs[0]?.tag === TAG_CONTEXT_0_CONSTRUCTED ? tbs.slice(1) : tbs
  const subject = fields[4]
  if (!subject) throw new Error('Malformed certificate')
  const extensions = tbs.find((element) => element.tag === TAG_CONTEXT_3_CONSTRUCTED)
  const values = new Map<string, Buffer>()
  for (const ext of extensions ? readChildren(readElement(extensions.content).content) : []) {
    const [id, ...rest] = readChildren(ext.content)
    const value = rest[rest.length - 1]
    if (id && value) values.set(id.encoded.toString('hex'), value.content)
  }
  const valueOf = (extensionId: string) => values.get(oid(extensionId).toString('hex'))
  const keyId = valueOf(OID.subjectKeyIdentifier)
  const constraints = valueOf(OID.nameConstraints)
  return {
    subject: subject.encoded,
    subjectKeyId: keyId ? readElement(keyId).content : undefined,
    permitted: constraints ? readPermitted(constraints) : undefined,
  }
}

function readPermitted(value: Buffer): PermittedNames {
  const permitted: PermittedNames = { dnsNames: [], ipRanges: [] }
  const trees = readChildren(readElement(value).content).find((e) => e.tag === TAG_CONTEXT_0_CONSTRUCTED)
  for (const subtree of trees ? readChildren(trees.content) : []) {
    const base: DerElement | undefined = readChildren(subtree.content)[0]
    if (base?.tag === TAG_DNS_NAME) permitted.dnsNames.push(base.content.toString('ascii'))
    if (base?.tag === TAG_IP_ADDRESS) permitted.ipRanges.push(Buffer.from(base.content))
  }
  return permitted
}

function signatureAlgorithm(signingKey: KeyObject): Buffer {
  // RFC 5758: no parameters for ecdsa-with-SHA256; RFC 4055: NULL parameters for sha256WithRSAEncryption.
  if (signingKey.asymmetricKeyType === 'ec') return sequence(oid(OID.ecdsaWithSha256))
  if (signingKey.asymmetricKeyType === 'rsa') return sequence(oid(OID.sha256WithRsaEncryption), nullValue())
  throw new Error(`Unsupported CA key type: ${signingKey.asymmetricKeyType ?? 'unknown'} (EC or RSA expected)`)
}

function randomSerialNumber(): Buffer {
  const serial = randomBytes(SERIAL_BYTES)
  // Clear the sign bit (serials must be positive) and set the next one so the value is never shortened.
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40
  return serial
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** The DER bytes of the first PEM block in `pem`. */
export function fromPem(pem: string): Buffer {
  const match = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END [A-Z ]+-----/.exec(pem)
  if (!match) throw new Error('No PEM block found')
  return Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64')
}
