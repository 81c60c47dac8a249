import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { findExecutable, requireOrSkip } from './chromium.js'

/**
 * mkcert and certutil (libnss3-tools) from Debian, for the trusted-certificate tests, with the same
 * policy as Chromium: skipped locally when missing, a failure when CI is set.
 */
export function requireMkcertOrSkip(): boolean {
  return requireOrSkip({
    available: findExecutable('mkcert', undefined) !== undefined,
    what: 'mkcert (not found on PATH)',
    install: 'apt-get install -y mkcert',
    tests: 'mkcert tests',
  })
}

export function requireCertutilOrSkip(): boolean {
  return requireOrSkip({
    available: findExecutable('certutil', undefined) !== undefined,
    what: 'certutil (not found on PATH)',
    install: 'apt-get install -y libnss3-tools',
    tests: 'trust store tests',
  })
}

/** A temporary user: HOME, an (empty) mkcert CAROOT and a cache folder, never the real ones. */
export interface TemporaryUser {
  home: string
  caroot: string
  /** The plugin's default CA folder for this user. */
  caDir: string
  /** process.env with HOME, CAROOT and XDG_CACHE_HOME pointing into `home`. */
  env: NodeJS.ProcessEnv
  /** Chromium/Chrome's NSS database of this user, as certutil's -d argument. */
  nssdb: string
}

export function makeTemporaryUser(parent: string, name: string): TemporaryUser {
  const home = fs.mkdtempSync(path.join(parent, `${name}-`))
  const caroot = path.join(home, 'mkcert-caroot')
  const env = {
    ...process.env,
    HOME: home,
    CAROOT: caroot,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    // mkcert -install writes only the NSS databases, never the system store.
    TRUST_STORES: 'nss',
  }
  return {
    home,
    caroot,
    caDir: path.join(home, '.cache', 'vite-plugin-http2-push'),
    env,
    nssdb: `sql:${path.join(home, '.pki', 'nssdb')}`,
  }
}

/** Creates the user's empty NSS database, as Chromium does on its first start. */
export function createNssDb(user: TemporaryUser, dir = path.join(user.home, '.pki', 'nssdb')): void {
  fs.mkdirSync(dir, { recursive: true })
  run('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password'], user.env)
}

/** Runs a command and returns its output; throws with its output when it fails. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { env, encoding: 'utf8' })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`)
  }
  return result.stdout + result.stderr
}

/** Runs a command and returns its exit status and output (stdout then stderr), failing or not. */
export function attempt(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; output: string } {
  const result = spawnSync(command, args, { env, encoding: 'utf8', input: '' })
  return { status: result.status, output: result.stdout + result.stderr }
}
