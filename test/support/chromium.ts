import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser } from 'playwright-core'

/**
 * External programs some tests drive: Debian's Chromium (through playwright-core, never a
 * downloaded browser) and nghttp (from nghttp2-client).
 *
 * Policy when one is missing: locally the tests that need it are SKIPPED (with a note on stderr);
 * when `process.env.CI` is set (not to `0`/`false`) they FAIL with an Error that says what is missing and how to install it.
 */

/**
 * Flags for a headless Chromium in a container, talking to a dev server with a self-signed certificate.
 * @public the benchmark imports it (bench/lib/support.mjs)
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--ignore-certificate-errors',
]

/** The same flags without `--ignore-certificate-errors`: the browser checks the certificate as a user's would. */
export const CHROMIUM_ARGS_CHECKING_CERTIFICATES = CHROMIUM_ARGS.filter((arg) => arg !== '--ignore-certificate-errors')

/**
 * The Chromium executable: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`.
 * @public the benchmark imports it (bench/lib/support.mjs)
 */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
}

/**
 * Whether the Chromium executable exists and is executable.
 * @public the benchmark imports it (bench/lib/support.mjs)
 */
export function chromiumAvailable(): boolean {
  return isExecutable(chromiumPath())
}

/** The nghttp executable: `$NGHTTP_PATH`, else the first `nghttp` on `$PATH`; undefined when there is none. */
export function nghttpPath(): string | undefined {
  return findExecutable('nghttp', process.env.NGHTTP_PATH)
}

/** `override` when it is set (and executable), else the first `name` on `$PATH`; undefined when there is none. */
export function findExecutable(name: string, override: string | undefined): string | undefined {
  if (override !== undefined) return isExecutable(override) ? override : undefined
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

/** Whether nghttp can be run. */
function nghttpAvailable(): boolean {
  return nghttpPath() !== undefined
}

/**
 * Returns true when Chromium is available. When it is not: returns false (so the caller skips,
 * e.g. `describe.skipIf(!requireBrowserOrSkip())`) unless `CI` is set, in which case it throws.
 */
export function requireBrowserOrSkip(): boolean {
  return requireOrSkip({
    available: chromiumAvailable(),
    what: `chromium (looked for ${chromiumPath()}; set CHROMIUM_PATH to use another executable)`,
    install: 'apt-get install -y chromium',
    tests: 'browser tests',
  })
}

/** Same policy as {@link requireBrowserOrSkip}, for nghttp. */
export function requireNghttpOrSkip(): boolean {
  return requireOrSkip({
    available: nghttpAvailable(),
    what:
      process.env.NGHTTP_PATH !== undefined
        ? `nghttp (looked for ${process.env.NGHTTP_PATH} from NGHTTP_PATH)`
        : 'nghttp (not found on PATH; set NGHTTP_PATH to use another executable)',
    install: 'apt-get install -y nghttp2-client',
    tests: 'nghttp tests',
  })
}

export interface Requirement {
  available: boolean
  what: string
  install: string
  tests: string
}

/** Returns `available`; when false, throws under CI and otherwise prints a skip note (see the policy above). */
export function requireOrSkip({ available, what, install, tests }: Requirement): boolean {
  if (available) return true
  const message = `${what} is missing; install it with: ${install}`
  if (isCi()) {
    throw new Error(`${message}. CI is set, so the ${tests} fail instead of being skipped.`)
  }
  process.stderr.write(`[skip] ${message}. Skipping the ${tests} (they fail instead when CI is set).\n`)
  return false
}

/** Whether `CI` is set (to anything but empty, `0` or `false`). */
export function isCi(): boolean {
  const value = process.env.CI
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/** Launches the system Chromium headless through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS })
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}
