import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient } from '../support/http2-clients.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Vite serves its optimized dependencies from `<cacheDir>/deps` by the path it resolved them to,
// also when `cacheDir` lies outside `server.fs.allow` (a framework that narrows `allow`, a cache
// folder kept elsewhere). The fs guard lets exactly that folder through, and still nothing else
// outside `allow`.

describe('optimized dependencies in a cacheDir outside server.fs.allow', () => {
  let t: TestServer
  let tmp: TempDir

  beforeAll(async () => {
    tmp = tempDir('deps-outside-allow', {
      'app/index.html': `<!doctype html><html><head></head><body><script type="module" src="/src/main.js"></script></body></html>`,
      'app/src/main.js': `import { dep } from 'dep'\ndocument.body.textContent = dep\n`,
      'app/node_modules/dep/package.json': JSON.stringify({
        name: 'dep',
        version: '1.0.0',
        type: 'module',
        main: 'index.js',
      }),
      'app/node_modules/dep/index.js': `export const dep = 'dep'\n`,
      'cache/secret.js': `export const secret = 'outside'\n`,
    })
    t = await startTestServer(
      tmp.join('app'),
      {},
      {
        cacheDir: tmp.join('cache'),
        optimizeDeps: { include: ['dep'] },
        server: { fs: { strict: true, allow: [tmp.join('app')] } },
      },
    )
  })
  afterAll(async () => {
    await t?.close()
    tmp?.remove()
  })

  it('are pushed with the rest of the closure', async () => {
    await using client = new TestClient(t.origin)
    const load = await client.loadPage('/')
    const dep = [...load.closure.keys()].find((key) => key.includes('/cache/deps/dep.js'))
    expect(dep, [...load.closure.keys()].join(', ')).toBeDefined()
    expect(load.closure.get(dep!)!.status).toBe(200)
    expect(load.fromPush.has(dep!), `not pushed: ${dep}`).toBe(true)
    expect(t.logs.join('\n')).not.toMatch(/denied by server\.fs/)
  })

  it('while a file elsewhere in the cache folder stays out', async () => {
    expect(fs.existsSync(tmp.join('cache/secret.js'))).toBe(true)
    const html = `<!doctype html><html><head><link rel="modulepreload" href="/@fs${tmp.join('cache/secret.js')}"></head><body><script type="module" src="/src/main.js"></script></body></html>`
    fs.writeFileSync(tmp.join('app/other.html'), html)
    await using client = new TestClient(t.origin)
    const load = await client.loadPage('/other.html')
    expect(load.pushesReceived.map((push) => push.key).filter((key) => key.includes('secret'))).toEqual([])
  })
})
