// Keeps the dev server's leaf key and certificate in a folder of the user's alone, and replaces
// them when they expire soon, no longer match the host list or the issuing CA, or cannot be read.
// One process at a time reads and writes the pair.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { PRIVATE_FILE_MODE, writeFileAtomically, cannotStoreError } from './atomic-write.js'
import { withDirectoryLock } from './directory-lock.js'
import { ipAddressToBytes } from './ip-address.js'
import { createLeafCertificate, leafNames } from './leaf-certificate.js'
import { PRIVATE_DIR_MODE, checkPrivateFolder } from './private-folder.js'
import type { Issuer, PemKeyAndCertificate } from './leaf-certificate.js'
import type { HostNames } from './x509.js'

interface CertificateLogger {
  info(message: string): void
  warn?(message: string): void
}

export interface CertificateCacheOptions {
  /** The CA that signs the leaf; without one the leaf is self-signed. */
  issuer?: Issuer & { label?: string }
  /** Names beyond localhost, 127.0.0.1 and ::1 the leaf must cover. */
  names?: Partial<HostNames>
  logger?: CertificateLogger
  now?: Date
}

export interface CachedCertificate extends PemKeyAndCertificate {
  /** True when a new key and certificate were generated (and written) by this call. */
  created: boolean
}

const KEY_FILE = 'key.pem'
const CERT_FILE = 'cert.pem'
const DAY_MS = 24 * 60 * 60 * 1000
// A certificate that expires sooner than this is renewed.
const RENEW_BEFORE_MS = 30 * DAY_MS

/** Returns the key/cert pair cached in `dir`, creating and storing a new one when it is missing or no longer fits. */
export async function loadOrCreateCertificate(
  dir: string,
  options: CertificateCacheOptions = {},
): Promise<CachedCertificate> {
  const directory = path.resolve(dir)
  const now = options.now ?? new Date()
  const names = leafNames(options.names)
  try {
    await mkdir(directory, { recursive: true, mode: PRIVATE_DIR_MODE })
  } catch (cause) {
    throw cannotStoreError('the dev TLS certificate', directory, 'certDir', cause)
  }
  await checkPrivateFolder(directory, [KEY_FILE, CERT_FILE], 'the dev TLS certificate', 'certDir')
  return withDirectoryLock(directory, () => loadOrCreateLocked(directory, names, options, now))
}

async function loadOrCreateLocked(
  directory: string,
  names: HostNames,
  options: CertificateCacheOptions,
  now: Date,
): Promise<CachedCertificate> {
  const logger = options.logger
  const files = await readCertificateFiles(directory)
  const problem = files ? whyNotUsable(files, names, options.issuer, now) : 'missing'
  if (problem === undefined) return { ...(files as PemKeyAndCertificate), created: false }

  const fresh = createLeafCertificate({ issuer: options.issuer, ...names, now })
  await writeCertificate(directory, fresh)
  const signer = options.issuer ? `signed by ${options.issuer.label ?? 'the CA'}` : 'self-signed'
  if (problem === 'missing') logger?.info(`Created a localhost certificate in ${directory}, ${signer}`)
  else if (problem.startsWith('corrupt')) {
    ;(logger?.warn ?? logger?.info)?.(`Replaced the ${problem} certificate in ${directory}, now ${signer}`)
  } else logger?.info(`Renewed the localhost certificate in ${directory} (${problem}), now ${signer}`)
  return { ...fresh, created: true }
}

async function readCertificateFiles(directory: string): Promise<PemKeyAndCertificate | undefined> {
  const [key, cert] = await Promise.all([
    readFile(path.join(directory, KEY_FILE), 'utf8').catch(() => undefined),
    readFile(path.join(directory, CERT_FILE), 'utf8').catch(() => undefined),
  ])
  if (key === undefined && cert === undefined) return undefined
  // One file alone is as unusable as a corrupt one.
  return { key: key ?? '', cert: cert ?? '' }
}

function whyNotUsable(
  { key, cert }: PemKeyAndCertificate,
  names: HostNames,
  issuer: Issuer | undefined,
  now: Date,
): string | undefined {
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
    if (!x509.checkPrivateKey(createPrivateKey(key))) return 'corrupt (key and certificate do not match)'
  } catch {
    return 'corrupt (unreadable)'
  }
  if (Date.parse(x509.validFrom) > now.getTime()) return 'it is not valid yet'
  if (Date.parse(x509.validTo) - now.getTime() < RENEW_BEFORE_MS) return `it expires on ${x509.validTo}`
  if (sanKey(x509) !== namesKey(names)) return 'the host list changed'
  // A self-signed leaf cannot pass checkIssued (its keyUsage has no keyCertSign): compare names instead.
  const signer = issuer ? new X509Certificate(issuer.cert) : x509
  const namedIssuer = issuer ? x509.checkIssued(signer) : x509.issuer === x509.subject
  if (!namedIssuer || !x509.verify(signer.publicKey)) return 'the signing CA changed'
  return undefined
}

// A comparable form of a certificate's subjectAltName ("DNS:a, IP Address:0:0:0:0:0:0:0:1", as Node prints it).
function sanKey(x509: X509Certificate): string {
  const entries = (x509.subjectAltName ?? '').split(', ').filter(Boolean)
  const dnsNames = entries.filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4))
  const ipAddresses = entries.filter((e) => e.startsWith('IP Address:')).map((e) => e.slice(11))
  if (dnsNames.length + ipAddresses.length !== entries.length) return 'other names'
  try {
    return namesKey({ dnsNames, ipAddresses })
  } catch {
    return 'other names'
  }
}

function namesKey({ dnsNames, ipAddresses }: HostNames): string {
  const dns = dnsNames.map((name) => name.toLowerCase()).sort()
  const ips = ipAddresses.map((address) => ipAddressToBytes(address).toString('hex')).sort()
  return JSON.stringify([dns, ips])
}

async function writeCertificate(directory: string, { key, cert }: PemKeyAndCertificate): Promise<void> {
  try {
    await writeFileAtomically(path.join(directory, KEY_FILE), key, PRIVATE_FILE_MODE)
    await writeFileAtomically(path.join(directory, CERT_FILE), cert, PRIVATE_FILE_MODE)
  } catch (cause) {
    throw cannotStoreError('the dev TLS certificate', directory, 'certDir', cause)
  }
}
