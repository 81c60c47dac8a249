// The plugin's own certificate authority: created once per user, limited by name constraints to
// localhost and local addresses (ca-constraints.ts), so a leaked key cannot mint a certificate for
// a real site. Its folder is the user's alone, and only one process at a time creates or replaces it.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { appendFile, mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PRIVATE_FILE_MODE, writeFileAtomically, cannotStoreError } from './atomic-write.js'
import {
  BASE_PERMITTED,
  describePermitted,
  expectedDnsNames,
  foreignConstraints,
  permitsAll,
} from './ca-constraints.js'
import { withDirectoryLock } from './directory-lock.js'
import { PRIVATE_DIR_MODE, checkPrivateFolder } from './private-folder.js'
import { shellQuote } from './shell-quote.js'
import {
  basicConstraintsExtension,
  buildCertificate,
  distinguishedName,
  ipRange,
  keyIdentifier,
  keyUsageExtension,
  nameConstraintsExtension,
  readCertificateFields,
  subjectKeyIdentifierExtension,
} from './x509.js'
import type { HostNames, PermittedNames } from './x509.js'
import { CLI, LOG_PREFIX, PLUGIN_NAME } from '../plugin-name.js'

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
// SHA-256 fingerprints of every CA created in the folder, one a line: what `untrust` may remove.
const HISTORY_FILE = 'ca-fingerprints'
const FILES = [CA_KEY_FILE, CA_CERT_FILE, HISTORY_FILE]
/** Every CA this plugin creates has a common name that starts with this (trust stores list it by it). */
const LOCAL_CA_NAME_PREFIX = `${PLUGIN_NAME} local CA`
const ORGANIZATION = `${PLUGIN_NAME} (development only)`
const DAY_MS = 24 * 60 * 60 * 1000
const CA_DAYS = 10 * 365
// A CA closer than this to its end is replaced (its leaves would outlive it).
const MIN_REMAINING_MS = 400 * DAY_MS

/** The user-level default folder of the plugin's CA: under the OS cache folder. */
export function defaultCaDir(
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'win32')
    return path.win32.join(env.LOCALAPPDATA ?? path.win32.join(home, 'AppData', 'Local'), PLUGIN_NAME)
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', PLUGIN_NAME)
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), PLUGIN_NAME)
}

/**
 * Reads the CA in `dir` without creating or replacing it; undefined when it is missing or corrupt.
 * Throws, naming the fix, when the folder is not the user's alone or the CA is not one the plugin wrote.
 */
export async function readLocalCa(dir: string): Promise<CertificateAuthority | undefined> {
  const directory = path.resolve(dir)
  await checkPrivateFolder(directory, FILES, 'the local CA', 'caDir')
  const files = await readCaFiles(directory)
  if (!files || !('ca' in files)) return undefined
  refuseForeign(files.ca)
  return files.ca
}

/** SHA-256 fingerprints of the CAs the plugin created in `dir` (the current one included). */
export async function madeFingerprints(dir: string): Promise<string[]> {
  const directory = path.resolve(dir)
  const history = await readFile(path.join(directory, HISTORY_FILE), 'utf8').catch(() => '')
  const current = (await readLocalCa(directory))?.cert
  const all = [...history.split('\n'), ...(current ? [new X509Certificate(current).fingerprint256] : [])]
  return [...new Set(all.map((line) => line.trim().toUpperCase()).filter(Boolean))]
}

/**
 * Returns the CA in `dir`, creating it when missing. A corrupt or expiring CA is replaced, and so is
 * one that does not permit an address in `names` (the new one permits both), each with a warning:
 * a new CA must be trusted again. A DNS name the folder's CA is not for is an error.
 */
export async function loadOrCreateLocalCa(
  dir: string,
  names: HostNames,
  logger: CaLogger,
  now: Date = new Date(),
): Promise<CertificateAuthority & { created: boolean }> {
  const directory = path.resolve(dir)
  try {
    await mkdir(directory, { recursive: true, mode: PRIVATE_DIR_MODE })
  } catch (cause) {
    throw cannotStoreError('the local certificate authority', directory, 'caDir', cause)
  }
  await checkPrivateFolder(directory, FILES, 'the local CA', 'caDir')
  const expected: PermittedNames = { ...BASE_PERMITTED, dnsNames: expectedDnsNames(directory) }
  const outside = names.dnsNames.filter((name) => !permitsAll(expected, { dnsNames: [name], ipAddresses: [] }))
  if (outside.length > 0) throw new Error(`${LOG_PREFIX} the CA in ${directory} is not for ${outside.join(', ')}`)
  return withDirectoryLock(directory, async () => {
    const files = await readCaFiles(directory)
    if (!files) {
      const permitted = widen(expected, names)
      const ca = await createCa(directory, permitted, now)
      logger.info(`Created a local CA in ${directory}, valid only for: ${describePermitted(permitted)}`)
      return { ...ca, created: true }
    }
    if ('corrupt' in files) {
      const ca = await createCa(directory, widen(expected, names), now)
      logger.warn(`Replaced the corrupt local CA in ${directory} (${files.corrupt}). ${trustAgain(directory)}`)
      return { ...ca, created: true }
    }
    const permitted = refuseForeign(files.ca)
    const expiring = Date.parse(new X509Certificate(files.ca.cert).validTo) - now.getTime() < MIN_REMAINING_MS
    if (!expiring && permitsAll(permitted, names)) return { ...files.ca, created: false }
    const reason = expiring ? 'it expires soon' : `it does not permit ${lacking(names, permitted).join(', ')}`
    const ca = await createCa(directory, widen(widen(expected, names), permitted), now)
    logger.warn(`Replaced the local CA in ${directory} (${reason}). ${trustAgain(directory)}`)
    return { ...ca, created: true }
  })
}

// The CA's permitted names; throws when they are not ones the plugin writes (a planted or altered CA).
function refuseForeign(ca: CertificateAuthority): PermittedNames {
  const permitted = readCertificateFields(ca.cert).permitted
  const problem = foreignConstraints(permitted, ca.dir)
  if (problem !== undefined || !permitted) {
    throw new Error(
      `${LOG_PREFIX} refusing to use the CA in ${ca.dir}: ${problem}, not the constraints this plugin writes (planted, or widened by an older version). ` +
        `Fix: if you trusted it, remove it from your trust stores; then delete "${ca.dir}" and start again.`,
    )
  }
  return permitted
}

function trustAgain(directory: string): string {
  const flag = directory === defaultCaDir() ? '' : ` --ca-dir ${shellQuote(directory)}`
  return `Browsers must trust the new one: ${CLI} trust${flag}`
}

function lacking(names: HostNames, permitted: PermittedNames): string[] {
  return [
    ...names.dnsNames.filter((name) => !permitsAll(permitted, { dnsNames: [name], ipAddresses: [] })),
    ...names.ipAddresses.filter((address) => !permitsAll(permitted, { dnsNames: [], ipAddresses: [address] })),
  ]
}

// `permitted` plus the single addresses of `names` it lacks, and the address ranges of `also`.
function widen(permitted: PermittedNames, names: HostNames | PermittedNames): PermittedNames {
  const ranges = 'ipRanges' in names ? names.ipRanges : []
  const addresses = 'ipAddresses' in names ? lacking({ dnsNames: [], ipAddresses: names.ipAddresses }, permitted) : []
  const all = [
    ...permitted.ipRanges,
    ...ranges,
    ...addresses.map((address) => ipRange(address, address.includes(':') ? 128 : 32)),
  ]
  const unique = [...new Map(all.map((range) => [range.toString('hex'), range])).values()]
  return { dnsNames: permitted.dnsNames, ipRanges: unique }
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
    // Remembered first, so `untrust` can find this CA even if writing it fails halfway.
    const fingerprint = new X509Certificate(cert).fingerprint256
    await appendFile(path.join(directory, HISTORY_FILE), `${fingerprint}\n`, { mode: PRIVATE_FILE_MODE })
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    await writeFileAtomically(path.join(directory, CA_KEY_FILE), key, PRIVATE_FILE_MODE)
    await writeFileAtomically(certFile, cert, PRIVATE_FILE_MODE)
  } catch (cause) {
    throw cannotStoreError('the local certificate authority', directory, 'caDir', cause)
  }
  return { kind: 'local-ca', dir: directory, certFile, cert, key: privateKey }
}
