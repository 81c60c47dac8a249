import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { lexerReady } from '../../src/graph/lex-imports.js'
import { resolveOptions } from '../../src/options.js'
import { chooseDelivery } from '../../src/page/delivery-choice.js'
import { hookHtmlResponse } from '../../src/page/html-response-hook.js'
import { KnownPages } from '../../src/page/known-pages.js'
import { LearnedClosure } from '../../src/learn/learned-closure.js'
import { PageLoad } from '../../src/page/page-load.js'
import type { PageContext } from '../../src/page/page-context.js'
import { ConnectionPushRegistry } from '../../src/push/connection-push-state.js'
import { EncodedBodies } from '../../src/serve/compression.js'
import { capturingLogger } from '../support/capturing-logger.js'
import { memoryGraph } from '../support/memory-graph.js'

/**
 * The page pipeline in-process: a real {@link PageLoad} over an in-memory graph, on a real
 * node:http server whose handler writes the HTML as Vite or a streaming framework would (the
 * fake is only what writes the page). Each case reads what a client receives.
 */

beforeAll(() => lexerReady())

const servers: http.Server[] = []
afterEach(() => {
  for (const server of servers.splice(0)) server.close()
})

const APP = {
  '/src/main.js': `import '/src/a.js'`,
  '/src/a.js': `export const a = 1`,
  '/src/late.js': `import '/src/a.js'; export const late = 1`,
}

/** A server whose every request is one page load (links, import map) of what `write` writes. */
async function pageServer(
  write: (res: ServerResponse) => void,
  options: { importMap?: boolean } = {},
): Promise<{ get: typeof get; context: PageContext }> {
  const { graph } = memoryGraph({ ...APP })
  const lines: string[] = []
  const context: PageContext = {
    graph,
    connections: new ConnectionPushRegistry(),
    options: resolveOptions({ mode: 'preload', compression: 'off', earlyHints: false, ...options }),
    logger: capturingLogger(lines),
    debug: undefined,
    knownPages: new KnownPages(),
    learned: new LearnedClosure(),
    bodies: new EncodedBodies(1024 * 1024),
  }
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const choice = chooseDelivery(context.options, context.connections, req, res)
    hookHtmlResponse(res, new PageLoad(context, req, res, choice))
    write(res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  function get(headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', headers }, (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
          )
        })
        .on('error', reject)
    })
  }
  return { get, context }
}

const PAGE =
  '<!doctype html><html><head><title>t</title></head><body><script type="module" src="/src/main.js"></script></body></html>'

describe('PageLoad over a response', () => {
  it('whole body: the import map and links of the closure, with an ETag of the prepared page', async () => {
    const { get } = await pageServer((res) => {
      res.setHeader('content-type', 'text/html')
      res.end(PAGE)
    })
    const page = await get()
    const html = page.body.toString()
    expect(page.status).toBe(200)
    expect(html).toMatch(/<script type="importmap">\{"imports":\{"\/src\/main\.js":"\/src\/main\.js\?__h2v=/)
    expect(html).toMatch(/<link rel="modulepreload" href="\/src\/a\.js\?__h2v=[\w-]+">/)
    expect(html).toMatch(/src="\/src\/main\.js\?__h2v=[\w-]+"/)
    expect(page.headers.etag).toMatch(/^W\/"/)
  })

  it('whole body again with the ETag it got: a 304 without a body', async () => {
    const { get } = await pageServer((res) => {
      res.setHeader('content-type', 'text/html')
      res.end(PAGE)
    })
    const first = await get()
    const again = await get({ 'if-none-match': String(first.headers.etag) })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
  })

  it('streamed: links in the head, the rest untouched, late entries remembered for the next load', async () => {
    const rest = '<body><script>import("/src/late.js")</script></body></html>'
    const { get, context } = await pageServer((res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.write('<!doctype html><html><head><script type="module" src="/src/main.js"></script></head>')
      setTimeout(() => res.end(rest), 50)
    })
    const page = await get()
    const html = page.body.toString()
    expect(html).toMatch(/<link rel="modulepreload" href="\/src\/a\.js\?__h2v=[\w-]+">/)
    expect(html.endsWith(rest)).toBe(true)
    expect(context.knownPages.get('/')?.map((entry) => entry.url)).toEqual(['/src/main.js', '/src/late.js'])
  })

  // (an import map rewrites attributes, which only UTF-8 and UTF-16 pages can take: see encodeEdited)
  it('a page in windows-1252: the links are spliced into the original bytes', async () => {
    const body = Buffer.from(PAGE.replace('<title>t</title>', '<title>caf\u00e9</title>'), 'latin1')
    const { get } = await pageServer(
      (res) => {
        res.setHeader('content-type', 'text/html; charset=windows-1252')
        res.end(body)
      },
      { importMap: false },
    )
    const page = await get()
    expect(page.body.includes(Buffer.from('<title>caf\xe9</title>', 'latin1'))).toBe(true)
    expect(page.body.toString('latin1')).toMatch(/<link rel="modulepreload" href="\/src\/a\.js">/)
  })
})
