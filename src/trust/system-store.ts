// The Linux system store (curl, other tools): the plugin never changes it, since that needs root;
// it says whether the CA is there and prints the commands, shell-quoted, for the user to run.
import fs from 'node:fs'
import { fromPem } from '../tls/x509.js'
import { shellQuote } from '../tls/shell-quote.js'
import { PLUGIN_NAME } from '../plugin-name.js'

export const SYSTEM_CA_FILE = `/usr/local/share/ca-certificates/${PLUGIN_NAME}.crt`
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']

/** Whether a system bundle holds the certificate `cert` (PEM). */
export function inSystemBundle(cert: string): boolean {
  const body = fromPem(cert).toString('base64')
  return SYSTEM_BUNDLES.some((bundle) => {
    try {
      return fs.readFileSync(bundle, 'utf8').replace(/\s+/g, '').includes(body)
    } catch {
      return false
    }
  })
}

/** The commands that add the CA file to (or remove it from) the system store; they need root. */
export function systemStoreCommands(certFile: string): { install: string[]; uninstall: string[] } {
  const file = shellQuote(certFile)
  if (fs.existsSync('/usr/sbin/update-ca-certificates') || fs.existsSync('/etc/ssl/certs/ca-certificates.crt')) {
    return {
      install: [`sudo cp ${file} ${SYSTEM_CA_FILE} && sudo update-ca-certificates`],
      uninstall: [`sudo rm ${SYSTEM_CA_FILE} && sudo update-ca-certificates --fresh`],
    }
  }
  return {
    install: [`sudo trust anchor --store ${file}`],
    uninstall: [`sudo trust anchor --remove ${file}`],
  }
}
