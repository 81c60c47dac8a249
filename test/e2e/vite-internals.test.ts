import fs from 'node:fs'
import { version as viteVersion } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { plainGet } from '../support/http2-clients.js'
import { smallApp } from '../support/apps.js'
import type { TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// The plugin relies on four Vite internals. Each test names the one it guards, so a Vite release
// that changes it fails here, loudly, instead of silently turning a part of the plugin off.

const SCRIPT = { accept: '*/*', 'sec-fetch-dest': 'script' }

describe(`the Vite internals the plugin relies on (Vite ${viteVersion})`, () => {
  let t: TestServer
  let root: TempDir

  beforeAll(async () => {
    root = smallApp('vite-internals')
    fs.writeFileSync(
      root.join('index.html'),
      fs
        .readFileSync(root.join('index.html'), 'utf8')
        .replace('</body>', `<script type="module">import './src/b.ts'</script></body>`),
    )
    t = await startTestServer(root.path, {}, { server: { headers: { 'x-custom': 'yes' } } })
  })
  afterAll(async () => {
    await t?.close()
    root?.remove()
  })

  it('a middleware named viteTransformMiddleware (the cached answers go right before it)', () => {
    const names = (t.server.middlewares as unknown as { stack: Array<{ handle: { name: string } }> }).stack.map(
      (layer) => layer.handle.name,
    )
    expect(names, 'Vite no longer has a middleware named viteTransformMiddleware').toContain('viteTransformMiddleware')
    expect(names.indexOf('http2PushCachedResponseMiddleware')).toBe(names.indexOf('viteTransformMiddleware') - 1)
    expect(names[0], 'versioned URLs must be taken apart first').toBe('http2PushVersionedRequestMiddleware')
  })

  it("a module's transformResult object is its freshness: the same until its file changes", async () => {
    const moduleGraph = t.server.environments.client.moduleGraph
    await plainGet(t.origin, '/src/a.ts', SCRIPT)
    const first = (await moduleGraph.getModuleByUrl('/src/a.ts'))?.transformResult
    expect(first, 'Vite keeps no transformResult on the module node').toBeTruthy()
    await plainGet(t.origin, '/src/a.ts', SCRIPT)
    expect(
      (await moduleGraph.getModuleByUrl('/src/a.ts'))?.transformResult,
      'transformResult replaced without a change',
    ).toBe(first)
    fs.writeFileSync(root.join('src/a.ts'), `import { b } from './b.ts'\nexport const a: string = 'A' + b\n`)
    await expect
      .poll(async () => (await moduleGraph.getModuleByUrl('/src/a.ts'))?.transformResult !== first, { timeout: 10_000 })
      .toBe(true)
  })

  it('send() sets Content-Type, Cache-Control, ETag and server.headers on a module (the cached answer sets exactly those)', async () => {
    const got = await plainGet(t.origin, '/src/b.ts', SCRIPT)
    expect(got.status).toBe(200)
    const names = Object.keys(got.headers)
      .filter((name) => name !== 'date' && name !== 'vary')
      .sort()
    expect(names, "Vite's send() sets other headers than the plugin's cached answer does").toEqual([
      'cache-control',
      'content-type',
      'etag',
      'x-custom',
    ])
    expect(got.headers['cache-control']).toBe('no-cache')
  })

  it('an inline module script becomes an ?html-proxy module script in the served HTML', async () => {
    const html = (await plainGet(t.origin, '/', { accept: 'text/html', 'sec-fetch-dest': 'document' })).body.toString()
    expect(html, 'Vite no longer serves inline module scripts as ?html-proxy modules').toMatch(
      /<script type="module" src="\/index\.html\?html-proxy(&amp;|&)index=0\.js(&amp;__h2v=[\w-]+)?">/,
    )
  })
})
