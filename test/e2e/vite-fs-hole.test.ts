import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Vite 8.4.0 serves a file outside `server.fs.allow` to every later GET once an HTML page that
// links it has been transformed (8.3.8 answers 403). The plugin renders through Vite's stack and
// pushes whole closures, so it must keep its own check: no push, link, cached answer or warm-up
// may carry such a file, whatever Vite's module graph or a plain GET says.

const SECRET = `SECRET_${randomBytes(8).toString('hex')}`
const SCRIPT = { accept: '*/*', 'sec-fetch-dest': 'script' }
const STYLE = { accept: 'text/css,*/*;q=0.1', 'sec-fetch-dest': 'style' }

describe('a file Vite lets out after an HTML page linked it', () => {
  let t: TestServer
  let tmp: TempDir
  let secretUrl: string

  beforeAll(async () => {
    tmp = tempDir('fs-hole')
    const app = tmp.join('app')
    const secretFile = tmp.join('outside', 'passwd')
    fs.mkdirSync(path.dirname(secretFile), { recursive: true })
    fs.writeFileSync(secretFile, `root:x:0:0:${SECRET}\n`)
    secretUrl = `/@fs${secretFile}`
    const links = `<link rel="stylesheet" href="${secretUrl}"><link rel="modulepreload" href="${secretUrl}?import">`
    tmp.write({
      // index.html is warmed up at start: the warm-up must not transform it (that opens the hole)
      'app/index.html': `<!doctype html><html><head>${links}</head><body><script type="module" src="/src/main.js"></script></body></html>`,
      'app/evil.html': `<!doctype html><html><head>${links}</head><body><script type="module" src="/src/main.js"></script></body></html>`,
      'app/good.html': `<!doctype html><html><head></head><body><script type="module" src="/src/main.js"></script></body></html>`,
      'app/src/main.js': `document.body.dataset.ok = '1'\n`,
    })
    t = await startTestServer(
      app,
      {},
      {
        server: { fs: { allow: [app] } },
        build: { rollupOptions: { input: { index: path.join(app, 'index.html'), good: path.join(app, 'good.html') } } },
      },
    )
    // the warm-up handles index.html, then good.html: once good.html's closure is cached, both are done
    await waitFor(() => t.plugin.api!.cachedResponseCount > 0, 30_000, 'the warm-up of good.html')
  })
  afterAll(async () => {
    await t?.close()
    tmp?.remove()
  })

  it('the warm-up leaves it out of Vite: a GET is still refused', async () => {
    const client = new TestClient(t.origin, { enablePush: false })
    try {
      const response = await client.get(secretUrl, { ...STYLE, 'cache-control': 'no-cache' })
      expect(response.status).toBe(403)
      expect(response.body.toString()).not.toContain(SECRET)
    } finally {
      await client.close()
    }
  })

  it('a push client loading the page gets no push of it, and the page as usual', async () => {
    const client = new TestClient(t.origin)
    try {
      const load = await client.loadPage('/evil.html')
      const pushed = load.pushesReceived.map((push) => push.path)
      expect(pushed).toContain('/src/main.js')
      expect(pushed.filter((url) => url.startsWith(secretUrl))).toEqual([])
      for (const push of load.pushesReceived) expect((await push.response)?.body.toString()).not.toContain(SECRET)
      expect(t.logs.some((line) => /\/evil\.html: .*2 denied by server\.fs/.test(line))).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('a browser gets no link to it, and its GETs are never answered from the plugin cache', async () => {
    const client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    try {
      const load = await client.loadPage('/evil.html')
      const linked = [...load.html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1])
      // only the page's own link: the plugin adds none
      expect(linked.filter((url) => url!.startsWith(secretUrl))).toEqual([`${secretUrl}?import`])
      expect(
        t.logs.some((line) =>
          /\/evil\.html: [1-9]\d* modulepreload links; import map of \d+; 2 denied by server\.fs/.test(line),
        ),
      ).toBe(true)
      const served = t.plugin.api!.cachedResponsesServed
      // whatever Vite itself answers now (8.4.0: the file), the plugin's cache never answers it
      await client.get(secretUrl, STYLE)
      await client.get(`${secretUrl}?import`, SCRIPT)
      expect(t.plugin.api!.cachedResponsesServed).toBe(served)
    } finally {
      await client.close()
    }
  })
})

describe('a file that becomes denied while cached', () => {
  let t: TestServer
  let app: TempDir
  const TEXT = `CONFIG_${randomBytes(8).toString('hex')}`

  beforeAll(async () => {
    app = tempDir('fs-becomes-denied', {
      'index.html': `<!doctype html><html><head></head><body><script type="module" src="/src/main.js"></script></body></html>`,
      'src/main.js': `import text from './settings.txt?raw'\ndocument.body.textContent = text\n`,
      'src/settings.txt': `${TEXT}\n`,
    })
    t = await startTestServer(app.path, {}, { server: { fs: { allow: [app.path] } } })
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  /** The page as a browser gets it (links and import map), and the versioned URL it maps the text file to. */
  async function versionedText(): Promise<string | undefined> {
    const client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    try {
      const html = (await client.get('/', { accept: 'text/html', 'sec-fetch-dest': 'document' })).body.toString()
      const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/s.exec(html)![1]!) as {
        imports: Record<string, string>
      }
      return Object.entries(map.imports).find(([url]) => url.startsWith('/src/settings.txt?'))?.[1]
    } finally {
      await client.close()
    }
  }

  it('is no longer mapped or answered from the cache after the config changes and the server restarts', async () => {
    const versioned = await versionedText()
    expect(versioned).toMatch(/__h2v=/)
    const client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    try {
      const before = await client.get(versioned!, SCRIPT)
      expect(before.body.toString()).toContain(TEXT)
      expect(before.headers['cache-control']).toContain('immutable')
    } finally {
      await client.close()
    }

    const immutableBefore = t.plugin.api!.immutableResponsesServed
    const inline = t.server.config.inlineConfig
    inline.server = { ...inline.server, fs: { ...inline.server?.fs, deny: ['*.txt'] } }
    await t.server.restart()

    expect(await versionedText()).toBeUndefined()
    const after = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    try {
      const got = await after.get(versioned!, SCRIPT)
      expect(String(got.headers['cache-control'] ?? '')).not.toContain('immutable')
      // what Vite itself answers the module's own URL now: the plugin adds nothing to it
      const own = await after.get(versioned!.replace(/[?&]__h2v=.*$/, ''), SCRIPT)
      expect(got.status).toBe(own.status)
      expect(got.body.equals(own.body)).toBe(true)
      expect(t.plugin.api!.immutableResponsesServed).toBe(immutableBefore)
    } finally {
      await after.close()
    }
  })
})
