// Persists the dev-server key and certificate in a directory so browsers only need to trust them once.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createSelfSignedCertificate } from './self-signed-certificate.js'
import type { PemKeyAndCertificate } from './self-signed-certificate.js'

export interface CertificateLogger {
  info(msg: string): void
}

export interface CachedCertificate extends PemKeyAndCertificate {
  /** True when a new key and certificate were generated (and written) by this call. */
  created: boolean
}

const KEY_FILE = 'key.pem'
const CERT_FILE = 'cert.pem'
const PRIVATE_FILE_MODE = 0o600
const PUBLIC_FILE_MODE = 0o644
const DAY_MS = 24 * 60 * 60 * 1000
// A cached certificate that expires sooner than this is replaced.
const MIN_REMAINING_VALIDITY_MS = DAY_MS

/** Returns the key/cert pair cached in `dir`, generating and storing a new one when missing, invalid or about to expire. */
export async function loadOrCreateCertificate(dir: string, logger?: CertificateLogger): Promise<CachedCertificate> {
  const directory = path.resolve(dir)
  const cached = await readUsableCertificate(directory, new Date())
  if (cached) return { ...cached, created: false }

  const fresh = createSelfSignedCertificate()
  await writeCertificate(directory, fresh)
  logger?.info(`Created a self-signed certificate for localhost in ${directory}`)
  return { ...fresh, created: true }
}

async function readUsableCertificate(directory: string, now: Date): Promise<PemKeyAndCertificate | undefined> {
  const files = await readCertificateFiles(directory)
  return files && isUsable(files, now) ? files : undefined
}

async function readCertificateFiles(directory: string): Promise<PemKeyAndCertificate | undefined> {
  try {
    const [key, cert] = await Promise.all([
      readFile(path.join(directory, KEY_FILE), 'utf8'),
      readFile(path.join(directory, CERT_FILE), 'utf8'),
    ])
    return { key, cert }
  } catch {
    // Missing or unreadable: regenerate; a real permission problem surfaces when writing.
    return undefined
  }
}

function isUsable({ key, cert }: PemKeyAndCertificate, now: Date): boolean {
  try {
    const x509 = new X509Certificate(cert)
    const validFrom = Date.parse(x509.validFrom)
    const validTo = Date.parse(x509.validTo)
    return (
      x509.checkPrivateKey(createPrivateKey(key)) &&
      validFrom <= now.getTime() &&
      validTo - now.getTime() > MIN_REMAINING_VALIDITY_MS
    )
  } catch {
    // Corrupt or unparsable PEM: treat as absent.
    return false
  }
}

async function writeCertificate(directory: string, { key, cert }: PemKeyAndCertificate): Promise<void> {
  try {
    await mkdir(directory, { recursive: true })
    await writeFileAtomically(path.join(directory, KEY_FILE), key, PRIVATE_FILE_MODE)
    await writeFileAtomically(path.join(directory, CERT_FILE), cert, PUBLIC_FILE_MODE)
  } catch (cause) {
    throw unwritableDirectoryError(directory, cause)
  }
}

// Writes to a temporary sibling and renames it into place, so the final file never
// appears half-written and always gets `mode` (writeFile's mode only applies on creation).
async function writeFileAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' })
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
}

function unwritableDirectoryError(directory: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new Error(
    `[vite-plugin-http2-push] cannot store the dev TLS certificate in "${directory}" (${reason}). ` +
      'Set the plugin option `certDir` to a writable directory, or configure `server.https` yourself.',
    { cause },
  )
}
