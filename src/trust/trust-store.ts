// Installs, removes and looks up a CA certificate where browsers look for trusted roots:
// Linux: NSS databases (Chrome/Chromium's ~/.pki/nssdb, Firefox profiles) through `certutil`;
// macOS: the login keychain through `security`; Windows: the user's Root store through `certutil`.
// Nothing here runs sudo: a system store that needs root gets its exact command printed instead.
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { FIREFOX_WITHOUT_PROFILE, findFirefoxProfiles } from './firefox-profiles.js'
import { findExecutable, run, type RunResult } from './run-tool.js'
import { SYSTEM_CA_FILE, inSystemBundle, systemStoreCommands } from './system-store.js'

/** Where to look: the user's home, the environment (PATH) and the OS. */
export interface TrustContext {
  home: string
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
}

/** The CA to install or look up. */
export interface TrustedCa {
  certFile: string
  cert: string
  /** Name shown in the store (the CA's common name); also how `untrust` finds what `trust` added. */
  nickname: string
}

export interface TrustStatus {
  /** The stores that hold the CA as a trusted root. */
  trustedIn: string[]
  /** The stores looked in that do not (a browser using one of them warns). */
  notTrustedIn: string[]
  /** Stores that could not be read, or tools that are missing, in one sentence each. */
  problems: string[]
  /** What the user may want to know (Firefox has no profile yet), not a failure. */
  notes: string[]
}

export interface TrustChange {
  /** What was changed, one line per store. */
  changed: string[]
  problems: string[]
  /** What the user may want to know (Firefox has no profile yet), not a failure. */
  notes?: string[]
  /** Commands the user may run themselves (a system store needs root). */
  manual: string[]
}

const CERTUTIL_MISSING =
  'certutil is not installed, so Chrome/Chromium and Firefox cannot be told to trust the CA. Install it: ' +
  '`sudo apt install libnss3-tools` (Debian/Ubuntu), `sudo dnf install nss-tools` (Fedora), `sudo pacman -S nss` (Arch), then run this again.'

/** The CA file as the trust stores see it, named by its common name. */
export function trustedCa(ca: { certFile: string; cert: string }): TrustedCa {
  const commonName = /^CN=(.*)$/m.exec(new X509Certificate(ca.cert).subject)?.[1]
  return { certFile: ca.certFile, cert: ca.cert, nickname: commonName ?? path.basename(ca.certFile) }
}

/** The stores `installCa` would change, for the question asked before changing them. */
export function plannedStores(ctx: TrustContext): string[] {
  if (ctx.platform === 'darwin') return ['the login keychain (Safari, Chrome; macOS asks for your password)']
  if (ctx.platform === 'win32') return ["the current user's Root store (Edge, Chrome; Windows asks to confirm)"]
  return nssDatabases(ctx, true).map((db) => db.label)
}

/**
 * Where the CA is installed as a trusted root, store by store. Reads only. With `cached`, an NSS
 * database whose file has not changed since its last answer is not asked again (no `certutil`
 * on the dev server's start path, see trust-status-cache.ts).
 */
export async function trustStatus(ca: TrustedCa, ctx: TrustContext, cached?: NssAnswerCache): Promise<TrustStatus> {
  if (ctx.platform === 'darwin') {
    const result = await run('security', ['verify-cert', '-c', ca.certFile], ctx)
    return storeStatus('the macOS keychain', result.code === 0)
  }
  if (ctx.platform === 'win32') {
    const result = await run('certutil', ['-user', '-verifystore', 'Root', serialOf(ca)], ctx)
    return storeStatus("the Windows user's Root store", result.code === 0)
  }
  const status: TrustStatus = { trustedIn: [], notTrustedIn: [], problems: [], notes: [] }
  const databases = nssDatabases(ctx, false)
  if (findFirefoxProfiles(ctx).installedWithoutProfile) status.notes.push(FIREFOX_WITHOUT_PROFILE)
  if (databases.length > 0 && !findExecutable('certutil', ctx)) status.problems.push(CERTUTIL_MISSING)
  else {
    for (const db of databases) {
      const ask = async () => (await nicknamesHolding(ca, db.dir, ctx)).length > 0
      const holds = cached ? await cached.answer(db.dir, fingerprintOf(ca.cert), ask) : await ask()
      ;(holds ? status.trustedIn : status.notTrustedIn).push(db.label)
    }
  }
  if (inSystemBundle(ca.cert)) status.trustedIn.push('the system store (curl, Node with --use-openssl-ca)')
  return status
}

/** Remembers, per NSS database and CA, whether it held the CA while the database file stayed the same. */
export interface NssAnswerCache {
  answer(dir: string, fingerprint: string, ask: () => Promise<boolean>): Promise<boolean>
}

function storeStatus(store: string, holds: boolean): TrustStatus {
  return { trustedIn: holds ? [store] : [], notTrustedIn: holds ? [] : [store], problems: [], notes: [] }
}

/** Installs the CA as a trusted root for TLS servers in every store of this user. */
export async function installCa(ca: TrustedCa, ctx: TrustContext): Promise<TrustChange> {
  if (ctx.platform === 'darwin') {
    const keychain = path.join(ctx.home, 'Library', 'Keychains', 'login.keychain-db')
    const result = await run('security', ['add-trusted-cert', '-r', 'trustRoot', '-k', keychain, ca.certFile], ctx)
    return outcome(result, `added ${ca.nickname} to the login keychain as a trusted root`, 'security add-trusted-cert')
  }
  if (ctx.platform === 'win32') {
    const result = await run('certutil', ['-user', '-addstore', 'Root', ca.certFile], ctx)
    return outcome(result, `added ${ca.nickname} to the current user's Root store`, 'certutil -addstore')
  }
  const change: TrustChange = { changed: [], problems: [], manual: [], notes: [] }
  if (findFirefoxProfiles(ctx).installedWithoutProfile) change.notes!.push(FIREFOX_WITHOUT_PROFILE)
  if (!findExecutable('certutil', ctx)) change.problems.push(CERTUTIL_MISSING)
  else {
    for (const db of nssDatabases(ctx, true)) {
      if (!fs.existsSync(path.join(db.dir, 'cert9.db'))) {
        // Chrome/Chromium creates this database on its first start; create it now so it finds the CA then.
        fs.mkdirSync(db.dir, { recursive: true, mode: 0o700 })
        const created = await run('certutil', ['-N', '-d', `sql:${db.dir}`, '--empty-password'], ctx)
        if (created.code !== 0) {
          change.problems.push(`could not create ${db.label}: ${failure(created)}`)
          continue
        }
      }
      if ((await nicknamesHolding(ca, db.dir, ctx)).length > 0) continue
      const added = await run(
        'certutil',
        ['-A', '-d', `sql:${db.dir}`, '-t', 'C,,', '-n', ca.nickname, '-i', ca.certFile],
        ctx,
      )
      if (added.code === 0) change.changed.push(`added ${ca.nickname} to ${db.label}`)
      else change.problems.push(`could not add the CA to ${db.label}: ${failure(added)}`)
    }
  }
  if (!inSystemBundle(ca.cert)) change.manual.push(...systemStoreCommands(ca.certFile).install)
  return change
}

/**
 * Removes the CA from every store of this user; from NSS databases also every earlier CA whose
 * SHA-256 fingerprint is in `fingerprints` (the ones the plugin made), and nothing else.
 */
export async function uninstallCa(ca: TrustedCa, ctx: TrustContext, fingerprints: string[]): Promise<TrustChange> {
  if (ctx.platform === 'darwin') {
    const keychain = path.join(ctx.home, 'Library', 'Keychains', 'login.keychain-db')
    await run('security', ['remove-trusted-cert', ca.certFile], ctx)
    const sha1 = new X509Certificate(ca.cert).fingerprint.replaceAll(':', '')
    const result = await run('security', ['delete-certificate', '-Z', sha1, keychain], ctx)
    return outcome(result, `removed ${ca.nickname} from the login keychain`, 'security delete-certificate')
  }
  if (ctx.platform === 'win32') {
    const result = await run('certutil', ['-user', '-delstore', 'Root', serialOf(ca)], ctx)
    return outcome(result, `removed ${ca.nickname} from the current user's Root store`, 'certutil -delstore')
  }
  const change: TrustChange = { changed: [], problems: [], manual: [] }
  const databases = nssDatabases(ctx, false)
  if (databases.length > 0 && !findExecutable('certutil', ctx)) change.problems.push(CERTUTIL_MISSING)
  else {
    for (const db of databases) {
      const ours = new Set([fingerprintOf(ca.cert), ...fingerprints.map((print) => print.toUpperCase())])
      for (const nickname of await nicknamesWithFingerprint(ours, db.dir, ctx, false)) {
        const deleted = await run('certutil', ['-D', '-d', `sql:${db.dir}`, '-n', nickname], ctx)
        if (deleted.code === 0) change.changed.push(`removed ${nickname} from ${db.label}`)
        else change.problems.push(`could not remove ${nickname} from ${db.label}: ${failure(deleted)}`)
      }
    }
  }
  if (inSystemBundle(ca.cert) || fs.existsSync(SYSTEM_CA_FILE))
    change.manual.push(...systemStoreCommands(ca.certFile).uninstall)
  return change
}

interface NssDatabase {
  dir: string
  label: string
}

// ~/.pki/nssdb (created on install when missing) and every Firefox profile that profiles.ini or
// installs.ini names and that holds a cert9.db (firefox-profiles.ts finds them as Firefox does).
function nssDatabases(ctx: TrustContext, includeMissingChromeDb: boolean): NssDatabase[] {
  const chrome = path.join(ctx.home, '.pki', 'nssdb')
  const databases: NssDatabase[] = []
  if (includeMissingChromeDb || fs.existsSync(path.join(chrome, 'cert9.db'))) {
    databases.push({ dir: chrome, label: '~/.pki/nssdb (Chrome, Chromium)' })
  }
  for (const profile of findFirefoxProfiles(ctx).profiles)
    if (profile.hasNssDb) databases.push({ dir: profile.dir, label: profile.label })
  return databases
}

// The nicknames under which `db` holds exactly this certificate, trusted for TLS servers.
async function nicknamesHolding(ca: TrustedCa, dir: string, ctx: TrustContext): Promise<string[]> {
  return nicknamesWithFingerprint(new Set([fingerprintOf(ca.cert)]), dir, ctx, true)
}

// The nicknames of certificates in `db` whose SHA-256 fingerprint is in `fingerprints` (when
// `trustedOnly`, only those trusted for TLS servers), compared certificate by certificate.
async function nicknamesWithFingerprint(
  fingerprints: Set<string>,
  dir: string,
  ctx: TrustContext,
  trustedOnly: boolean,
): Promise<string[]> {
  const held: string[] = []
  for (const [nickname, flags] of (await listTrust(dir, ctx)) ?? []) {
    if (trustedOnly && !flags.split(',')[0]?.includes('C')) continue
    const exported = await run('certutil', ['-L', '-d', `sql:${dir}`, '-n', nickname, '-a'], ctx)
    const blocks = exported.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
    if (blocks.some((block) => fingerprints.has(fingerprintOf(block)))) held.push(nickname)
  }
  return held
}

function fingerprintOf(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256
  } catch {
    return ''
  }
}

// `certutil -L` prints a header, then one "nickname   SSL,S/MIME,JAR/XPI" line per certificate.
async function listTrust(dir: string, ctx: TrustContext): Promise<[string, string][] | undefined> {
  const listed = await run('certutil', ['-L', '-d', `sql:${dir}`], ctx)
  if (listed.code !== 0) return undefined
  const entries: [string, string][] = []
  for (const line of listed.stdout.split('\n')) {
    const match = /^(.+?)\s+([A-Za-z]*,[A-Za-z]*,[A-Za-z]*)\s*$/.exec(line)
    if (match) entries.push([match[1] as string, match[2] as string])
  }
  return entries
}

function serialOf(ca: TrustedCa): string {
  return new X509Certificate(ca.cert).serialNumber
}

function outcome(result: RunResult, done: string, command: string): TrustChange {
  return result.code === 0
    ? { changed: [done], problems: [], manual: [] }
    : { changed: [], problems: [`${command} failed: ${failure(result)}`], manual: [] }
}

function failure(result: RunResult): string {
  return (result.stderr || result.stdout).trim().split('\n')[0] || `exit code ${result.code}`
}
