// Issue 18, items 5-10: the plugin's CA, keys and trust commands under a hostile config or a
// hostile user on the same machine. Real certutil and openssl under a throwaway HOME.
import { spawn, spawnSync } from 'node:child_process'
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { devCertificate, type DevCertificateSettings } from '../../src/dev-certificate.js'
import {
  basicConstraintsExtension,
  buildCertificate,
  distinguishedName,
  ipRange,
  keyIdentifier,
  keyUsageExtension,
  nameConstraintsExtension,
  subjectKeyIdentifierExtension,
} from '../../src/tls/x509.js'
import { basicApp } from '../support/basic-app.js'
import { plainGet } from '../support/http2-clients.js'
import { attempt, createNssDb, makeTemporaryUser, requireCertutilOrSkip, run } from '../support/trust-tools.js'
import type { TemporaryUser } from '../support/trust-tools.js'
import { startTestServer } from '../support/vite-server.js'

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const LOCAL_CA = fileURLToPath(new URL('../../dist/tls/local-ca.js', import.meta.url))
const hasCertutil = requireCertutilOrSkip()
const isPosix = process.platform !== 'win32'

const parent = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vite-http2-push-ca-security-')))
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }))

const newUser = (name: string) => makeTemporaryUser(parent, name)
const cli = (user: TemporaryUser, ...args: string[]) => attempt(process.execPath, [CLI, ...args], user.env)
const nicknames = (user: TemporaryUser) => run('certutil', ['-L', '-d', user.nssdb], user.env)
const constraintsOf = (certFile: string) =>
  run('openssl', ['x509', '-noout', '-ext', 'nameConstraints', '-in', certFile])

async function certificateFor(user: TemporaryUser, settings: Partial<DevCertificateSettings> = {}) {
  const lines: string[] = []
  const result = await devCertificate({
    certificate: 'local-ca',
    certDir: path.join(user.home, 'leaf'),
    caDir: user.caDir,
    host: 'localhost',
    logger: { info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) },
    context: { home: user.home, env: user.env, platform: process.platform },
    ...settings,
  })
  return { ...result, lines }
}

/** Writes a CA as the plugin would name it, but whose constraints also permit `com`, into `dir`. */
function plantCa(dir: string, mode: number): string {
  fs.mkdirSync(dir, { recursive: true })
  fs.chmodSync(dir, mode)
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const subject = distinguishedName(
    'vite-plugin-http2-push local CA 0badc0de',
    'vite-plugin-http2-push (development only)',
  )
  const now = Date.now()
  const cert = buildCertificate({
    subject,
    issuer: subject,
    publicKey,
    signingKey: privateKey,
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 3650 * 86_400_000),
    extensions: [
      basicConstraintsExtension(true),
      keyUsageExtension(true),
      nameConstraintsExtension({
        dnsNames: ['localhost', 'com'],
        ipRanges: [ipRange('127.0.0.0', 8), ipRange('::1', 128)],
      }),
      subjectKeyIdentifierExtension(keyIdentifier(publicKey)),
    ],
  })
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'ca-cert.pem'), cert, { mode: 0o600 })
  return cert
}

describe('5: a DNS name in server.host never widens the shared CA', () => {
  it('signs some.name.example with a CA of its own; the shared CA still permits localhost and local addresses only', async () => {
    const user = newUser('host-name')
    await certificateFor(user)
    const sharedCa = path.join(user.caDir, 'ca-cert.pem')
    const before = constraintsOf(sharedCa)
    const named = await certificateFor(user, { host: 'some.name.example' })
    expect(constraintsOf(sharedCa)).toBe(before)
    expect(before).not.toContain('example')
    const hostCa = path.join(user.caDir, 'host-some.name.example', 'ca-cert.pem')
    expect(constraintsOf(hostCa)).toMatch(/DNS:localhost\s+DNS:some\.name\.example\s/)
    expect(new X509Certificate(named.cert).checkIssued(new X509Certificate(fs.readFileSync(hostCa)))).toBe(true)
    expect(named.fix).toBe(`npx vite-plugin-http2-push trust --ca-dir ${path.dirname(hostCa)}`)
    expect(named.lines.join('\n')).toMatch(/server\.host some\.name\.example is not under localhost/)
  })

  it.skipIf(!hasCertutil)('`trust` prints the constraints it installs, read from the certificate', async () => {
    const user = newUser('trust-prints')
    createNssDb(user)
    const shared = cli(user, 'trust', '--yes')
    expect(shared.status, shared.output).toBe(0)
    expect(shared.output).toMatch(
      /valid only for: localhost and its subdomains, 127\.0\.0\.0\/8, ::1\/128, 10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16, fc00::\/7, fe80::\/10\n/,
    )
    await certificateFor(user, { host: 'some.name.example' })
    const named = cli(user, 'trust', '--yes', '--ca-dir', path.join(user.caDir, 'host-some.name.example'))
    expect(named.status, named.output).toBe(0)
    expect(named.output).toMatch(
      /valid only for: localhost and its subdomains, some\.name\.example and its subdomains, /,
    )
  })

  it('a new private address (DHCP, VPN, Docker) needs no new CA; the ranges are in the CA from the start', async () => {
    const user = newUser('private-ranges')
    const first = await certificateFor(user)
    const again = await certificateFor(user, { host: '192.168.77.5' })
    expect(again.lines.join('\n')).not.toMatch(/Replaced the local CA/)
    expect(
      new X509Certificate(again.cert).checkIssued(
        new X509Certificate(fs.readFileSync(path.join(user.caDir, 'ca-cert.pem'))),
      ),
    ).toBe(true)
    expect(first.lines.join('\n')).toMatch(
      /Created a local CA in .*, valid only for: localhost and its subdomains, 127\.0\.0\.0\/8/,
    )
  })
})

describe.skipIf(!isPosix || !hasCertutil)('6: a planted CA is never used or trusted', () => {
  it('refuses a CA folder other users can write, and installs nothing', () => {
    const user = newUser('planted-writable')
    createNssDb(user)
    const caDir = path.join(user.home, 'shared-ca')
    plantCa(caDir, 0o777)
    const result = cli(user, 'trust', '--yes', '--ca-dir', caDir)
    expect(result.status).toBe(1)
    expect(result.output).toMatch(
      /refusing to use the local CA in ".*shared-ca": .*can be written by other users \(mode 0777\)/,
    )
    expect(result.output).not.toContain('changed: added')
    expect(nicknames(user)).not.toContain('0badc0de')
  })

  it('refuses a CA whose name constraints are not the ones the plugin writes (DNS:com), in a private folder too', async () => {
    const user = newUser('planted-constraints')
    createNssDb(user)
    const caDir = path.join(user.home, 'ca')
    plantCa(caDir, 0o700)
    const result = cli(user, 'trust', '--yes', '--ca-dir', caDir)
    expect(result.status).toBe(1)
    expect(result.output).toMatch(
      /refusing to use the CA in .*: its name constraints permit DNS com, localhost, not localhost/,
    )
    expect(nicknames(user)).not.toContain('0badc0de')
    await expect(certificateFor(user, { caDir })).rejects.toThrow(/refusing to use the CA in/)
  })

  it('tightens a folder and key that others may only read (0755, 0644) to 0700 and 0600', async () => {
    const user = newUser('tighten')
    await certificateFor(user)
    fs.chmodSync(user.caDir, 0o755)
    fs.chmodSync(path.join(user.caDir, 'ca-key.pem'), 0o644)
    await certificateFor(user)
    expect(fs.statSync(user.caDir).mode & 0o777).toBe(0o700)
    expect(fs.statSync(path.join(user.caDir, 'ca-key.pem')).mode & 0o777).toBe(0o600)
  })
})

describe('7: the leaf key is never in a folder Vite serves', () => {
  it('with server.fs.deny replaced, neither the old nor the new key location is served, and no key lies under the project', async () => {
    using app = basicApp()
    const caDir = path.join(parent, 'served-tree-ca')
    await using t = await startTestServer(
      app.path,
      { certDir: undefined, caDir },
      { server: { fs: { deny: ['.env', '.env.*'], strict: false } } },
    )
    const keys = (dir: string) =>
      (fs.readdirSync(dir, { recursive: true }) as string[]).filter((file) => file.endsWith('key.pem'))
    expect(keys(app.path)).toEqual([])
    const leafKeys = keys(caDir).filter((file) => file.startsWith('leaves'))
    expect(leafKeys).toHaveLength(1)
    for (const url of [
      '/node_modules/.vite/http2-push-cert/key.pem',
      `/@fs${path.join(caDir, leafKeys[0] as string)}`,
      `/@fs${path.join(caDir, 'ca-key.pem')}`,
      `/@fs${path.join(caDir, 'ca-key.pem')}?raw`,
      `/@fs${path.join(caDir, 'ca-key.pem').replaceAll('-', '%2D')}`,
    ]) {
      const got = await plainGet(t.origin, url)
      expect([403, 404], url).toContain(got.status)
      expect(got.body.toString(), url).not.toContain('PRIVATE KEY')
    }
    // the positive control: strict false does serve other files outside the project through /@fs/
    fs.writeFileSync(path.join(parent, 'plain.txt'), 'plain')
    expect((await plainGet(t.origin, `/@fs${path.join(parent, 'plain.txt')}`)).status).toBe(200)
  })
})

describe.skipIf(!hasCertutil)('8: untrust removes only the certificates the plugin made', () => {
  it('keeps an unrelated NSS entry whose nickname shares the prefix, and removes an earlier CA of the plugin', async () => {
    const user = newUser('untrust-fingerprint')
    createNssDb(user)
    const other = path.join(user.home, 'other')
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=someone else',
      '-keyout',
      `${other}-key.pem`,
      '-out',
      `${other}.pem`,
    ])
    const unrelated = 'vite-plugin-http2-push local CA (someone else)'
    run('certutil', ['-A', '-d', user.nssdb, '-t', 'C,,', '-n', unrelated, '-i', `${other}.pem`], user.env)
    expect(cli(user, 'trust', '--yes').status).toBe(0)
    const first = /vite-plugin-http2-push local CA [0-9a-f]{8}/.exec(nicknames(user))?.[0] as string
    // an earlier CA of the plugin, replaced (here: its certificate file went bad) and trusted again
    fs.writeFileSync(path.join(user.caDir, 'ca-cert.pem'), 'garbage')
    expect(cli(user, 'trust', '--yes').status).toBe(0)
    expect(nicknames(user)).toContain(first)
    const result = cli(user, 'untrust', '--yes')
    expect(result.status, result.output).toBe(0)
    const left = nicknames(user)
    expect(left).toContain(unrelated)
    expect(left).not.toMatch(/vite-plugin-http2-push local CA [0-9a-f]{8}/)
  })
})

describe.skipIf(!isPosix)('9: printed commands are shell-quoted', () => {
  /** Runs `command` as sh would, with `sudo` and `npx` replaced by a printer of their arguments. */
  function runPrinted(command: string, scratch: string): string[] {
    const bin = path.join(scratch, 'bin')
    fs.mkdirSync(bin, { recursive: true })
    for (const tool of ['sudo', 'npx']) {
      fs.writeFileSync(path.join(bin, tool), '#!/bin/sh\nprintf \'%s\\n\' "$@"\n', { mode: 0o755 })
    }
    const result = spawnSync('sh', ['-c', command], {
      cwd: scratch,
      env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    })
    return `${result.stdout}${result.stderr}`.split('\n')
  }

  it.skipIf(!hasCertutil)('a caDir holding $(touch pwned) stays one word in every command `trust` prints', () => {
    const user = newUser('quoting')
    createNssDb(user)
    const caDir = path.join(user.home, "it's $(touch pwned) `touch pwned2`")
    const result = cli(user, 'trust', '--yes', '--ca-dir', caDir)
    expect(result.status, result.output).toBe(0)
    const printed = result.output.split('\n').filter((line) => /^\s*(sudo|Undo: npx)/.test(line))
    expect(printed.length).toBeGreaterThanOrEqual(2)
    const scratch = fs.mkdtempSync(path.join(parent, 'scratch-'))
    for (const line of printed) {
      const words = runPrinted(line.replace(/^\s*(Undo: )?/, ''), scratch)
      expect(
        words.some((word) => word === caDir || word === path.join(caDir, 'ca-cert.pem')),
        line,
      ).toBe(true)
    }
    expect(fs.readdirSync(scratch)).toEqual(['bin'])
  })

  it("the dev server's fix line quotes the CA folder too", async () => {
    const user = newUser('quoting-fix')
    const caDir = path.join(user.home, '$(touch pwned)')
    const result = await certificateFor(user, { caDir })
    const scratch = fs.mkdtempSync(path.join(parent, 'scratch-'))
    expect(runPrinted(result.fix as string, scratch)).toContain(caDir)
    expect(fs.readdirSync(scratch)).toEqual(['bin'])
  })
})

describe('10: two processes creating the CA at once', () => {
  /** Starts a process that loads or creates the CA in `dir` and prints its fingerprint. */
  function createInChild(dir: string): Promise<string> {
    const script = `import { loadOrCreateLocalCa } from ${JSON.stringify(LOCAL_CA)}
const ca = await loadOrCreateLocalCa(${JSON.stringify(dir)}, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { info() {}, warn() {} })
process.stdout.write((await import('node:crypto')).createHash('sha256').update(ca.cert).digest('hex'))`
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk))
      child.stderr.on('data', (chunk: Buffer) => (out += chunk))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(out))))
    })
  }

  it('always leaves one CA whose key matches its certificate, the one both processes use', async () => {
    for (let round = 0; round < 12; round++) {
      const dir = path.join(parent, `race-${round}`)
      const [a, b] = await Promise.all([createInChild(dir), createInChild(dir)])
      const cert = fs.readFileSync(path.join(dir, 'ca-cert.pem'), 'utf8')
      const key = createPrivateKey(fs.readFileSync(path.join(dir, 'ca-key.pem'), 'utf8'))
      expect(new X509Certificate(cert).checkPrivateKey(key), `round ${round}`).toBe(true)
      expect(a, `round ${round}`).toBe(b)
    }
  }, 120_000)
})
