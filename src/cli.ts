#!/usr/bin/env node
// `npx vite-plugin-http2-push trust | untrust | status`: puts the plugin's local CA where browsers
// look for trusted roots, takes it out again, or says where it is. Asks before changing anything.
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline/promises'
import { leafNames } from './tls/leaf-certificate.js'
import { describePermitted } from './tls/ca-constraints.js'
import { CA_CERT_FILE, defaultCaDir, loadOrCreateLocalCa, madeFingerprints, readLocalCa } from './tls/local-ca.js'
import { findMkcertCa, mkcertCaRoot } from './tls/mkcert-ca.js'
import { installCa, plannedStores, trustStatus, trustedCa, uninstallCa, type TrustStatus } from './trust/trust-store.js'
import type { TrustChange, TrustContext } from './trust/trust-store.js'
import { shellFor, shellQuote } from './tls/shell-quote.js'
import { readCertificateFields } from './tls/x509.js'
import { CLI } from './plugin-name.js'

const USAGE = `Usage: ${CLI} <command> [--yes] [--ca-dir <dir>]

Commands:
  trust     create the plugin's local CA if needed and install it where browsers look
            (Linux: ~/.pki/nssdb and Firefox profiles via certutil; macOS: login keychain;
            Windows: the current user's Root store)
  untrust   remove it from those stores again
  status    say which CA the plugin signs with and where it is trusted

Options:
  --yes            change the stores without asking
  --ca-dir <dir>   the local CA's folder, when the plugin option \`caDir\` moved it
                   (default: ${defaultCaDir()})
`

interface Arguments {
  command: string
  yes: boolean
  caDir: string
}

function parseArguments(argv: string[]): Arguments | string {
  let command: string | undefined
  let yes = false
  let caDir = defaultCaDir()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--yes' || arg === '-y') yes = true
    else if (arg === '--ca-dir') {
      const value = argv[++i]
      if (!value) return '--ca-dir needs a folder'
      caDir = path.resolve(value)
    } else if (arg.startsWith('--ca-dir=')) caDir = path.resolve(arg.slice('--ca-dir='.length))
    else if (arg === '--help' || arg === '-h') return ''
    else if (!arg.startsWith('-') && command === undefined) command = arg
    else return `unknown argument: ${arg}`
  }
  if (command === undefined || !['trust', 'untrust', 'status'].includes(command)) {
    return command === undefined ? '' : `unknown command: ${command}`
  }
  return { command, yes, caDir }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stdout.write(
      `${question} [y/N] no answer possible (stdin is not a terminal); run again with --yes to go ahead.\n`,
    )
    return false
  }
  const readline = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y(es)?$/i.test((await readline.question(`${question} [y/N] `)).trim())
  } finally {
    readline.close()
  }
}

function report(change: TrustChange): void {
  for (const line of change.changed) process.stdout.write(`  changed: ${line}\n`)
  if (change.changed.length === 0) process.stdout.write('  nothing changed\n')
  for (const line of change.problems) process.stdout.write(`  problem: ${line}\n`)
  for (const line of change.notes ?? []) process.stdout.write(`  note: ${line}\n`)
}

async function trust(args: Arguments, context: TrustContext): Promise<number> {
  const ca = trustedCa(await loadOrCreateLocalCa(args.caDir, leafNames(), logToStdout))
  const status = await trustStatus(ca, context)
  const stores = plannedStores(context).filter((store) => !status.trustedIn.includes(store))
  // What the certificate itself permits, read back from it: what a leaked key could sign.
  const permitted = readCertificateFields(ca.cert).permitted
  process.stdout.write(
    `Local CA: ${ca.certFile}\n  ${ca.nickname}, valid only for: ${permitted ? describePermitted(permitted) : 'any name'}\n`,
  )
  if (stores.length === 0 && status.problems.length === 0) {
    process.stdout.write(`Already trusted in: ${status.trustedIn.join(', ')}\n`)
  } else if (stores.length > 0) {
    const question = `Install it as a trusted root into:\n${stores.map((store) => `  - ${store}\n`).join('')}Go ahead?`
    if (!args.yes && !(await confirm(question))) {
      process.stdout.write('Nothing changed.\n')
      return 1
    }
  }
  const change = await installCa(ca, context)
  report(change)
  if (change.manual.length > 0) {
    process.stdout.write(
      `Optional, for the system store (curl, other tools; needs root), run yourself:\n${change.manual.map((c) => `  ${c}\n`).join('')}`,
    )
  }
  await mentionMkcert(context)
  process.stdout.write(`Undo: ${CLI} untrust` + caDirFlag(args) + '\nRestart the browser if it was open.\n')
  return change.problems.length > 0 ? 1 : 0
}

async function untrust(args: Arguments, context: TrustContext): Promise<number> {
  const local = await readLocalCa(args.caDir)
  if (!local) {
    process.stdout.write(`No local CA in ${args.caDir}: nothing to remove.\n`)
    return 0
  }
  const ca = trustedCa(local)
  const status = await trustStatus(ca, context)
  if (status.trustedIn.length > 0 && !args.yes) {
    const question = `Remove ${ca.nickname} (and earlier CAs of this plugin) from:\n${status.trustedIn.map((s) => `  - ${s}\n`).join('')}Go ahead?`
    if (!(await confirm(question))) {
      process.stdout.write('Nothing changed.\n')
      return 1
    }
  }
  const change = await uninstallCa(ca, context, await madeFingerprints(args.caDir))
  report(change)
  if (change.manual.length > 0) {
    process.stdout.write(`The system store needs root; run yourself:\n${change.manual.map((c) => `  ${c}\n`).join('')}`)
  }
  process.stdout.write(
    `The CA files stay in ${args.caDir} (delete that folder to forget the CA). Redo: ${CLI} trust${caDirFlag(args)}\n`,
  )
  return change.problems.length > 0 ? 1 : 0
}

async function status(args: Arguments, context: TrustContext): Promise<number> {
  const root = mkcertCaRoot(context.env, context.home, context.platform)
  const mkcert = await findMkcertCa(root)
  const local = await readLocalCa(args.caDir)
  let trusted = false
  if ('found' in mkcert) {
    const state = await trustStatus(trustedCa(mkcert.found), context)
    trusted = state.trustedIn.length > 0 && state.notTrustedIn.length === 0
    process.stdout.write(`mkcert's CA: ${mkcert.found.certFile}\n${describe(state)}`)
    process.stdout.write(
      "  The plugin signs with it (option certificate: 'auto'); with certificate: 'local-ca' it uses the local CA.\n",
    )
  } else {
    process.stdout.write(`mkcert's CA: none in ${root}\n`)
  }
  if (local) {
    const state = await trustStatus(trustedCa(local), context)
    if (!('found' in mkcert)) trusted = state.trustedIn.length > 0 && state.notTrustedIn.length === 0
    process.stdout.write(`Local CA: ${local.certFile}\n${describe(state)}`)
    for (const problem of state.problems) process.stdout.write(`  problem: ${problem}\n`)
    for (const note of state.notes) process.stdout.write(`  note: ${note}\n`)
  } else {
    process.stdout.write(
      `Local CA: none yet in ${path.join(args.caDir, CA_CERT_FILE)} (the dev server or \`trust\` creates it)\n`,
    )
  }
  if (!trusted)
    process.stdout.write(`Fix: ${'found' in mkcert ? 'mkcert -install' : `${CLI} trust${caDirFlag(args)}`}\n`)
  return 0
}

/** One line per store: whether it trusts the CA (a browser using a store that does not warns). */
function describe(state: TrustStatus): string {
  if (state.trustedIn.length === 0 && state.notTrustedIn.length === 0) return '  not trusted by any store\n'
  return [
    ...state.trustedIn.map((store) => `  trusted:     ${store}\n`),
    ...state.notTrustedIn.map((store) => `  not trusted: ${store}\n`),
  ].join('')
}

async function mentionMkcert(context: TrustContext): Promise<void> {
  const root = mkcertCaRoot(context.env, context.home, context.platform)
  if ('found' in (await findMkcertCa(root))) {
    process.stdout.write(
      `Note: mkcert's CA exists (${root}), and the plugin signs with it first. Trust that one with \`mkcert -install\`, or set the plugin option certificate: 'local-ca'.\n`,
    )
  }
}

function caDirFlag(args: Arguments): string {
  return args.caDir === defaultCaDir() ? '' : ` --ca-dir ${shellQuote(args.caDir, shellFor(process.platform))}`
}

const logToStdout = {
  info: (message: string) => process.stdout.write(`${message}\n`),
  warn: (message: string) => process.stdout.write(`${message}\n`),
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv)
  if (typeof args === 'string') {
    process.stderr.write(args ? `${args}\n\n${USAGE}` : USAGE)
    return args ? 2 : 0
  }
  const context: TrustContext = { home: os.homedir(), env: process.env, platform: process.platform }
  if (args.command === 'trust') return trust(args, context)
  if (args.command === 'untrust') return untrust(args, context)
  return status(args, context)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
