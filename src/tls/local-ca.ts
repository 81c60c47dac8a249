// The plugin's own certificate authority: created once per user, limited by name constraints to
// localhost and the addresses the leaves need, so a leaked key cannot mint a certificate for a real site.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, writeFileAtomically, cannotStoreError } from './atomic-write.js'
import {
  basicConstraintsExtension,
  buildCertificate,
  distinguishedName,
  ipRange,
  keyIdentifier,
  keyUsageExtension,
  nameConstraintsExtension,
  permitsAll,
  readCertificateFields,
  subjectKeyIdentifierExtension,
} from './x509.js'
import type { HostNames, PermittedNames } from './x509.js'

/** A CA the plugin signs leaves with, as loaded from disk. */
export interface CertificateAuthority {
  kind: 'mkcert' | 'local-ca'
  /** The folder that holds it. */
  dir: string
  /** Path of its PEM certificate, the file a trust store imports. */
  certFile: string
  cert: string
  key: ReturnType<typeof createPrivateKey>
}

export interface CaLogger {
  info(message: string): void
  warn(message: string): void
}

export const CA_CERT_FILE = 'ca-cert.pem'
const CA_KEY_FILE = 'ca-key.pem'
/** Every CA this plugin creates has a common name that starts with this (trust stores list it). */
export const LOCAL_CA_NAME_PREFIX = 'vite-plugin-http2-push local CA'
const ORGANIZATION = 'vite-plugin-http2-push (development only)'
const PRIVATE_DIR_MODE = 0o700
const DAY_MS = 24 * 60 * 60 * 1000
const CA_DAYS = 10 * 365
// A CA closer than this to its end is replaced (its leaves would outlive it).
const MIN_REMAINING_MS = 400 * DAY_MS
/** Always permitted: localhost with its subdomains, 127.0.0.0/8 and ::1. */
const BASE_PERMITTED: PermittedNames = {
  dnsNames: ['localhost'],
  ipRanges: [ipRange('127.0.0.0', 8), ipRange('::1', 128)],
}

/** The user-level default folder of the plugin's CA: under the OS cache folder. */
export function defaultCaDir(
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'win32')
    return path.win32.join(env.LOCALAPPDATA ?? path.win32.join(home, 'AppData', 'Local'), 'vite-plugin-http2-push')
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'vite-plugin-http2-push')
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'vite-plugin-http2-push')
}

/** Reads the CA in `dir` without creating or replacing it; undefined when it is missing or corrupt. */
export async function readLocalCa(dir: string): Promise<CertificateAuthority | undefined> {
  const files = await readCaFiles(path.resolve(dir))
  return files && 'ca' in files ? files.ca : undefined
}

/**
 * Returns the CA in `dir`, creating it when missing. A corrupt or expiring CA is replaced, and so is
 * one whose name constraints do not permit `names` (the new one permits both), each with a warning:
 * a new CA must be trusted again.
 */
export async function loadOrCreateLocalCa(
  dir: string,
  names: HostNames,
  logger: CaLogger,
  now: Date = new Date(),
): Promise<CertificateAuthority & { created: boolean }> {
  const directory = path.resolve(dir)
  const files = await readCaFiles(directory)
  let permitted = BASE_PERMITTED
  if (files && 'ca' in files) {
    const x509 = new X509Certificate(files.ca.cert)
    const fields = readCertificateFields(files.ca.cert)
    const expiring = Date.parse(x509.validTo) - now.getTime() < MIN_REMAINING_MS
    if (fields.permitted && !expiring && permitsAll(fields.permitted, names)) return { ...files.ca, created: false }
    if (fields.permitted && !expiring) permitted = fields.permitted
    const reason = expiring
      ? 'it expires soon'
      : fields.permitted
        ? `it does not permit ${describe(names, fields.permitted)}`
        : 'it has no name constraints'
    const ca = await createCa(directory, widen(permitted, names), now)
    logger.warn(`Replaced the local CA in ${directory} (${reason}). ${trustAgain(directory)}`)
    return { ...ca, created: true }
  }
  const ca = await createCa(directory, widen(permitted, names), now)
  if (files && 'corrupt' in files) {
    logger.warn(`Replaced the corrupt local CA in ${directory} (${files.corrupt}). ${trustAgain(directory)}`)
  } else {
    logger.info(`Created a local CA for localhost certificates in ${directory}`)
  }
  return { ...ca, created: true }
}

function trustAgain(directory: string): string {
  return `Browsers must trust the new one: npx vite-plugin-http2-push trust${directory === defaultCaDir() ? '' : ` --ca-dir "${directory}"`}`
}

// The names `permitted` lacks, for the log line.
function describe(names: HostNames, permitted: PermittedNames): string {
  const lacking = [
    ...names.dnsNames.filter((name) => !permits(permitted, name, false)),
    ...names.ipAddresses.filter((address) => !permits(permitted, address, true)),
  ]
  return lacking.join(', ')
}

function permits(permitted: PermittedNames, name: string, isIp: boolean): boolean {
  return permitsAll(permitted, isIp ? { dnsNames: [], ipAddresses: [name] } : { dnsNames: [name], ipAddresses: [] })
}

// The permitted names plus exactly the names outside them (single addresses, not ranges).
function widen(permitted: PermittedNames, names: HostNames): PermittedNames {
  const missing = (name: string, isIp: boolean) => !permits(permitted, name, isIp)
  return {
    dnsNames: [...permitted.dnsNames, ...names.dnsNames.filter((name) => missing(name, false))],
    ipRanges: [
      ...permitted.ipRanges,
      ...names.ipAddresses
        .filter((address) => missing(address, true))
        .map((address) => ipRange(address, address.includes(':') ? 128 : 32)),
    ],
  }
}

type CaFiles = { ca: CertificateAuthority } | { corrupt: string }

async function readCaFiles(directory: string): Promise<CaFiles | undefined> {
  const certFile = path.join(directory, CA_CERT_FILE)
  const [cert, key] = await Promise.all([
    readFile(certFile, 'utf8').catch(() => undefined),
    readFile(path.join(directory, CA_KEY_FILE), 'utf8').catch(() => undefined),
  ])
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined)
    return { corrupt: `${cert === undefined ? CA_CERT_FILE : CA_KEY_FILE} is missing` }
  try {
    const x509 = new X509Certificate(cert)
    const privateKey = createPrivateKey(key)
    if (!x509.ca || !x509.checkPrivateKey(privateKey)) return { corrupt: 'the key does not match a CA certificate' }
    return { ca: { kind: 'local-ca', dir: directory, certFile, cert, key: privateKey } }
  } catch (error) {
    return { corrupt: (error as Error).message }
  }
}

async function createCa(directory: string, permitted: PermittedNames, now: Date): Promise<CertificateAuthority> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const subject = distinguishedName(`${LOCAL_CA_NAME_PREFIX} ${randomBytes(4).toString('hex')}`, ORGANIZATION)
  const cert = buildCertificate({
    subject,
    issuer: subject,
    publicKey,
    signingKey: privateKey,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    extensions: [
      basicConstraintsExtension(true),
      keyUsageExtension(true),
      nameConstraintsExtension(permitted),
      subjectKeyIdentifierExtension(keyIdentifier(publicKey)),
    ],
  })
  const certFile = path.join(directory, CA_CERT_FILE)
  try {
    await mkdir(directory, { recursive: true, mode: PRIVATE_DIR_MODE })
    await writeFileAtomically(
      path.join(directory, CA_KEY_FILE),
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      PRIVATE_FILE_MODE,
    )
    await writeFileAtomically(certFile, cert, PUBLIC_FILE_MODE)
  } catch (cause) {
    throw cannotStoreError('the local certificate authority', directory, 'caDir', cause)
  }
  return { kind: 'local-ca', dir: directory, certFile, cert, key: privateKey }
}
