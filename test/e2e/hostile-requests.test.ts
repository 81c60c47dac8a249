import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createServer, type Plugin, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST, STYLE_REQUEST } from '../support/browser-headers.mjs'
import { http1Get, startBackend, type Backend } from '../support/http1.js'
import { TestClient, type FetchedResponse } from '../support/http2-clients.js'
import { guardProcess, type ProcessGuard } from '../support/process-guards.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Requests an attacker on the same machine or LAN can send, aimed at the plugin's own machinery
// (its URL markers, its in-process renders) rather than at Vite's file access: none may stall
// other clients, crash the server, make the server send requests of its own to a proxy backend,
// or make the plugin deny or serve anything plain Vite would not.

/** A module script request as a browser makes it (with Sec-Fetch-Mode, so source maps are external). */
const BROWSER_SCRIPT = { ...SCRIPT_REQUEST, 'sec-fetch-mode': 'cors' }
const BROWSER_STYLE = { ...STYLE_REQUEST, 'sec-fetch-mode': 'no-cors' }
/** The same URL loaded by a cross-origin page, as an `<img>`. */
const CROSS_ORIGIN_IMAGE = {
  accept: 'image/avif,image/webp,*/*',
  'sec-fetch-dest': 'image',
  'sec-fetch-mode': 'no-cors',
  'sec-fetch-site': 'cross-site',
  referer: 'https://attacker.example/',
}

/** A token in the plugin's own form (16 characters of base64url), for no version the server has. */
const TOKEN = 'Ab0_-cdefghijklm'
/** Far more than any request takes on a loaded machine; a render that waits for a slot held 30 s takes longer. */
const BOUND_MS = 5000

/** `promise`, or a rejection naming `what` once it took more than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** `url` with each marker of `markers` as a query parameter. */
function withParams(url: string, params: readonly string[]): string {
  return `${url}${url.includes('?') ? '&' : '?'}${params.join('&')}`
}

describe('a URL with a marker repeated', () => {
  const VICTIMS = 8
  let app: TempDir
  let t: TestServer
  let victimPages = 0

  beforeAll(async () => {
    const files: Record<string, string> = {
      'index.html': `<!doctype html><html><body><script type="module" src="/src/a.ts"></script></body></html>\n`,
      'src/a.ts': `import { b } from './b.ts'\nexport const a = 'A' + b\n`,
      'src/b.ts': `export const b = 'B'\n`,
    }
    // one page per attack, so each victim load renders modules nobody rendered before
    for (let i = 0; i < VICTIMS; i++) {
      files[`victim-${i}.html`] =
        `<!doctype html><html><body><script type="module" src="/src/victim-${i}.ts"></script></body></html>\n`
      files[`src/victim-${i}.ts`] = `import { leaf } from './leaf-${i}.ts'\nexport const victim = leaf\n`
      files[`src/leaf-${i}.ts`] = `export const leaf = ${i}\n`
    }
    app = tempDir('hostile-markers', files)
    t = await startTestServer(app.path)
  })

  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  const repeated = (name: string, value: (i: number) => string) =>
    Array.from({ length: 40 }, (_, i) => `${name}=${value(i)}`)
  const ATTACKS = [
    { name: '40 × __h2map (short values)', params: repeated('__h2map', (i) => `A${i}`) },
    {
      name: '40 × __h2map (values in the plugin form)',
      params: repeated('__h2map', (i) => `${TOKEN.slice(0, 14)}${String(i).padStart(2, '0')}`),
    },
    { name: '40 × __h2v', params: repeated('__h2v', (i) => `A${i}`) },
  ]
  const HEADERS = [
    { name: 'as a module script', headers: BROWSER_SCRIPT },
    { name: 'from a cross-origin <img>', headers: CROSS_ORIGIN_IMAGE },
  ]

  it.each(
    ATTACKS.flatMap((attack) => HEADERS.map((form) => ({ ...attack, ...form, label: `${attack.name} ${form.name}` }))),
  )('$label is answered at once, and another client loads its page meanwhile', async ({ params, headers }) => {
    const victimPage = `/victim-${victimPages++}.html`
    await using attacker = new TestClient(t.origin, { enablePush: false })
    await using victim = new TestClient(t.origin)
    const url = withParams('/src/a.ts', params)
    const attack = attacker.get(url, headers)
    attack.catch(() => {}) // awaited below
    // let a looping render take every slot before the other client comes
    await new Promise((resolve) => setTimeout(resolve, 300))
    const load = await within(BOUND_MS, `loading ${victimPage} during the attack`, victim.loadPage(victimPage))
    expect(load.html).toContain('/src/victim-')
    expect(load.closure.size).toBeGreaterThanOrEqual(2)
    const answer = await within(BOUND_MS, 'the attack', attack)
    // a 400, or Vite's own answer to the URL as it came
    expect([200, 400]).toContain(answer.status)
    if (answer.status === 200) {
      expect(String(answer.headers['content-type'])).toMatch(/javascript/)
      expect(answer.body.toString()).toContain('export const a')
    }
  })
})

describe('server.proxy', () => {
  let app: TempDir
  let backend: Backend
  let t: TestServer
  let guard: ProcessGuard

  /** App middlewares: an API that answers JSON, and a module whose code names what it read from `req.socket`. */
  const appMiddlewares: Plugin = {
    name: 'app-middlewares',
    configureServer(server) {
      server.middlewares.use('/custom/feed', (_req, res) => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ feed: [] }))
      })
      server.middlewares.use('/custom/socket.js', (req, res) => {
        const socket = req.socket as typeof req.socket & { encrypted?: boolean }
        res.setHeader('content-type', 'text/javascript')
        res.setHeader('etag', 'W/"socket"')
        res.end(`export const peer = ${JSON.stringify({ address: socket.remoteAddress, tls: socket.encrypted })}\n`)
      })
    },
  }

  beforeAll(async () => {
    guard = guardProcess()
    backend = await startBackend()
    app = tempDir('hostile-proxy', {
      'index.html': `<!doctype html><html><body>
<script type="module" src="/src/main.ts"></script>
<script type="module" src="/custom/socket.js"></script></body></html>\n`,
      'src/main.ts': `export const main = 'main'\n`,
    })
    t = await startTestServer(
      app.path,
      {},
      {
        plugins: [appMiddlewares],
        server: {
          proxy: {
            '/api': { target: backend.origin, timeout: 5000, xfwd: true },
            '^/rx/.*\\.js$': { target: backend.origin, xfwd: true },
          },
        },
      },
    )
  })

  afterAll(async () => {
    guard?.stop()
    await t?.close()
    await backend?.close()
    app?.remove()
  })

  it('never renders a proxied URL or an app API, and its page loads keep the server up', async () => {
    const referer = `${t.origin}/`
    {
      await using client = new TestClient(t.origin, { enablePush: false })
      expect((await client.get('/', DOCUMENT_REQUEST)).status).toBe(200)
      for (const url of ['/api/x', '/rx/y.js', '/custom/feed'])
        expect((await client.get(url, { ...BROWSER_SCRIPT, referer })).status).toBe(200)
    }
    // the client's own requests, each forwarded once
    expect(backend.requests).toEqual(['/api/x', '/rx/y.js'])
    // the plugin learned them (when it learns such URLs at all): the next loads would render them
    await new Promise((resolve) => setTimeout(resolve, 1600))

    for (let i = 0; i < 2; i++) {
      await using client = new TestClient(t.origin)
      const loading = await within(BOUND_MS, 'a page load', client.loadPage('/')).catch((error: Error) => error)
      // what would have ended a server not under test (a render's unhandled rejection), first
      expect(guard.describe()).toBe('')
      expect(loading).not.toBeInstanceOf(Error)
      const load = loading as Exclude<typeof loading, Error>
      const delivered = [
        ...load.pushesReceived.map((push) => push.path),
        ...[...load.html.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1]!),
      ]
      for (const url of ['/api/x', '/rx/y.js', '/custom/feed'])
        expect(delivered.filter((path) => path.startsWith(url))).toEqual([])
      // a module an app middleware serves is rendered with a socket it can read, and pushed
      const socketPush = load.pushesReceived.find((push) => push.path.startsWith('/custom/socket.js'))
      expect(socketPush, load.pushesReceived.map((push) => push.path).join(', ')).toBeDefined()
      const pushed = await socketPush!.response
      expect(pushed?.body.toString()).toContain('{"address":"127.0.0.1","tls":true}')
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(guard.describe()).toBe('')
    expect(backend.requests).toEqual(['/api/x', '/rx/y.js'])
    await using after = new TestClient(t.origin, { enablePush: false })
    expect((await after.get('/', DOCUMENT_REQUEST)).status).toBe(200)
  })
})

describe('the plugin URL forms, fuzzed against plain Vite', () => {
  const SECRET = `TOPSECRET_${randomBytes(8).toString('hex')}`
  let dir: TempDir
  let t: TestServer
  let plain: ViteDevServer
  let plainOrigin: string
  let guard: ProcessGuard

  beforeAll(async () => {
    guard = guardProcess()
    dir = tempDir('hostile-fuzz', {
      'app/index.html': `<!doctype html><html><head><link rel="stylesheet" href="/src/style.css"></head><body><script type="module" src="/src/a.ts"></script></body></html>\n`,
      'app/src/a.ts': `import { b } from './b.ts'\nexport const a = 'A' + b\n`,
      'app/src/b.ts': `export const b = 'B'\n`,
      'app/src/style.css': `body { color: red }\n`,
      'app/.env': `SECRET=${SECRET}\n`,
      'outside/secret.js': `export const secret = '${SECRET}'\n`,
    })
    const root = dir.join('app')
    const fs = { allow: [root] }
    t = await startTestServer(root, {}, { server: { fs } })
    plain = await createServer({
      root,
      configFile: false,
      logLevel: 'silent',
      cacheDir: path.join(root, 'node_modules/.vite-plain'),
      server: { port: 0, host: 'localhost', fs },
    })
    await plain.listen()
    plainOrigin = `http://localhost:${(plain.httpServer!.address() as AddressInfo).port}`
    // the plugin's server as a browser finds it: the page loaded once, its closure cached
    await using client = new TestClient(t.origin)
    await client.loadPage('/')
  })

  afterAll(async () => {
    guard?.stop()
    await t?.close()
    await plain?.close()
    dir?.remove()
  })

  it('denies nothing plain Vite serves, serves nothing it denies, answers each within the bound, and stays up', async () => {
    const seeds = [
      { url: '/src/a.ts', headers: BROWSER_SCRIPT },
      { url: '/src/style.css', headers: BROWSER_STYLE },
      { url: '/.env', headers: BROWSER_SCRIPT },
      { url: `/@fs${dir.join('outside')}/secret.js`, headers: BROWSER_SCRIPT },
      { url: '/src/missing.ts', headers: BROWSER_SCRIPT },
    ]
    const markerForms: string[][] = [
      [`__h2v=${TOKEN}`],
      [`__h2map=${TOKEN}`],
      [`__h2v=${TOKEN}`, `__h2v=${TOKEN}`],
      [`__h2map=${TOKEN}`, `__h2map=${TOKEN.replace('A', 'B')}`],
      Array.from({ length: 40 }, (_, i) => `__h2map=A${i}`),
      ['__h2v='],
      ['__h2map'],
      [`__h2map=${TOKEN}A`],
      [`__h2v=${'A'.repeat(4000)}`],
      [`__H2V=${TOKEN}`],
      [`__H2map=${TOKEN}`],
      [`%5F%5Fh2v=${TOKEN}`],
      [`__h2map%3D${TOKEN}`],
      [`%255F%255Fh2map=${TOKEN}`],
      [`__h2map=${TOKEN}%26__h2map%3D${TOKEN}`],
      [`__h2v=${TOKEN}`, `__h2map=${TOKEN}`],
    ]
    const urls: Array<{ url: string; headers: Record<string, string> }> = []
    for (const { url, headers } of seeds) {
      for (const markers of markerForms) {
        urls.push({ url: withParams(url, markers), headers })
        for (const query of ['raw', 'import', 'url'])
          urls.push({ url: withParams(`${url}?${query}`, markers), headers })
        // the marker first, Vite's query after it
        urls.push({ url: `${withParams(url, markers)}&raw`, headers })
      }
    }
    expect(urls.length).toBeLessThan(500)

    // destroyed rather than closed at the end: a stalled request must fail the test at the bound, not hold its close
    const client = new TestClient(t.origin, { enablePush: false })
    await using _destroyed = { [Symbol.asyncDispose]: async () => void client.session.destroy() }
    const mismatches: string[] = []
    const check = async ({ url, headers }: (typeof urls)[number]) => {
      const [withPlugin, withoutPlugin] = await within(
        BOUND_MS,
        `GET ${url.slice(0, 200)}`,
        Promise.all([client.get(url, headers), http1Get(`${plainOrigin}${url}`, headers)]),
      )
      const problem = compare(url, withPlugin, withoutPlugin)
      if (problem) mismatches.push(`${url.slice(0, 200)}: ${problem}`)
    }
    for (let i = 0; i < urls.length; i += 8) await Promise.all(urls.slice(i, i + 8).map(check))
    expect(mismatches).toEqual([])
    expect(guard.describe()).toBe('')
    expect((await client.get('/', DOCUMENT_REQUEST)).status).toBe(200)
  }, 60_000)

  /** Why the plugin's answer is worse than plain Vite's, or undefined when it is not. */
  function compare(url: string, withPlugin: FetchedResponse, withoutPlugin: { status: number; body: Buffer }) {
    const served = (status: number) => status >= 200 && status < 400
    if (withPlugin.body.includes(SECRET) && !withoutPlugin.body.includes(SECRET))
      return 'the secret, which plain Vite keeps'
    if (served(withPlugin.status) && !served(withoutPlugin.status))
      return `${withPlugin.status}, where plain Vite answers ${withoutPlugin.status}`
    // a map URL in the plugin's own form is the plugin's to answer: its map, or a 404 for a version it does not have
    if (!served(withPlugin.status) && served(withoutPlugin.status) && !(isOwnMapUrl(url) && withPlugin.status === 404))
      return `${withPlugin.status}, where plain Vite answers ${withoutPlugin.status}`
    if (withPlugin.status >= 500 && withoutPlugin.status < 500) return `an error ${withPlugin.status}`
    return undefined
  }

  function isOwnMapUrl(url: string): boolean {
    return (url.match(/[?&]__h2map(?=[=&]|$)/g) ?? []).length === 1 && /[?&]__h2map=[\w-]{16}(?=&|$)/.test(url)
  }
})
