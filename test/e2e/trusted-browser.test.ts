import fs from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext } from 'playwright-core'
import { createServer, type Plugin, type ViteDevServer } from 'vite'
import http2Push, { type Http2PushOptions } from 'vite-plugin-http2-push'
import { afterAll, describe, expect, it } from 'vitest'
import { createCacheOffDetector, type CacheOffEvidence } from '../../src/serve/cache-off-detector.js'
import { connectionOf } from '../../src/graph/request-url.js'
import { capturingLogger } from '../support/capturing-logger.js'
import { CHROMIUM_ARGS_CHECKING_CERTIFICATES, chromiumPath, requireBrowserOrSkip } from '../support/chromium.js'
import {
  attempt,
  createNssDb,
  makeTemporaryUser,
  requireCertutilOrSkip,
  requireMkcertOrSkip,
  run,
} from '../support/trust-tools.js'
import type { TemporaryUser } from '../support/trust-tools.js'

// Real Chromium (Debian's) checking certificates as a user's browser does: no
// --ignore-certificate-errors, its NSS database in a temporary HOME.

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const IMMUTABLE_URL = '/vendor.js?v=1'
const ready = requireBrowserOrSkip() && requireCertutilOrSkip() && requireMkcertOrSkip()

const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'vite-http2-push-trusted-browser-'))
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }))

interface Request {
  url: string
  headers: IncomingHttpHeaders
}

interface AppServer {
  server: ViteDevServer
  origin: string
  logs: string[]
  requests: Request[]
  cacheOff: CacheOffEvidence[]
}

/** A small app (a module, its import, and a classic script served immutable like a versioned URL). */
function makeApp(user: TemporaryUser): string {
  const root = path.join(user.home, 'app')
  fs.mkdirSync(path.join(root, 'src'), { recursive: true })
  fs.writeFileSync(
    path.join(root, 'index.html'),
    `<!doctype html><html><head><script src="${IMMUTABLE_URL}"></script>` +
      '<script type="module" src="/src/main.js"></script></head><body></body></html>\n',
  )
  fs.writeFileSync(
    path.join(root, 'src/main.js'),
    "import { label } from './label.js'\ndocument.body.dataset.loaded = label\n",
  )
  fs.writeFileSync(path.join(root, 'src/label.js'), "export const label = 'yes'\n")
  return root
}

/** Records every request, serves IMMUTABLE_URL with `immutable`, and feeds the cache-off detector. */
function recorder(requests: Request[], cacheOff: CacheOffEvidence[]): Plugin {
  const detector = createCacheOffDetector((evidence) => cacheOff.push(evidence))
  return {
    name: 'test-recorder',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? ''
        requests.push({ url, headers: req.headers })
        detector.requested(url, req.headers, connectionOf(req))
        if (url !== IMMUTABLE_URL) return next()
        res.setHeader('Content-Type', 'text/javascript')
        res.setHeader('Cache-Control', 'public, max-age=31536000, immutable')
        res.end('window.vendorLoaded = true\n')
        detector.servedImmutable(url, req.headers, connectionOf(req))
      })
    },
  }
}

/** Starts a dev server with the plugin as `user` would (their HOME, CAROOT and cache folder). */
async function startAs(user: TemporaryUser, options: Http2PushOptions = {}): Promise<AppServer> {
  const root = makeApp(user)
  const logs: string[] = []
  const requests: Request[] = []
  const cacheOff: CacheOffEvidence[] = []
  const saved = { HOME: process.env.HOME, CAROOT: process.env.CAROOT, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME }
  Object.assign(process.env, { HOME: user.home, CAROOT: user.caroot, XDG_CACHE_HOME: user.env.XDG_CACHE_HOME })
  try {
    const server = await createServer({
      root,
      configFile: false,
      logLevel: 'info',
      customLogger: capturingLogger(logs),
      cacheDir: path.join(root, 'node_modules/.vite'),
      plugins: [recorder(requests, cacheOff), http2Push(options)],
      server: { port: 0, host: 'localhost' },
    })
    await server.listen()
    const local = server.resolvedUrls?.local[0]
    if (!local) throw new Error('no local URL')
    return { server, origin: new URL(local).origin, logs, requests, cacheOff }
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** Chromium with a persistent profile in `user`'s HOME, reading that HOME's NSS database. */
async function launchAs(user: TemporaryUser, profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(path.join(user.home, profile), {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS_CHECKING_CERTIFICATES,
    env: { ...process.env, HOME: user.home },
  })
}

/**
 * Loads the page, reloads it, then opens it in a second tab. Returns what the server saw on the
 * reload and in the second tab. (A reload of the same document may take the immutable script from
 * Blink's in-memory cache even when the HTTP cache is off; a new document cannot.)
 */
async function loadReloadAndOpenAgain(app: AppServer, context: BrowserContext, clickThrough = false) {
  const page = await context.newPage()
  let response = await page.goto(`${app.origin}/`).catch((error: Error) => {
    if (clickThrough && /ERR_CERT_AUTHORITY_INVALID/.test(error.message)) return null
    throw error
  })
  if (clickThrough) {
    // What a user does on Chromium's warning page: "Advanced", then "Proceed to localhost (unsafe)".
    await page.click('#details-button')
    ;[response] = await Promise.all([page.waitForNavigation(), page.click('#proceed-link')])
  }
  expect(response?.status()).toBe(200)
  await page.waitForFunction(() => document.body.dataset.loaded === 'yes')
  const issuer = (await response?.securityDetails())?.issuer
  const beforeReload = app.requests.length
  await page.reload()
  await page.waitForFunction(() => document.body.dataset.loaded === 'yes')
  const onReload = app.requests.slice(beforeReload)
  const beforeSecondTab = app.requests.length
  const second = await context.newPage()
  await second.goto(`${app.origin}/`)
  await second.waitForFunction(() => document.body.dataset.loaded === 'yes')
  const transferSize = await second.evaluate(
    (url) =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((entry) =>
        entry.name.endsWith(url),
      )?.transferSize,
    IMMUTABLE_URL,
  )
  return { issuer, onReload, inSecondTab: app.requests.slice(beforeSecondTab), transferSize }
}

/**
 * The HTTP cache is on: the reload revalidates the HTML from it (If-None-Match; Blink's in-memory
 * cache does not hold documents), and the second tab does not ask for the immutable script again.
 */
function expectCacheOn(visit: Awaited<ReturnType<typeof loadReloadAndOpenAgain>>): void {
  expect(visit.onReload.find((r) => r.url === '/')?.headers['if-none-match']).toBeDefined()
  expect(visit.inSecondTab.map((r) => r.url)).not.toContain(IMMUTABLE_URL)
  expect(visit.transferSize).toBe(0)
}

describe.skipIf(!ready)('Chromium and the trusted certificate', () => {
  it("loads the page signed by mkcert's CA without a certificate error, and reloads from its HTTP cache", async () => {
    const user = makeTemporaryUser(parent, 'mkcert')
    createNssDb(user)
    run('mkcert', ['-install'], user.env)
    const app = await startAs(user, { certDir: path.join(user.home, 'leaf') })
    const context = await launchAs(user, 'profile')
    try {
      expect(app.logs.join('\n')).toContain(
        `HTTPS certificate signed by mkcert's CA in ${user.caroot}, trusted in ~/.pki/nssdb`,
      )
      const visit = await loadReloadAndOpenAgain(app, context)
      expect(visit.issuer).toMatch(/^mkcert /)
      expectCacheOn(visit)
      expect(app.cacheOff).toEqual([])
    } finally {
      await context.close()
      await app.server.close()
    }
  })

  it("loads the page signed by the plugin's CA after `trust --yes`, and fails again after `untrust --yes`", async () => {
    const user = makeTemporaryUser(parent, 'own-ca')
    const trusted = attempt(process.execPath, [CLI, 'trust', '--yes'], user.env)
    expect(trusted.status, trusted.output).toBe(0)
    const app = await startAs(user, { certDir: path.join(user.home, 'leaf') })
    const context = await launchAs(user, 'profile')
    try {
      expect(app.logs.join('\n')).toContain(
        `HTTPS certificate signed by the plugin's local CA in ${user.caDir}, trusted in ~/.pki/nssdb`,
      )
      const visit = await loadReloadAndOpenAgain(app, context)
      expect(visit.issuer).toMatch(/^vite-plugin-http2-push local CA [0-9a-f]{8}$/)
      expectCacheOn(visit)
    } finally {
      await context.close()
    }
    try {
      const untrusted = attempt(process.execPath, [CLI, 'untrust', '--yes'], user.env)
      expect(untrusted.status, untrusted.output).toBe(0)
      const fresh = await launchAs(user, 'profile-after-untrust')
      try {
        await expect((await fresh.newPage()).goto(`${app.origin}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/)
      } finally {
        await fresh.close()
      }
    } finally {
      await app.server.close()
    }
  })

  it('with a certificate error clicked through, Chromium fetches the immutable URL again: the detector warns once', async () => {
    const user = makeTemporaryUser(parent, 'untrusted')
    const app = await startAs(user, { certDir: path.join(user.home, 'leaf') })
    const context = await launchAs(user, 'profile')
    try {
      expect(app.logs.join('\n')).toMatch(/which no trust store holds yet: .* Fix: npx vite-plugin-http2-push trust\n?/)
      const visit = await loadReloadAndOpenAgain(app, context, true)
      // Chromium kept nothing: no revalidation on reload, the immutable script fetched again.
      const reloaded = visit.onReload.find((r) => r.url === '/')
      expect(reloaded).toBeDefined()
      expect(reloaded?.headers['if-none-match']).toBeUndefined()
      expect(visit.inSecondTab.map((r) => r.url)).toContain(IMMUTABLE_URL)
      await (await context.newPage()).goto(`${app.origin}/`)
      expect(app.cacheOff).toEqual([{ url: IMMUTABLE_URL, userAgent: expect.stringContaining('Chrome') }])
    } finally {
      await context.close()
      await app.server.close()
    }
  })
})
