import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
export { crawl, expectPushesIdenticalToGets } from './push-checks.js'

/** A new temp dir (real path, so `/@fs/` URLs match what Vite prints) removed by `removeTempDirs`. */
const tempDirs: string[] = []
export function makeTempDir(name: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `h2push-${name}-`)))
  tempDirs.push(dir)
  return dir
}
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}

/** Writes `files` (relative path → content) under `dir`. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
}

/** Writes a small app into a new temp dir: a page, a linked stylesheet, a three-level import chain with a CSS import. */
export function smallApp(name: string, title = 'small'): string {
  const root = makeTempDir(name)
  writeTree(root, {
    'index.html': `<!doctype html>
<html><head><title>${title}</title><link rel="stylesheet" href="/src/page.css"></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>
`,
    'src/main.ts': `import { a } from './a.ts'\nimport './style.css'\ndocument.querySelector('#app')!.textContent = a\n`,
    'src/a.ts': `import { b } from './b.ts'\nexport const a: string = 'a' + b\n`,
    'src/b.ts': `export const b = 'b'\n`,
    'src/style.css': `#app { color: teal }\n`,
    'src/page.css': `body { margin: 0 }\n`,
  })
  return root
}

/** Every file under `dir`, as sorted relative paths with `/`. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort()
}

/** What the TLS handshake showed a client offering h2 and http/1.1. */
export interface TlsPeer {
  alpn: string | false | null
  commonName: string | string[] | undefined
  fingerprint256: string
}

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
export interface Backend {
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
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** True when this Vite serves HTTP/1.1 only as soon as `server.proxy` is set (before 7.2). */
export function viteDropsHttp2WithProxy(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major < 7 || (major === 7 && minor < 2)
}
