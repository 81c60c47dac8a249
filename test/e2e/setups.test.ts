import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import { build, createServer, preview, type InlineConfig } from 'vite'
import { describe, expect, it } from 'vitest'
import http2Push from 'vite-plugin-http2-push'
import { defaultCertDir } from '../../src/dev-certificate.js'
import { createLeafCertificate } from '../../src/tls/leaf-certificate.js'
import { defaultCaDir } from '../../src/tls/local-ca.js'
import { DOCUMENT_REQUEST } from '../support/browser-headers.mjs'
import { http1Get, startBackend } from '../support/http1.js'
import { TestClient } from '../support/http2-clients.js'
import { crawl, expectFullPush, expectPushesIdenticalToGets } from '../support/push-checks.js'
import { smallApp } from '../support/apps.js'
import { listFiles, tempDir } from '../support/temp-dirs.js'
import { tlsPeer } from '../support/tls-peer.js'
import { closing, startTestServer } from '../support/vite-server.js'
import { viteProxyForcesHttp1, viteVersion } from '../support/vite-version.js'

const PLUGIN = 'vite-plugin-http2-push'
const OPENSSL = '/usr/bin/openssl'

/** Loads `page` with a new push-accepting client over h2: a closure of 5+ resources, fully pushed. */
async function fullyPushedClient(origin: string, page = '/'): Promise<TestClient> {
  const client = new TestClient(origin)
  await client.ready()
  expect(client.session.alpnProtocol).toBe('h2')
  const load = await client.loadPage(page)
  expect(load.closure.size).toBeGreaterThanOrEqual(5)
  await expectFullPush(origin, client, load)
  return client
}

it("runs against the Vite under test: the compat lane's, else the repo's own", () => {
  const installed = fs.readFileSync(new URL('../../node_modules/vite/package.json', import.meta.url), 'utf8')
  expect(viteVersion).toBe(process.env.VITE_COMPAT_VERSION ?? JSON.parse(installed).version)
})

describe('with server.proxy', () => {
  const proxyWarnings = (logs: string[]) => logs.filter((line) => line.includes('server.proxy is set'))

  it.skipIf(viteProxyForcesHttp1)(
    `Vite ${viteVersion} keeps HTTP/2: the closure is pushed and /api is proxied over h2`,
    async () => {
      await using backend = await startBackend()
      using app = smallApp('proxy')
      await using t = await startTestServer(app.path, {}, { server: { proxy: { '/api': backend.origin } } })
      await using client = await fullyPushedClient(t.origin)
      const api = await client.get('/api/x?q=1')
      expect(api.status).toBe(200)
      expect(JSON.parse(api.body.toString())).toEqual({ backend: true, url: '/api/x?q=1', method: 'GET' })
      expect(backend.requests).toEqual(['/api/x?q=1'])
      expect(proxyWarnings(t.logs)).toEqual([])
    },
  )

  it.runIf(viteProxyForcesHttp1)(
    `Vite ${viteVersion} falls back to HTTP/1.1: warned once, preload links instead of push`,
    async () => {
      await using backend = await startBackend()
      using app = smallApp('proxy')
      await using t = await startTestServer(app.path, {}, { server: { proxy: { '/api': backend.origin } } })
      const warnings = proxyWarnings(t.logs)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`[${PLUGIN}]`)
      expect(warnings[0]).toContain(`Vite ${viteVersion}`)
      expect((await tlsPeer(t.origin)).alpn).not.toBe('h2')
      const page = await http1Get(`${t.origin}/`)
      expect(page.httpVersion).toBe('1.1')
      expect(page.status).toBe(200)
      expect(page.body.toString()).toMatch(/<link rel="modulepreload" href="\/src\/b\.ts\?__h2v=[\w-]+">/)
      const api = await http1Get(`${t.origin}/api/x`, {})
      expect(JSON.parse(api.body.toString())).toMatchObject({ backend: true, url: '/api/x' })
      // still exactly one after serving pages
      expect(proxyWarnings(t.logs)).toHaveLength(1)
    },
  )
})

describe('root in a subfolder, modules outside root through /@fs/', () => {
  it('pushes the whole closure including /@fs/ modules, and resolves a relative certDir against root', async () => {
    using project = tempDir('subroot', {
      'web/index.html': `<!doctype html>
<html><head><link rel="stylesheet" href="/style.css"></head>
<body><script type="module" src="/main.ts"></script></body></html>
`,
      'web/main.ts': `import { util } from '../shared/util.ts'\nimport { local } from './local.ts'\ndocument.body.textContent = util + local\n`,
      'web/local.ts': `export const local = 'local'\n`,
      'web/style.css': `body { color: red }\n`,
      'shared/util.ts': `import { helper } from './deep/helper.ts'\nexport const util: string = 'util' + helper\n`,
      'shared/deep/helper.ts': `export const helper = 'helper'\n`,
    })
    const root = project.join('web')
    await using t = await startTestServer(root, { certDir: '.certs' }, { server: { fs: { allow: [project.path] } } })
    expect(t.server.config.root).toBe(root)
    await using client = await fullyPushedClient(t.origin)
    const keys = client.pushes.map((push) => push.key)
    expect(keys).toContain(`/@fs${project.path}/shared/util.ts`)
    expect(keys).toContain(`/@fs${project.path}/shared/deep/helper.ts`)
    expect(keys).toContain('/local.ts')
    expect(keys).toContain('style:/style.css')
    expect(fs.existsSync(path.join(root, '.certs/cert.pem'))).toBe(true)
  })
})

describe('a multi-page app with pages in nested dirs', () => {
  it('pushes each page only what is new to the connection', async () => {
    using app = tempDir('mpa', {
      'index.html': `<!doctype html><html><head><link rel="stylesheet" href="/common.css"></head>
<body><script type="module" src="/src/home.ts"></script></body></html>
`,
      'nested/page.html': `<!doctype html><html><head><link rel="stylesheet" href="/common.css"></head>
<body><script type="module" src="./page.ts"></script>
<script type="module">import { common } from '/src/common.ts'; document.title = common</script></body></html>
`,
      'nested/deeper/index.html': `<!doctype html><html><head></head>
<body><script type="module" src="./deep.ts"></script></body></html>
`,
      'common.css': `body { margin: 0 }\n`,
      'src/common.ts': `import { util } from './util.ts'\nexport const common: string = 'common' + util\n`,
      'src/util.ts': `export const util = 'util'\n`,
      'src/home.ts': `import { common } from './common.ts'\nimport { homeOnly } from './home-only.ts'\ndocument.body.textContent = common + homeOnly\n`,
      'src/home-only.ts': `export const homeOnly = 'home'\n`,
      'nested/page.ts': `import { common } from '../src/common.ts'\nimport { pageOnly } from './page-only.ts'\nimport './page.css'\ndocument.body.textContent = common + pageOnly\n`,
      'nested/page-only.ts': `export const pageOnly = 'page'\n`,
      'nested/page.css': `p { color: blue }\n`,
      'nested/deeper/deep.ts': `import { util } from '../../src/util.ts'\nimport { deepOnly } from './deep-only.ts'\nimport { pageOnly } from '../page-only.ts'\ndocument.body.textContent = util + deepOnly + pageOnly\n`,
      'nested/deeper/deep-only.ts': `export const deepOnly = 'deep'\n`,
    })
    await using t = await startTestServer(app.path, {}, { appType: 'mpa' })
    await using client = new TestClient(t.origin)
    const pages = ['/', '/nested/page.html', '/nested/deeper/']
    const expectedClosures = new Map<string, string[]>()
    for (const page of pages) expectedClosures.set(page, [...(await crawl(t.origin, page)).keys()].sort())
    expect(expectedClosures.get('/nested/page.html')).toContain('/nested/page.html?html-proxy&index=0.js')
    expect(expectedClosures.get('/nested/deeper/')).toContain('/nested/deeper/deep-only.ts')

    for (const [index, page] of pages.entries()) {
      const closure = expectedClosures.get(page)!
      const expected = closure.filter((key) => !client.held.has(key)).sort()
      const load = await client.loadPage(page)
      expect([...load.closure.keys()].sort(), page).toEqual(closure)
      expect(load.pushesReceived.map((push) => push.key).sort(), page).toEqual(expected)
      expect(load.requested.size, page).toBe(0)
      if (index === 0) expect(expected).toEqual(closure)
      else {
        expect(expected.length, page).toBeGreaterThan(0)
        expect(expected.length, page).toBeLessThan(closure.length)
        expect(expected, page).not.toContain('/@vite/client')
      }
      await expectPushesIdenticalToGets(t.origin, load.pushesReceived)
    }
    expect(client.unusedPushKeys()).toEqual([])
    const pushedKeys = client.pushes.map((push) => push.key)
    expect(new Set(pushedKeys).size).toBe(pushedKeys.length)
  })
})

describe("the user's own server.https wins", () => {
  const userCert = createLeafCertificate({ commonName: 'user-cert.test' })

  async function expectUserCertificate(https: NonNullable<NonNullable<InlineConfig['server']>['https']>) {
    using app = smallApp('user-https')
    using certParent = tempDir('user-https-certdir')
    const certDir = certParent.join('never')
    await using t = await startTestServer(app.path, { certDir }, { server: { https } })
    await using client = await fullyPushedClient(t.origin)
    const peer = (client.session.socket as unknown as TLSSocket).getPeerCertificate()
    expect(peer.subject.CN).toBe('user-cert.test')
    expect(peer.fingerprint256).toBe(new X509Certificate(userCert.cert).fingerprint256)
    expect(fs.existsSync(certDir)).toBe(false)
    expect(t.logs.filter((line) => line.includes('Created'))).toEqual([])
  }

  it('key + cert PEM', async () => {
    await expectUserCertificate({ key: userCert.key, cert: userCert.cert })
  })

  it.skipIf(!fs.existsSync(OPENSSL))('PFX with a passphrase', async () => {
    using dir = tempDir('pfx', { 'key.pem': userCert.key, 'cert.pem': userCert.cert })
    const pfxFile = dir.join('cert.pfx')
    execFileSync(OPENSSL, [
      'pkcs12',
      '-export',
      '-inkey',
      dir.join('key.pem'),
      '-in',
      dir.join('cert.pem'),
      '-out',
      pfxFile,
      '-passout',
      'pass:secret',
    ])
    await expectUserCertificate({ pfx: fs.readFileSync(pfxFile), passphrase: 'secret' })
  })
})

describe('no certificate configured', () => {
  it('creates one beside the CA (<caDir>/leaves/<hash of root>), outside the project, once, then reuses it', async () => {
    using app = smallApp('default-cert')
    const root = app.path
    const certDir = defaultCertDir(defaultCaDir(), root)
    // where versions before issue 18 kept it (inside Vite's cacheDir, which Vite may serve): cleaned up
    const oldDir = path.join(root, 'node_modules/.vite/http2-push-cert')
    fs.mkdirSync(oldDir, { recursive: true })
    fs.writeFileSync(path.join(oldDir, 'key.pem'), 'old key')
    const created = (logs: string[]) => logs.filter((line) => line.includes('Created a localhost certificate'))

    let firstFingerprint: string
    {
      await using first = await startTestServer(root, { certDir: undefined })
      expect(first.server.config.cacheDir).toBe(path.join(root, 'node_modules/.vite'))
      expect(created(first.logs)).toHaveLength(1)
      expect(created(first.logs)[0]).toContain(certDir)
      expect(fs.existsSync(oldDir)).toBe(false)
      const onDisk = new X509Certificate(fs.readFileSync(path.join(certDir, 'cert.pem')))
      expect(fs.existsSync(path.join(certDir, 'key.pem'))).toBe(true)
      const peer = await tlsPeer(first.origin)
      expect(peer.alpn).toBe('h2')
      expect(peer.commonName).toBe('localhost')
      expect(peer.fingerprint256).toBe(onDisk.fingerprint256)
      firstFingerprint = peer.fingerprint256
      await (await fullyPushedClient(first.origin)).close()
    }

    const certBefore = fs.readFileSync(path.join(certDir, 'cert.pem'))
    await using second = await startTestServer(root, { certDir: undefined })
    expect(created(second.logs)).toEqual([])
    expect((await tlsPeer(second.origin)).fingerprint256).toBe(firstFingerprint)
    expect(fs.readFileSync(path.join(certDir, 'cert.pem')).equals(certBefore)).toBe(true)
  })
})

describe('vite build and vite preview', () => {
  function buildConfig(root: string, outDir: string, certDir: string | undefined): InlineConfig {
    return {
      root,
      configFile: false,
      logLevel: 'silent',
      cacheDir: path.join(root, 'node_modules/.vite'),
      plugins: certDir ? [http2Push({ certDir })] : [],
      build: { outDir, emptyOutDir: true },
    }
  }

  it('build output is identical with and without the plugin; preview serves plain HTTP, untouched', async () => {
    using app = smallApp('build')
    const root = app.path
    using certParent = tempDir('build-certdir')
    const certDir = certParent.join('never')
    await build(buildConfig(root, 'dist-without', undefined))
    await build(buildConfig(root, 'dist-with', certDir))
    const without = path.join(root, 'dist-without')
    const withPlugin = path.join(root, 'dist-with')
    const files = listFiles(withPlugin)
    expect(files).toContain('index.html')
    expect(files.some((file) => /^assets\/.*\.js$/.test(file))).toBe(true)
    expect(files).toEqual(listFiles(without))
    for (const file of files) {
      expect(fs.readFileSync(path.join(withPlugin, file)).equals(fs.readFileSync(path.join(without, file))), file).toBe(
        true,
      )
    }
    expect(fs.existsSync(certDir)).toBe(false)

    await using server = closing(
      await preview({ ...buildConfig(root, 'dist-with', certDir), preview: { port: 0, host: 'localhost' } }),
    )
    expect(server.config.plugins.map((plugin) => plugin.name)).not.toContain(PLUGIN)
    expect(server.config.preview.https).toBeFalsy()
    const local = server.resolvedUrls?.local[0]
    expect(local).toMatch(/^http:\/\/localhost:\d+\/$/)
    const page = await http1Get(local!, DOCUMENT_REQUEST)
    expect(page.httpVersion).toBe('1.1')
    expect(page.status).toBe(200)
    expect(page.body.equals(fs.readFileSync(path.join(withPlugin, 'index.html')))).toBe(true)
    expect(page.body.toString()).not.toContain('modulepreload')
    expect(fs.existsSync(certDir)).toBe(false)
  })
})

describe('bad options fail fast', () => {
  it('maxPushes: -1 stops createServer with a message naming maxPushes', async () => {
    using app = smallApp('bad-option')
    const root = app.path
    let started: Awaited<ReturnType<typeof createServer>> | undefined
    const attempt = (async () => {
      started = await createServer({
        root,
        configFile: false,
        logLevel: 'silent',
        plugins: [http2Push({ maxPushes: -1 })],
      })
    })()
    await expect(attempt).rejects.toThrow(/maxPushes/)
    await started?.close()
  })

  it('a certDir under a regular file makes createServer reject with a message naming certDir', async () => {
    using app = smallApp('bad-certdir')
    const root = app.path
    using notADir = tempDir('not-a-dir', { file: 'not a directory' })
    const file = notADir.join('file')
    const certDir = path.join(file, 'certs')
    let started: Awaited<ReturnType<typeof createServer>> | undefined
    const attempt = (async () => {
      started = await createServer({
        root,
        configFile: false,
        logLevel: 'silent',
        cacheDir: path.join(root, 'node_modules/.vite'),
        plugins: [http2Push({ certDir })],
        server: { port: 0 },
      })
    })()
    await expect(attempt).rejects.toThrow(/certDir/)
    await expect(attempt).rejects.toThrow(certDir)
    await started?.close()
  })
})
