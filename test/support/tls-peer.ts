import tls from 'node:tls'

/** What the TLS handshake showed a client offering h2 and http/1.1. */
export interface TlsPeer {
  alpn: string | false | null
  commonName: string | string[] | undefined
  fingerprint256: string
}

/** Connects to `origin` offering h2 and http/1.1 (trusting any certificate) and reports the handshake. */
export function tlsPeer(origin: string): Promise<TlsPeer> {
  const url = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      servername: url.hostname === 'localhost' ? 'localhost' : undefined,
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: false,
    })
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate()
      resolve({ alpn: socket.alpnProtocol, commonName: peer.subject?.CN, fingerprint256: peer.fingerprint256 })
      socket.end()
    })
    socket.once('error', reject)
  })
}
