import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { chromium, type BrowserContext } from 'playwright-core'
import { CHROMIUM_ARGS, chromiumPath } from './chromium.js'

/** base64 SHA-256 of the server certificate's public key (SPKI), as `--ignore-certificate-errors-spki-list` takes it. */
function serverSpkiHash(origin: string): Promise<string> {
  const url = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      servername: 'localhost',
      rejectUnauthorized: false,
    })
    socket.once('secureConnect', () => {
      const spki = socket.getPeerX509Certificate()!.publicKey.export({ type: 'spki', format: 'der' })
      resolve(createHash('sha256').update(spki).digest('base64'))
      socket.end()
    })
    socket.once('error', reject)
  })
}

/**
 * Headless Chromium with a real on-disk profile (HTTP cache and code cache, unlike a fresh
 * context) that trusts the server's certificate by its key, as a trusted certificate behaves
 * (`--ignore-certificate-errors` would turn the HTTP cache off for the origin). Removes the
 * profile when closed.
 */
export async function launchProfileTrusting(
  origin: string,
  extraArgs: readonly string[] = [],
): Promise<BrowserContext> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-profile-'))
  const args = CHROMIUM_ARGS.filter((arg) => arg !== '--ignore-certificate-errors')
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...args, ...extraArgs, `--ignore-certificate-errors-spki-list=${await serverSpkiHash(origin)}`],
  })
  const close = context.close.bind(context)
  context.close = async (options) => {
    await close(options)
    fs.rmSync(profile, { recursive: true, force: true })
  }
  return context
}
