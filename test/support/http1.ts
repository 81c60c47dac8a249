import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'

/** A GET over HTTP/1.1 (TLS when the URL is https), as a plain HTTP/1.1 client sees it. */
export function http1Get(
  url: string,
  headers: http.OutgoingHttpHeaders = { accept: 'text/html' },
): Promise<{ status: number; httpVersion: string; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const get = url.startsWith('https:') ? https.get : http.get
  return new Promise((resolve, reject) => {
    get(url, { headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          httpVersion: res.httpVersion,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      )
      res.on('error', reject)
    }).on('error', reject)
  })
}

/** A tiny HTTP/1.1 backend that answers every request with JSON describing it (a proxy target). */
export interface Backend extends AsyncDisposable {
  origin: string
  requests: string[]
  close(): Promise<void>
}

export async function startBackend(): Promise<Backend> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ backend: true, url: req.url, method: req.method }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { origin: `http://127.0.0.1:${port}`, requests, close, [Symbol.asyncDispose]: close }
}
