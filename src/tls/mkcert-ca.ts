// mkcert's CA, when the user has one: whoever ran `mkcert -install` already trusts it.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { CertificateAuthority } from './local-ca.js'

const CERT_FILE = 'rootCA.pem'
const KEY_FILE = 'rootCA-key.pem'

/** mkcert's CA folder: `$CAROOT`, else mkcert's default for the OS (as `mkcert -CAROOT` prints it). */
export function mkcertCaRoot(
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.CAROOT) return env.CAROOT
  if (platform === 'win32')
    return path.win32.join(env.LOCALAPPDATA ?? path.win32.join(home, 'AppData', 'Local'), 'mkcert')
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'mkcert')
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'mkcert')
}

export type MkcertLookup =
  | { found: CertificateAuthority }
  /** Both files are there but cannot be used (unreadable, corrupt, or not a matching CA pair). */
  | { unusable: string }
  | { missing: true }

/** mkcert's CA in `root`, when both its certificate and its key are there and usable. */
export async function findMkcertCa(root: string): Promise<MkcertLookup> {
  const certFile = path.join(root, CERT_FILE)
  const [cert, key] = await Promise.all([
    readFile(certFile, 'utf8').catch(() => undefined),
    readFile(path.join(root, KEY_FILE), 'utf8').catch(() => undefined),
  ])
  if (cert === undefined || key === undefined) return { missing: true }
  try {
    const x509 = new X509Certificate(cert)
    const privateKey = createPrivateKey(key)
    if (!x509.ca || !x509.checkPrivateKey(privateKey))
      return { unusable: `${CERT_FILE} and ${KEY_FILE} are not a CA pair` }
    return { found: { kind: 'mkcert', dir: root, certFile, cert, key: privateKey } }
  } catch (error) {
    return { unusable: (error as Error).message }
  }
}
