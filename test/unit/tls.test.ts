import { execFileSync } from 'node:child_process'
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreateCertificate } from '../../src/tls/certificate-cache.js'
import {
  bitString,
  boolean,
  encodeLength,
  explicit,
  ia5String,
  implicit,
  integer,
  octetString,
  oid,
  sequence,
  set,
  time,
} from '../../src/tls/der.js'
import { ipAddressToBytes } from '../../src/tls/ip-address.js'
import { shellQuote, withEnvironment } from '../../src/tls/shell-quote.js'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'

const DAY_MS = 24 * 60 * 60 * 1000
const OPENSSL = '/usr/bin/openssl'
// Node prints IPv6 SANs fully expanded, upper-case, without "::" compression.
const IPV6_LOOPBACK_SAN = 'IP Address:0:0:0:0:0:0:0:1'

const temporaryDirs: string[] = []
afterAll(() => {
  for (const dir of temporaryDirs) fs.rmSync(dir, { recursive: true, force: true })
})

function makeTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vite-http2-push-tls-'))
  temporaryDirs.push(dir)
  return dir
}

function hex(buffer: Buffer): string {
  return buffer.toString('hex')
}

// Whole seconds, as stored in an X.509 Time.
function truncateToSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000
}

function writePair(dir: string, pair: { key: string; cert: string }): void {
  fs.writeFileSync(path.join(dir, 'key.pem'), pair.key)
  fs.writeFileSync(path.join(dir, 'cert.pem'), pair.cert)
}

function readCert(dir: string): string {
  return fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8')
}

describe('der', () => {
  it('encodes short and long form lengths', () => {
    expect(hex(encodeLength(0))).toBe('00')
    expect(hex(encodeLength(127))).toBe('7f')
    expect(hex(encodeLength(128))).toBe('8180')
    expect(hex(encodeLength(300))).toBe('82012c')
    expect(hex(encodeLength(0x10000))).toBe('83010000')
  })

  it('encodes positive integers minimally with a leading zero when the top bit is set', () => {
    expect(hex(integer(Buffer.from([0x02])))).toBe('020102')
    expect(hex(integer(Buffer.from([0x80])))).toBe('02020080')
    expect(hex(integer(Buffer.from([0x00, 0x00, 0x7f])))).toBe('02017f')
    expect(hex(integer(Buffer.from([0x00, 0x00, 0x80])))).toBe('02020080')
    expect(hex(integer(Buffer.from([0x00])))).toBe('020100')
    expect(hex(integer(Buffer.alloc(0)))).toBe('020100')
  })

  it('encodes object identifiers', () => {
    expect(hex(oid('2.5.4.3'))).toBe('0603550403')
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302')
    expect(hex(oid('1.3.6.1.5.5.7.3.1'))).toBe('06082b06010505070301')
    expect(() => oid('1')).toThrow(/Invalid OID/)
    expect(() => oid('3.1')).toThrow(/Invalid OID/)
    expect(() => oid('1.40')).toThrow(/Invalid OID/)
  })

  it('uses UTCTime before 2050 and GeneralizedTime from 2050 on', () => {
    expect(time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1')).toBe('\x17\x0d491231235959Z')
    expect(time(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe('\x18\x0f20500101000000Z')
    expect(time(new Date('1949-06-01T00:00:00Z'))[0]).toBe(0x18)
  })

  it('encodes booleans, strings, bit strings and context tags', () => {
    expect(hex(boolean(true))).toBe('0101ff')
    expect(hex(boolean(false))).toBe('010100')
    expect(hex(bitString(Buffer.from([0x80]), 7))).toBe('030207' + '80')
    expect(hex(octetString(Buffer.from([1, 2])))).toBe('04020102')
    expect(hex(explicit(0, integer(Buffer.from([2]))))).toBe('a003020102')
    expect(hex(implicit(2, ia5String('a')))).toBe('820161')
    expect(hex(implicit(1, sequence()))).toBe('a100')
    expect(() => ia5String('é')).toThrow(/IA5String/)
  })

  it('sorts SET OF elements by their encoding', () => {
    expect(hex(set(integer(Buffer.from([2])), integer(Buffer.from([1]))))).toBe('3106020101020102')
  })
})

describe('ipAddressToBytes', () => {
  it.each([
    ['127.0.0.1', '7f000001'],
    ['0.0.0.0', '00000000'],
    ['255.255.255.255', 'ffffffff'],
    ['::', '0'.repeat(32)],
    ['::1', '0'.repeat(30) + '01'],
    ['1::', '0001' + '0'.repeat(28)],
    ['fe80::1:2', 'fe80' + '0'.repeat(20) + '00010002'],
    ['2001:DB8:0:0:8:800:200C:417A', '20010db8000000000008080020' + '0c417a'],
    ['2001:db8::8:800:200c:417a', '20010db8000000000008080020' + '0c417a'],
    ['::ffff:192.168.1.2', '0'.repeat(20) + 'ffffc0a80102'],
  ])('parses %s', (address, expected) => {
    expect(hex(ipAddressToBytes(address))).toBe(expected)
  })

  it.each([
    '',
    'localhost',
    '1.2.3',
    '1.2.3.256',
    '01.2.3.4',
    ':::',
    ':1::',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4::5:6:7:8',
    '::ffff:1.2.3',
    'fe80::1%eth0',
  ])('rejects %j', (address) => {
    expect(() => ipAddressToBytes(address)).toThrow(/Invalid IP address/)
  })
})

describe('createLeafCertificate without an issuer (self-signed)', () => {
  const now = new Date('2030-03-04T05:06:07.890Z')
  const { key, cert } = createLeafCertificate({ now })
  const x509 = new X509Certificate(cert)

  it('returns PEM strings', () => {
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/)
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/)
    expect(createPrivateKey(key).asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' })
  })

  it('is self-signed for CN=localhost with the default subjectAltNames', () => {
    expect(x509.subject).toBe('CN=localhost')
    expect(x509.issuer).toBe('CN=localhost')
    expect(x509.subjectAltName).toBe(`DNS:localhost, IP Address:127.0.0.1, ${IPV6_LOOPBACK_SAN}`)
    expect(x509.verify(x509.publicKey)).toBe(true)
    expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true)
  })

  it('is a server-auth leaf certificate', () => {
    expect(x509.ca).toBe(false)
    // Node's `keyUsage` getter actually lists the extended key usages.
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1'])
    expect(x509.checkHost('localhost')).toBe('localhost')
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(x509.checkIP('::1')).toBe('::1')
    expect(x509.checkHost('example.com')).toBeUndefined()
  })

  it('has a positive 16-byte serial number', () => {
    expect(x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/)
    expect(createLeafCertificate({ now }).cert).not.toBe(cert)
  })

  it('is valid from one day before `now` until `days` after it', () => {
    expect(Date.parse(x509.validFrom)).toBe(truncateToSeconds(now.getTime() - DAY_MS))
    expect(Date.parse(x509.validTo)).toBe(truncateToSeconds(now.getTime() + 365 * DAY_MS))
    const short = new X509Certificate(createLeafCertificate({ now, days: 7 }).cert)
    expect(Date.parse(short.validTo)).toBe(truncateToSeconds(now.getTime() + 7 * DAY_MS))
  })

  it('encodes validity dates from 2050 on as GeneralizedTime', () => {
    const late = new Date('2049-12-15T00:00:00Z')
    const lateCert = new X509Certificate(createLeafCertificate({ now: late, days: 30 }).cert)
    expect(Date.parse(lateCert.validFrom)).toBe(Date.parse('2049-12-14T00:00:00Z'))
    expect(Date.parse(lateCert.validTo)).toBe(Date.parse('2050-01-14T00:00:00Z'))
  })

  it('rejects validity periods browsers would refuse', () => {
    expect(() => createLeafCertificate({ days: 398 })).toThrow(RangeError)
    expect(() => createLeafCertificate({ days: 0 })).toThrow(RangeError)
    expect(() => createLeafCertificate({ days: 1.5 })).toThrow(RangeError)
    expect(() => createLeafCertificate({ days: 397 })).not.toThrow()
  })

  it('adds custom names on top of the defaults, without duplicates', () => {
    const custom = new X509Certificate(
      createLeafCertificate({
        commonName: 'My Dev Server',
        dnsNames: ['app.test', 'LOCALHOST', '*.app.test'],
        ipAddresses: ['192.168.1.20', '0:0:0:0:0:0:0:1', 'fe80::1'],
      }).cert,
    )
    expect(custom.subject).toBe('CN=My Dev Server')
    expect(custom.subjectAltName).toBe(
      'DNS:localhost, DNS:app.test, DNS:*.app.test, IP Address:127.0.0.1, ' +
        `${IPV6_LOOPBACK_SAN}, IP Address:192.168.1.20, IP Address:FE80:0:0:0:0:0:0:1`,
    )
    // checkHost returns the matching SAN entry, here the wildcard.
    expect(custom.checkHost('x.app.test')).toBe('*.app.test')
  })

  it('rejects invalid IP addresses and non-ASCII DNS names', () => {
    expect(() => createLeafCertificate({ ipAddresses: ['localhost'] })).toThrow(/Invalid IP address/)
    expect(() => createLeafCertificate({ dnsNames: ['bücher.test'] })).toThrow(/IA5String/)
  })

  it.skipIf(!fs.existsSync(OPENSSL))('is decoded by openssl x509 as expected', () => {
    const text = execFileSync(OPENSSL, ['x509', '-noout', '-text'], { input: cert, encoding: 'utf8' })
    expect(text).toContain('Version: 3 (0x2)')
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256')
    expect(text).toContain('Public Key Algorithm: id-ecPublicKey')
    expect(text).toContain('NIST CURVE: P-256')
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/)
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/)
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/)
    expect(text).toMatch(
      /X509v3 Subject Alternative Name:\s+DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1\n/,
    )
    // Subject key identifier = SHA-1 of the uncompressed EC point (the last 65 bytes of a P-256 SPKI).
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' })
    const expectedKeyId = createHash('sha1').update(spki.subarray(-65)).digest('hex').toUpperCase()
    const keyId = /X509v3 Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1]?.replaceAll(':', '')
    expect(keyId).toBe(expectedKeyId)
  })
})

describe('loadOrCreateCertificate', () => {
  it('creates key.pem and cert.pem, then reuses them', async () => {
    const dir = path.join(makeTempDir(), 'nested', 'certs')
    const messages: string[] = []
    const logger = { info: (msg: string) => messages.push(msg) }

    const first = await loadOrCreateCertificate(dir, { logger })
    expect(first.created).toBe(true)
    expect(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8')).toBe(first.key)
    expect(readCert(dir)).toBe(first.cert)
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain(dir)

    const second = await loadOrCreateCertificate(dir, { logger })
    expect(second).toEqual({ key: first.key, cert: first.cert, created: false })
    expect(messages).toHaveLength(1)
    expect(fs.readdirSync(dir).sort()).toEqual(['cert.pem', 'key.pem'])
  })

  it.skipIf(process.platform === 'win32')(
    'writes the private key with mode 0600, even over an existing file',
    async () => {
      const dir = makeTempDir()
      fs.writeFileSync(path.join(dir, 'key.pem'), 'not a key', { mode: 0o644 })
      await loadOrCreateCertificate(dir)
      expect(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777).toBe(0o600)
    },
  )

  it('regenerates an expired certificate', async () => {
    const dir = makeTempDir()
    const expired = createLeafCertificate({ now: new Date(Date.now() - 400 * DAY_MS), days: 30 })
    writePair(dir, expired)

    const result = await loadOrCreateCertificate(dir)
    expect(result.created).toBe(true)
    expect(result.cert).not.toBe(expired.cert)
    expect(readCert(dir)).toBe(result.cert)
    expect(Date.parse(new X509Certificate(result.cert).validTo)).toBeGreaterThan(Date.now() + 300 * DAY_MS)
  })

  it('regenerates a certificate that expires within a day', async () => {
    const dir = makeTempDir()
    writePair(dir, createLeafCertificate({ now: new Date(Date.now() - 30 * DAY_MS + DAY_MS / 2), days: 30 }))
    expect((await loadOrCreateCertificate(dir)).created).toBe(true)
  })

  it('regenerates a corrupt cert.pem without failing', async () => {
    const dir = makeTempDir()
    const original = await loadOrCreateCertificate(dir)
    fs.writeFileSync(path.join(dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n')

    const result = await loadOrCreateCertificate(dir)
    expect(result.created).toBe(true)
    expect(result.cert).not.toBe(original.cert)
    expect(new X509Certificate(readCert(dir)).checkPrivateKey(createPrivateKey(result.key))).toBe(true)
  })

  it('regenerates when the key does not match the certificate', async () => {
    const dir = makeTempDir()
    const a = createLeafCertificate()
    const b = createLeafCertificate()
    writePair(dir, { key: a.key, cert: b.cert })
    expect((await loadOrCreateCertificate(dir)).created).toBe(true)
  })

  it('regenerates when only one of the files exists', async () => {
    const dir = makeTempDir()
    fs.writeFileSync(path.join(dir, 'cert.pem'), createLeafCertificate().cert)
    const result = await loadOrCreateCertificate(dir)
    expect(result.created).toBe(true)
    expect(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8')).toBe(result.key)
  })

  it('rejects with a helpful error when the directory cannot be created', async () => {
    const file = path.join(makeTempDir(), 'a-regular-file')
    fs.writeFileSync(file, '')
    const dir = path.join(file, 'certs')

    const error: unknown = await loadOrCreateCertificate(dir).then(
      () => undefined,
      (rejection: unknown) => rejection,
    )
    expect(error).toBeInstanceOf(Error)
    const { message, cause } = error as Error
    expect(message).toContain(dir)
    expect(message).toContain('certDir')
    expect(message).toContain('server.https')
    expect(message).toContain('ENOTDIR')
    expect(cause).toMatchObject({ code: 'ENOTDIR' })
  })
})

describe('shellQuote', () => {
  it('keeps a plain POSIX word bare and single-quotes anything else, a quote as an escaped one', () => {
    expect(shellQuote('/home/me/.cache/vite-plugin-http2-push')).toBe('/home/me/.cache/vite-plugin-http2-push')
    expect(shellQuote("/x/it's $(touch p) `id`")).toBe("'/x/it'\\''s $(touch p) `id`'")
    expect(shellQuote('')).toBe("''")
  })

  it('always single-quotes for PowerShell, doubling single and typographic quotes', () => {
    expect(shellQuote('C:\\Users\\me', 'powershell')).toBe("'C:\\Users\\me'")
    expect(shellQuote("C:\\it's $(calc)\u2019", 'powershell')).toBe("'C:\\it''s $(calc)\u2019\u2019'")
    expect(withEnvironment('CAROOT', 'C:\\ca', 'mkcert -install', 'powershell')).toBe(
      "$env:CAROOT='C:\\ca'; mkcert -install",
    )
    expect(withEnvironment('CAROOT', '/a b', 'mkcert -install')).toBe("CAROOT='/a b' mkcert -install")
  })
})
