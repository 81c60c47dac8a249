import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { devCertificate, type DevCertificateSettings } from '../../src/dev-certificate.js'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'
import { leafHostsFor } from '../../src/tls/leaf-hosts.js'
import { readLocalCa } from '../../src/tls/local-ca.js'
import type { TrustContext } from '../../src/trust/trust-store.js'
import {
  requireCertutilOrSkip,
  requireMkcertOrSkip,
  attempt,
  createNssDb,
  makeTemporaryUser,
  run,
} from '../support/trust-tools.js'
import type { TemporaryUser } from '../support/trust-tools.js'

const DAY_MS = 24 * 60 * 60 * 1000
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const hasMkcert = requireMkcertOrSkip()
const hasCertutil = requireCertutilOrSkip()

const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'vite-http2-push-trust-'))
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }))

function newUser(name: string): TemporaryUser {
  return makeTemporaryUser(parent, name)
}

function contextOf(user: TemporaryUser): TrustContext {
  return { home: user.home, env: user.env, platform: process.platform }
}

/** devCertificate for a project folder of `user`, with its log lines. */
async function certificateFor(
  user: TemporaryUser,
  project: string,
  settings: Partial<DevCertificateSettings> = {},
): Promise<Awaited<ReturnType<typeof devCertificate>> & { lines: string[] }> {
  const lines: string[] = []
  const result = await devCertificate({
    certificate: 'auto',
    certDir: path.join(user.home, project, 'node_modules/.vite/http2-push-cert'),
    caDir: user.caDir,
    host: 'localhost',
    logger: { info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) },
    context: contextOf(user),
    ...settings,
  })
  return { ...result, lines }
}

function write(file: string, content: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  return file
}

/** `openssl verify` of `leaf` against the CA certificate file; returns its exit status and output. */
function opensslVerify(caFile: string, leaf: string): { status: number | null; output: string } {
  return attempt('openssl', ['verify', '-CAfile', caFile, write(path.join(parent, `leaf-${Math.random()}.pem`), leaf)])
}

describe("the plugin's own CA", () => {
  it('is created once, in the user folder, and signs the leaves of two projects', async () => {
    const user = newUser('two-projects')
    const first = await certificateFor(user, 'project-a')
    const second = await certificateFor(user, 'project-b')
    const caFile = path.join(user.caDir, 'ca-cert.pem')
    expect(first.lines.filter((line) => line.includes('Created a local CA'))).toHaveLength(1)
    expect(second.lines.filter((line) => line.includes('Created a local CA'))).toEqual([])
    expect(first.signer).toBe('local-ca')
    const ca = new X509Certificate(fs.readFileSync(caFile))
    for (const leaf of [first.cert, second.cert]) {
      expect(new X509Certificate(leaf).checkIssued(ca)).toBe(true)
      expect(opensslVerify(caFile, leaf)).toMatchObject({ status: 0 })
    }
    expect(first.cert).not.toBe(second.cert)
  })

  it.skipIf(process.platform === 'win32')('keeps its key readable by the user only (mode 0600)', async () => {
    const user = newUser('key-mode')
    await certificateFor(user, 'project')
    expect(fs.statSync(path.join(user.caDir, 'ca-key.pem')).mode & 0o777).toBe(0o600)
    expect(fs.statSync(user.caDir).mode & 0o777).toBe(0o700)
  })

  it('carries critical name constraints: localhost, loopback and private address ranges only', async () => {
    const user = newUser('constraints')
    await certificateFor(user, 'project')
    const text = run('openssl', ['x509', '-noout', '-text', '-in', path.join(user.caDir, 'ca-cert.pem')])
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/)
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/)
    expect(text).toMatch(
      new RegExp(
        [
          'X509v3 Name Constraints: critical\\s+Permitted:',
          'DNS:localhost',
          'IP:127.0.0.0/255.0.0.0',
          'IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF',
          'IP:10.0.0.0/255.0.0.0',
          'IP:172.16.0.0/255.240.0.0',
          'IP:192.168.0.0/255.255.0.0',
          'IP:FC00:0:0:0:0:0:0:0/FE00:0:0:0:0:0:0:0',
          'IP:FE80:0:0:0:0:0:0:0/FFC0:0:0:0:0:0:0:0',
          'X509v3 Subject Key Identifier',
        ].join('\\s+'),
      ),
    )
  })

  it('cannot be used for a real site: openssl refuses an example.com leaf it signed', async () => {
    const user = newUser('enforced')
    await certificateFor(user, 'project')
    const ca = await readLocalCa(user.caDir)
    if (!ca) throw new Error('no CA')
    const caFile = path.join(user.caDir, 'ca-cert.pem')
    const forExample = opensslVerify(caFile, createLeafCertificate({ issuer: ca, dnsNames: ['example.com'] }).cert)
    expect(forExample.status).not.toBe(0)
    expect(forExample.output).toMatch(/permitted subtree violation/)
    const forPublicIp = opensslVerify(caFile, createLeafCertificate({ issuer: ca, ipAddresses: ['8.8.8.8'] }).cert)
    expect(forPublicIp.output).toMatch(/permitted subtree violation/)
    const forSubdomain = opensslVerify(caFile, createLeafCertificate({ issuer: ca, dnsNames: ['app.localhost'] }).cert)
    expect(forSubdomain.status).toBe(0)
  })

  it('is replaced, with a warning to trust it again, when a leaf needs a public address it does not permit', async () => {
    const user = newUser('widen')
    const before = await certificateFor(user, 'project')
    const after = await certificateFor(user, 'project', { host: '203.0.113.7' })
    expect(after.lines.join('\n')).toMatch(
      /warn: Replaced the local CA in .* \(it does not permit 203\.0\.113\.7\)\. Browsers must trust the new one/,
    )
    const caFile = path.join(user.caDir, 'ca-cert.pem')
    expect(opensslVerify(caFile, before.cert).status).not.toBe(0)
    expect(opensslVerify(caFile, after.cert)).toMatchObject({ status: 0 })
    expect(new X509Certificate(after.cert).checkIP('203.0.113.7')).toBe('203.0.113.7')
    expect(run('openssl', ['x509', '-noout', '-ext', 'nameConstraints', '-in', caFile])).toMatch(
      /DNS:localhost\s+IP:127\.0\.0\.0\/255\.0\.0\.0\s[\s\S]*IP:203\.0\.113\.7\/255\.255\.255\.255\n/,
    )
  })

  it('is replaced, with a line saying so, when its file is corrupt', async () => {
    const user = newUser('corrupt-ca')
    await certificateFor(user, 'project')
    write(path.join(user.caDir, 'ca-cert.pem'), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n')
    const again = await certificateFor(user, 'project')
    expect(again.lines.filter((line) => line.includes('Replaced the corrupt local CA'))).toHaveLength(1)
    expect(opensslVerify(path.join(user.caDir, 'ca-cert.pem'), again.cert)).toMatchObject({ status: 0 })
  })

  it('in a folder that cannot be created gives an error naming the caDir option', async () => {
    const user = newUser('unwritable')
    const file = write(path.join(user.home, 'a-file'), 'not a folder')
    const caDir = path.join(file, 'ca')
    const failure = certificateFor(user, 'project', { caDir })
    await expect(failure).rejects.toThrow(/cannot store the local certificate authority in ".*a-file\/ca" \(ENOTDIR/)
    await expect(failure).rejects.toThrow(/Set the plugin option `caDir` to a writable directory/)
  })
})

describe('the leaf', () => {
  it('is never self-signed unless asked for', async () => {
    const user = newUser('self-signed')
    const signed = new X509Certificate((await certificateFor(user, 'a')).cert)
    expect(signed.issuer).not.toBe(signed.subject)
    const asked = await certificateFor(user, 'b', { certificate: 'self-signed' })
    const self = new X509Certificate(asked.cert)
    expect(self.issuer).toBe(self.subject)
    expect(asked.lines.join('\n')).toMatch(/warn: HTTPS certificate is self-signed/)
  })

  it('covers localhost, loopback and server.host; with host true every address of the machine', async () => {
    const user = newUser('hosts')
    const named = new X509Certificate((await certificateFor(user, 'a', { host: 'dev.localhost' })).cert)
    expect(named.subjectAltName).toBe(
      'DNS:localhost, DNS:dev.localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    )
    const allPem = (await certificateFor(user, 'b', { host: true })).cert
    const all = new X509Certificate(allPem)
    const addresses = leafHostsFor(true, os.networkInterfaces()).ipAddresses
    expect(addresses.length).toBeGreaterThan(0)
    for (const address of addresses) expect(all.checkIP(address)).toBe(address)
    expect(opensslVerify(path.join(user.caDir, 'ca-cert.pem'), allPem)).toMatchObject({ status: 0 })
  })

  it('takes its extra names from server.host (the interfaces given for host true or a wildcard)', () => {
    const info = (address: string, family: 'IPv4' | 'IPv6') =>
      ({ address, family, internal: false, netmask: '', mac: '', cidr: null }) as os.NetworkInterfaceInfo
    const interfaces = { eth0: [info('192.168.1.20', 'IPv4'), info('fe80::1', 'IPv6'), info('2001:db8::5', 'IPv6')] }
    const machine = { dnsNames: [], ipAddresses: ['192.168.1.20', '2001:db8::5'] }
    expect(leafHostsFor(true, interfaces)).toEqual(machine)
    expect(leafHostsFor('0.0.0.0', interfaces)).toEqual(machine)
    expect(leafHostsFor('::', interfaces)).toEqual(machine)
    expect(leafHostsFor(undefined, interfaces)).toEqual({ dnsNames: [], ipAddresses: [] })
    expect(leafHostsFor('Dev.Example.Test', interfaces)).toEqual({ dnsNames: ['dev.example.test'], ipAddresses: [] })
    expect(leafHostsFor('[::1]', interfaces)).toEqual({ dnsNames: [], ipAddresses: ['::1'] })
  })

  it('is renewed when the host list changes', async () => {
    const user = newUser('host-change')
    const first = await certificateFor(user, 'project', { host: 'localhost' })
    const same = await certificateFor(user, 'project', { host: 'localhost' })
    expect(same.cert).toBe(first.cert)
    const changed = await certificateFor(user, 'project', { host: '127.0.0.2' })
    expect(changed.cert).not.toBe(first.cert)
    expect(changed.lines.join('\n')).toMatch(/Renewed the localhost certificate .* \(the host list changed/)
    expect(new X509Certificate(changed.cert).checkIP('127.0.0.2')).toBe('127.0.0.2')
  })

  it('is renewed before it expires', async () => {
    const user = newUser('expiry')
    const certDir = path.join(user.home, 'project', 'node_modules/.vite/http2-push-cert')
    await certificateFor(user, 'project')
    const ca = await readLocalCa(user.caDir)
    if (!ca) throw new Error('no CA')
    // Signed by the same CA for the same names, but 10 days from its end.
    const ending = createLeafCertificate({ issuer: ca, now: new Date(Date.now() - 355 * DAY_MS) })
    write(path.join(certDir, 'cert.pem'), ending.cert)
    write(path.join(certDir, 'key.pem'), ending.key)
    const renewed = await certificateFor(user, 'project')
    expect(renewed.cert).not.toBe(ending.cert)
    expect(renewed.lines.join('\n')).toMatch(/Renewed the localhost certificate .* \(it expires on /)
    expect(Date.parse(new X509Certificate(renewed.cert).validTo)).toBeGreaterThan(Date.now() + 300 * DAY_MS)
  })

  it('is replaced, with a line saying so, when its file is corrupt', async () => {
    const user = newUser('corrupt-leaf')
    const certDir = path.join(user.home, 'project', 'node_modules/.vite/http2-push-cert')
    await certificateFor(user, 'project')
    write(path.join(certDir, 'cert.pem'), 'garbage')
    const again = await certificateFor(user, 'project')
    expect(again.lines.join('\n')).toMatch(/warn: Replaced the corrupt \(unreadable\) certificate in /)
    expect(new X509Certificate(fs.readFileSync(path.join(certDir, 'cert.pem'))).subject).toBe('CN=localhost')
  })
})

describe.skipIf(!hasMkcert || !hasCertutil)("mkcert's CA", () => {
  it('signs the leaf when $CAROOT holds one; the start line says it is trusted after `mkcert -install`', async () => {
    const user = newUser('mkcert')
    createNssDb(user)
    run('mkcert', ['-install'], user.env)
    const result = await certificateFor(user, 'project')
    expect(result.signer).toBe('mkcert')
    expect(fs.existsSync(user.caDir)).toBe(false)
    expect(opensslVerify(path.join(user.caroot, 'rootCA.pem'), result.cert)).toMatchObject({ status: 0 })
    expect(result.lines.filter((line) => line.includes('HTTPS certificate'))).toEqual([
      `info: HTTPS certificate signed by mkcert's CA in ${user.caroot}, trusted in ~/.pki/nssdb (Chrome, Chromium).`,
    ])
  })

  it("is skipped with certificate: 'local-ca'", async () => {
    const user = newUser('mkcert-skipped')
    run(
      'mkcert',
      ['-cert-file', path.join(user.home, 'x.pem'), '-key-file', path.join(user.home, 'x-key.pem'), 'localhost'],
      user.env,
    )
    const result = await certificateFor(user, 'project', { certificate: 'local-ca' })
    expect(result.signer).toBe('local-ca')
    expect(opensslVerify(path.join(user.caDir, 'ca-cert.pem'), result.cert)).toMatchObject({ status: 0 })
  })

  it('is not trusted until installed: the start line gives the one command', async () => {
    const user = newUser('mkcert-not-installed')
    run('mkcert', ['-CAROOT'], user.env)
    // `mkcert localhost` creates the CA without installing it.
    run(
      'mkcert',
      ['-cert-file', path.join(user.home, 'x.pem'), '-key-file', path.join(user.home, 'x-key.pem'), 'localhost'],
      user.env,
    )
    const result = await certificateFor(user, 'project')
    expect(result.signer).toBe('mkcert')
    expect(result.trusted).toBe(false)
    expect(result.lines.join('\n')).toContain(`which no trust store holds yet`)
    expect(result.fix).toBe(`CAROOT=${user.caroot} mkcert -install`)
  })
})

describe.skipIf(!hasCertutil)('npx vite-plugin-http2-push trust / status / untrust', () => {
  const cli = (user: TemporaryUser, ...args: string[]) => attempt(process.execPath, [CLI, ...args], user.env)
  const nicknames = (user: TemporaryUser, db = user.nssdb) => run('certutil', ['-L', '-d', db], user.env)

  it('asks first: without --yes and without a terminal it changes nothing', () => {
    const user = newUser('cli-ask')
    const result = cli(user, 'trust')
    expect(result.status).toBe(1)
    expect(result.output).toMatch(/Install it as a trusted root into:\s+- ~\/.pki\/nssdb \(Chrome, Chromium\)/)
    expect(result.output).toContain('run again with --yes')
    expect(result.output).toContain('Nothing changed.')
    expect(fs.existsSync(path.join(user.home, '.pki'))).toBe(false)
  })

  it('trust --yes installs the CA into ~/.pki/nssdb and Firefox profiles; status reports it; untrust removes it', () => {
    const user = newUser('cli')
    const firefox = path.join(user.home, '.mozilla', 'firefox', 'abcd.default-release')
    createNssDb(user, firefox)
    // Firefox lists its profiles in profiles.ini: the plugin finds them there, as Firefox does
    fs.writeFileSync(
      path.join(user.home, '.mozilla', 'firefox', 'profiles.ini'),
      '[Profile0]\nName=default-release\nIsRelative=1\nPath=abcd.default-release\nDefault=1\n',
    )

    const trusted = cli(user, 'trust', '--yes')
    expect(trusted.status, trusted.output).toBe(0)
    const ca = new X509Certificate(fs.readFileSync(path.join(user.caDir, 'ca-cert.pem')))
    const nickname = /CN=(.*)/.exec(ca.subject)?.[1] as string
    expect(nickname).toMatch(/^vite-plugin-http2-push local CA [0-9a-f]{8}$/)
    expect(trusted.output).toContain(`changed: added ${nickname} to ~/.pki/nssdb (Chrome, Chromium)`)
    expect(trusted.output).toContain(
      `changed: added ${nickname} to Firefox profile ~/.mozilla/firefox/abcd.default-release`,
    )
    expect(trusted.output).toContain('Undo: npx vite-plugin-http2-push untrust')
    expect(trusted.output).toMatch(/system store .* run yourself:\s+sudo /)
    expect(nicknames(user)).toMatch(new RegExp(`${nickname}\\s+C,,`))
    expect(nicknames(user, `sql:${firefox}`)).toMatch(new RegExp(`${nickname}\\s+C,,`))

    const status = cli(user, 'status')
    expect(status.output).toContain(`Local CA: ${path.join(user.caDir, 'ca-cert.pem')}`)
    expect(status.output).toContain('trusted:     ~/.pki/nssdb (Chrome, Chromium)')
    expect(status.output).toContain('trusted:     Firefox profile ~/.mozilla/firefox/abcd.default-release')
    expect(status.output).not.toContain('not trusted:')
    expect(status.output).not.toContain('Fix:')

    const again = cli(user, 'trust', '--yes')
    expect(again.output).toContain('Already trusted in:')
    expect(again.output).toContain('nothing changed')

    const untrusted = cli(user, 'untrust', '--yes')
    expect(untrusted.status, untrusted.output).toBe(0)
    expect(untrusted.output).toContain(`changed: removed ${nickname} from ~/.pki/nssdb (Chrome, Chromium)`)
    expect(nicknames(user)).not.toContain(nickname)
    expect(nicknames(user, `sql:${firefox}`)).not.toContain(nickname)
    expect(cli(user, 'status').output).toContain('Fix: npx vite-plugin-http2-push trust')
  })

  it('says how to get certutil when it is missing', () => {
    const user = newUser('no-certutil')
    const result = attempt(process.execPath, [CLI, 'trust', '--yes'], {
      ...user.env,
      PATH: path.join(user.home, 'empty-bin'),
    })
    expect(result.status).toBe(1)
    expect(result.output).toContain('certutil is not installed')
    expect(result.output).toContain('sudo apt install libnss3-tools')
  })
})
