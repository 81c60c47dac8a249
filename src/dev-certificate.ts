// Picks who signs the dev server's certificate (mkcert's CA, the plugin's local CA, or nobody when
// asked), keeps the leaf current, and says in one line whether browsers trust it.
import { createHash } from 'node:crypto'
import { rm, rmdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ResolvedConfig } from 'vite'
import type { CertificateSource, ResolvedOptions } from './options.js'
import { hostCaDir, isLocalhostName } from './tls/ca-constraints.js'
import { loadOrCreateCertificate } from './tls/certificate-cache.js'
import { leafHostsFor } from './tls/leaf-hosts.js'
import { leafNames, type PemKeyAndCertificate } from './tls/leaf-certificate.js'
import { defaultCaDir, loadOrCreateLocalCa, type CertificateAuthority } from './tls/local-ca.js'
import { findMkcertCa, mkcertCaRoot } from './tls/mkcert-ca.js'
import { protectFiles } from './guard/protected-files.js'
import { shellFor, shellQuote, withEnvironment } from './tls/shell-quote.js'
import { trustStatusCache } from './trust/trust-status-cache.js'
import { trustStatus, trustedCa, type TrustContext } from './trust/trust-store.js'
import { CLI, LOG_PREFIX } from './plugin-name.js'

export interface DevCertificateSettings {
  certificate: CertificateSource
  /** Absolute folder of the leaf. */
  certDir: string
  /** Absolute folder of the plugin's local CA. */
  caDir: string
  /** Vite's `server.host`. */
  host: string | boolean | undefined
  logger: { info(message: string): void; warn(message: string): void }
  /** Home, environment and OS used to find mkcert's CA and the trust stores. Default: this process's. */
  context?: TrustContext
}

/** What {@link devCertificate} settled on. */
export interface DevCertificate extends PemKeyAndCertificate {
  /** Who signed the leaf. */
  signer: 'mkcert' | 'local-ca' | 'self-signed'
  /** Whether a trust store holds the signing CA (always false when self-signed). */
  trusted: boolean
  /** The one command that makes browsers trust it, when they do not. */
  fix: string | undefined
}

/**
 * The leaf's default folder: beside the CA, outside every folder Vite serves, one per project
 * (keyed by a hash of its root).
 */
export function defaultCertDir(caDir: string, root: string): string {
  const project = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 16)
  return path.join(caDir, 'leaves', project)
}

/**
 * The certificate for a Vite dev server without `server.https`, from the plugin's options. Its
 * `fix` is the command to pass to `cacheOffWarning` (cache-off-detector.ts) when it is not trusted.
 */
export async function devCertificateFor(config: ResolvedConfig, options: ResolvedOptions): Promise<DevCertificate> {
  const caDir = options.caDir ? path.resolve(config.root, options.caDir) : defaultCaDir()
  // Earlier versions kept the leaf, key included, in Vite's cacheDir, which Vite may serve.
  if (!options.certDir) await removeLeafFolder(path.join(config.cacheDir, 'http2-push-cert'))
  return devCertificate({
    certificate: options.certificate,
    certDir: options.certDir ? path.resolve(config.root, options.certDir) : defaultCertDir(caDir, config.root),
    caDir,
    host: config.server.host,
    logger: {
      info: (message) => config.logger.info(`${LOG_PREFIX} ${message}`),
      warn: (message) => config.logger.warn(`${LOG_PREFIX} ${message}`),
    },
  })
}

/** Loads or creates the leaf, signed as `settings.certificate` asks, and logs whether it is trusted. */
export async function devCertificate(settings: DevCertificateSettings): Promise<DevCertificate> {
  const context = settings.context ?? { home: os.homedir(), env: process.env, platform: process.platform }
  const names = leafHostsFor(settings.host, os.networkInterfaces())
  const { logger } = settings
  protectFiles(path.join(settings.certDir, 'key.pem'), path.join(settings.certDir, 'cert.pem'))
  if (settings.certificate === 'self-signed') {
    const leaf = await loadOrCreateCertificate(settings.certDir, { names, logger })
    logger.warn(
      "HTTPS certificate is self-signed (option certificate: 'self-signed'): browsers warn, and Chromium keeps nothing in its HTTP cache.",
    )
    return { ...leaf, signer: 'self-signed', trusted: false, fix: undefined }
  }
  const ca = await chooseCa(settings, context, names)
  protectFiles(ca.certFile, path.join(ca.dir, ca.kind === 'mkcert' ? 'rootCA-key.pem' : 'ca-key.pem'))
  const label = ca.kind === 'mkcert' ? `mkcert's CA in ${ca.dir}` : `the plugin's local CA in ${ca.dir}`
  const leaf = await loadOrCreateCertificate(settings.certDir, { issuer: { ...ca, label }, names, logger })
  const cache = trustStatusCache(settings.caDir)
  const status = await trustStatus(trustedCa(ca), context, cache)
  await cache.save()
  const trusted = status.trustedIn.length > 0 && status.notTrustedIn.length === 0
  const fix = trusted ? undefined : fixCommand(ca, context)
  if (fix === undefined) logger.info(`HTTPS certificate signed by ${label}, trusted in ${status.trustedIn.join(', ')}.`)
  else if (status.trustedIn.length > 0)
    logger.warn(
      `HTTPS certificate signed by ${label}, trusted in ${status.trustedIn.join(', ')}; not in ${status.notTrustedIn.join(', ')}: ` +
        `a browser using that store warns (Chromium then keeps nothing in its HTTP cache). Fix: ${fix}`,
    )
  else
    logger.warn(
      `HTTPS certificate signed by ${label}, which no trust store holds yet: browsers warn, and Chromium keeps ` +
        `nothing in its HTTP cache${status.notTrustedIn.length > 0 ? ` (looked in ${status.notTrustedIn.join(', ')})` : ''}. Fix: ${fix}`,
    )
  return { ...leaf, signer: ca.kind, trusted: fix === undefined, fix }
}

async function chooseCa(
  settings: DevCertificateSettings,
  context: TrustContext,
  names: ReturnType<typeof leafHostsFor>,
): Promise<CertificateAuthority> {
  if (settings.certificate === 'auto') {
    const root = mkcertCaRoot(context.env, context.home, context.platform)
    const mkcert = await findMkcertCa(root)
    if ('found' in mkcert) return mkcert.found
    if ('unusable' in mkcert)
      settings.logger.warn(`mkcert's CA in ${root} is not usable (${mkcert.unusable}); using the plugin's local CA.`)
  }
  // The shared CA is never widened for a DNS name: a name outside localhost gets a CA of its own.
  const host = names.dnsNames.find((name) => !isLocalhostName(name))
  const caDir = host === undefined ? settings.caDir : hostCaDir(settings.caDir, host)
  if (host !== undefined) {
    settings.logger.info(
      `server.host ${host} is not under localhost: a CA for that name alone, in ${caDir}, signs its certificate (the shared CA only ever permits localhost and local addresses).`,
    )
  }
  return loadOrCreateLocalCa(caDir, leafNames(names), settings.logger)
}

/** The one command that makes browsers trust `ca`, quoted for the user's shell. */
function fixCommand(ca: CertificateAuthority, context: TrustContext): string {
  const shell = shellFor(context.platform)
  if (ca.kind === 'mkcert')
    return context.env.CAROOT ? withEnvironment('CAROOT', ca.dir, 'mkcert -install', shell) : 'mkcert -install'
  const isDefault = ca.dir === defaultCaDir(context.env, context.home, context.platform)
  return `${CLI} trust${isDefault ? '' : ` --ca-dir ${shellQuote(ca.dir, shell)}`}`
}

// Removes an earlier version's leaf folder: its two files, then the folder if nothing else is in it.
async function removeLeafFolder(directory: string): Promise<void> {
  await Promise.all(['key.pem', 'cert.pem'].map((file) => rm(path.join(directory, file), { force: true })))
  await rmdir(directory).catch(() => undefined)
}
