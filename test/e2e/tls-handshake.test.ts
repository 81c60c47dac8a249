import { X509Certificate } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import tls from 'node:tls'
import { describe, expect, it } from 'vitest'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'

// The generated certificate in real TLS handshakes (a server on port 0): the e2e half of tls.test.ts.

const hasIpv6Loopback = Object.values(os.networkInterfaces()).some((addresses) =>
  (addresses ?? []).some((address) => address.internal && address.address === '::1'),
)

interface HandshakeResult {
  authorized: boolean
  authorizationError: string | undefined
  peerCertificateFingerprint: string
}

// Starts a real TLS server with the key/cert, connects a client and reports how the handshake went.
async function handshake(
  server: { key: string; cert: string; host: string },
  client: tls.ConnectionOptions,
): Promise<HandshakeResult> {
  const tlsServer = tls.createServer({ key: server.key, cert: server.cert }, (socket) => {
    socket.end('hello')
  })
  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject)
    tlsServer.listen(0, server.host, resolve)
  })
  const { port } = tlsServer.address() as AddressInfo
  try {
    return await new Promise<HandshakeResult>((resolve, reject) => {
      const socket = tls.connect({ host: server.host, port, ...client }, () => {
        resolve({
          authorized: socket.authorized,
          authorizationError: socket.authorizationError?.message,
          peerCertificateFingerprint: socket.getPeerCertificate().fingerprint256,
        })
        socket.end()
      })
      socket.once('error', reject)
    })
  } finally {
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()))
  }
}

describe('createLeafCertificate (self-signed) in a TLS handshake', () => {
  it('completes a real TLS handshake with a client that trusts it', async () => {
    const pair = createLeafCertificate()
    const fingerprint = new X509Certificate(pair.cert).fingerprint256
    const result = await handshake({ ...pair, host: '127.0.0.1' }, { ca: pair.cert, servername: 'localhost' })
    expect(result).toEqual({ authorized: true, authorizationError: undefined, peerCertificateFingerprint: fingerprint })
  })

  it('matches the 127.0.0.1 IP subjectAltName when connecting by address', async () => {
    const pair = createLeafCertificate()
    const result = await handshake({ ...pair, host: '127.0.0.1' }, { ca: pair.cert })
    expect(result.authorized).toBe(true)
  })

  it.skipIf(!hasIpv6Loopback)('matches the ::1 IP subjectAltName when connecting by address', async () => {
    const pair = createLeafCertificate()
    const result = await handshake({ ...pair, host: '::1' }, { ca: pair.cert })
    expect(result.authorized).toBe(true)
  })

  it('is rejected by clients that do not trust it or ask for another name', async () => {
    const pair = createLeafCertificate()
    await expect(handshake({ ...pair, host: '127.0.0.1' }, { servername: 'localhost' })).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    })
    await expect(
      handshake({ ...pair, host: '127.0.0.1' }, { ca: pair.cert, servername: 'example.com' }),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  })
})
