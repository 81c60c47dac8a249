import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { InlineConfig, Plugin } from 'vite'
import { describe, expect, it } from 'vitest'
import type { Http2PushOptions } from 'vite-plugin-http2-push'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST, STYLE_REQUEST } from '../support/browser-headers.mjs'
import { plainGet } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Instant restarts: the plugin keeps each page's closure and its modules' versions in Vite's
// cacheDir; after a restart the first HTML gets its import map from that record, for the modules
// whose files are unchanged on disk, before anything is transformed. Whatever changed while the
// server was down (a file, a branch, the config, the plugins, the dependencies) is served fresh.

const RECORD = 'node_modules/.vite/http2-push-record.json'

/** A small app: a chain main → a → b, a leaf, a define, a virtual module, CSS, an optimized CJS dep. */
function restartApp(extra: Record<string, string> = {}): TempDir {
  const dir = tempDir('restart', {
    'index.html': `<!doctype html><html><head><link rel="stylesheet" href="/src/page.css"></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n`,
    'src/main.ts': `import { a } from './a.ts'\nimport { leaf } from './leaf.ts'\nimport { flag } from './flag.ts'
import { greeting } from 'virtual:greeting'\nimport cjs from 'tiny-cjs'\nimport './style.css'
document.querySelector('#app')!.textContent = [a, leaf, flag, greeting, cjs.name].join(' ')\n`,
    'src/a.ts': `import { b } from './b.ts'\nexport const a = 'a' + b\n`,
    'src/b.ts': `export const b = 'b'\n`,
    'src/leaf.ts': `export const leaf = 'leaf-0'\n`,
    'src/flag.ts': `declare const __FLAG__: string\nexport const flag = __FLAG__\n`,
    'src/style.css': `#app { color: teal }\n`,
    'src/page.css': `body { margin: 0 }\n`,
    'package.json': `{ "name": "restart-app", "private": true }\n`,
    'node_modules/.package-lock.json': `{ "name": "restart-app", "lockfileVersion": 3, "packages": {} }\n`,
    'node_modules/tiny-cjs/package.json': `{ "name": "tiny-cjs", "version": "1.0.0", "main": "index.js" }\n`,
    'node_modules/tiny-cjs/index.js': `module.exports = { name: 'tiny-cjs' }\n`,
    ...extra,
  })
  backdate(dir.path)
  return dir
}

/** Sets every file's mtime a minute back: the record leaves out files changed in the last seconds. */
function backdate(dir: string): void {
  const past = new Date(Date.now() - 60_000)
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    if (entry.isFile()) fs.utimesSync(path.join(entry.parentPath, entry.name), past, past)
}

const virtualGreeting: Plugin = {
  name: 'virtual-greeting',
  resolveId: (id) => (id === 'virtual:greeting' ? '\0virtual:greeting' : undefined),
  load: (id) => (id === '\0virtual:greeting' ? `export const greeting = 'hello'` : undefined),
}

function appConfig(flag = 'one', plugins: Plugin[] = []): InlineConfig {
  return {
    plugins: [virtualGreeting, ...plugins],
    define: { __FLAG__: JSON.stringify(flag) },
    optimizeDeps: { include: ['tiny-cjs'] },
  }
}

async function start(dir: TempDir, config = appConfig(), options: Http2PushOptions = {}): Promise<TestServer> {
  return startTestServer(dir.path, { mode: 'preload', ...options }, config)
}

async function html(t: TestServer, page = '/'): Promise<string> {
  const response = await plainGet(t.origin, page, DOCUMENT_REQUEST)
  expect(response.status).toBe(200)
  return response.body.toString()
}

/** The page's import map: module URL → versioned URL. */
function importMap(page: string): Record<string, string> {
  const match = /<script type="importmap">(.*?)<\/script>/s.exec(page)
  return match ? (JSON.parse(match[1]!) as { imports: Record<string, string> }).imports : {}
}

/** The version token a versioned URL carries, by module URL. */
function tokens(page: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const [url, versioned] of Object.entries(importMap(page))) {
    const token = /[?&]__h2v=([\w-]+)/.exec(versioned)?.[1]
    if (token) found.set(url, token)
  }
  return found
}

/** Every versioned URL in the page (map, script src, links) carries the version of what the server serves now. */
async function expectAllCurrent(t: TestServer, page: string): Promise<void> {
  const named: Array<{ url: string; token: string; style: boolean }> = []
  for (const [url, token] of tokens(page)) named.push({ url, token, style: false })
  for (const match of page.matchAll(/<link rel="stylesheet" href="([^"]*?)[?&]__h2v=([\w-]+)"/g))
    named.push({ url: match[1]!, token: match[2]!, style: true })
  expect(named.length).toBeGreaterThan(0)
  for (const { url, token, style } of named) {
    const response = await plainGet(t.origin, url, style ? STYLE_REQUEST : SCRIPT_REQUEST)
    const etag = String(response.headers.etag)
    const current = createHash('sha1').update(etag).digest('base64url').slice(0, 16)
    expect({ url, token }).toEqual({ url, token: current })
  }
}

/**
 * A project's first start, until Vite's optimizer has written its metadata: the optimizer hash
 * (every `?v=`) of that first start is not the one Vite persists, so the restarts of a real project
 * keep their `?v=` from the second start on.
 */
async function settleOptimizer(dir: TempDir, config: InlineConfig): Promise<void> {
  const t = await start(dir, config)
  await waitFor(async () => fs.existsSync(dir.join('node_modules/.vite/deps/_metadata.json')), 10_000, 'the optimizer')
  await t.close()
}

/** True when the server's page log says the page's versions came from the restart record. */
function fromRecord(t: TestServer): boolean {
  return t.logs.some((line) => /\/: .*versions from the restart record/.test(line))
}

/** A load, a close (the record is written), then a new server on the same root and cacheDir after `whileDown`. */
async function loadRestart(
  dir: TempDir,
  whileDown: () => void = () => undefined,
  config = appConfig(),
  next = config,
): Promise<{ before: string; after: string; t: TestServer }> {
  await settleOptimizer(dir, config)
  const first = await start(dir, config)
  const before = await html(first)
  await first.close()
  whileDown()
  const t = await start(dir, next)
  return { before, after: await html(t), t }
}

describe('restart record', () => {
  it('after a restart, the first HTML carries the recorded versions before any module is rendered', async () => {
    using dir = restartApp()
    const { before, after, t } = await loadRestart(dir)
    await using _ = t
    // nothing was rendered for the page: its map came from the record
    expect(t.plugin.api!.cachedResponseCount).toBe(0)
    const recorded = tokens(before)
    const now = tokens(after)
    for (const url of ['/src/main.ts', '/src/a.ts', '/src/b.ts', '/src/leaf.ts', '/src/flag.ts', '/src/style.css'])
      expect(now.get(url), url).toBe(recorded.get(url))
    // what has no file behind it waits for its transform: the client's per-start token, the virtual module
    expect(recorded.has('/@vite/client')).toBe(true)
    expect(now.has('/@vite/client')).toBe(false)
    expect([...now.keys()].some((url) => url.includes('virtual:greeting'))).toBe(false)
    expect(after).toMatch(/<script type="module" src="\/src\/main\.ts\?__h2v=[\w-]+">/)
    expect(fromRecord(t)).toBe(true)
    await expectAllCurrent(t, after)
  })

  it('after a restart, what the record cannot name by a version is linked first, at its own URL, and transformed before it is asked for', async () => {
    using dir = restartApp()
    const { after, t } = await loadRestart(dir)
    await using _ = t
    expect(fromRecord(t)).toBe(true)
    const links = [...after.matchAll(/<link rel="modulepreload" href="([^"]*)">/g)].map((match) => match[1]!)
    const firstVersioned = links.findIndex((href) => href.includes('__h2v='))
    expect(firstVersioned).toBeGreaterThan(0)
    const ownUrls = links.slice(0, firstVersioned)
    // the client (a per-start token), Vite's env.mjs (the config's define), the virtual module
    expect(ownUrls).toContain('/@vite/client')
    expect(ownUrls.some((url) => url.endsWith('/vite/dist/client/env.mjs'))).toBe(true)
    expect(ownUrls.some((url) => url.includes('virtual:greeting'))).toBe(true)
    // after them, versioned URLs (and optimized dependencies, immutable at their `?v=` URL)
    expect(links.slice(firstVersioned).filter((href) => !/[?&](?:__h2v|v)=/.test(href))).toEqual([])
    // none of them was requested, yet Vite has transformed them, before the plugin's check at
    // idle time (which renders the closure in-process) could have
    const graph = t.server.environments.client.moduleGraph
    await waitFor(
      async () => Boolean((await graph.getModuleByUrl('/@vite/client'))?.transformResult),
      10_000,
      'the client transformed',
    )
    expect(t.plugin.api!.cachedResponseCount).toBe(0)
  })

  it('with restartRecord: false the record is neither read nor written: the first HTML waits for the closure', async () => {
    using dir = restartApp()
    await settleOptimizer(dir, appConfig())
    const first = await start(dir)
    await html(first)
    await first.close()
    const written = fs.readFileSync(dir.join(RECORD), 'utf8')
    fs.writeFileSync(dir.join('src/leaf.ts'), `export const leaf = 'leaf-2'\n`)
    backdate(dir.join('src'))
    const t = await start(dir, appConfig(), { restartRecord: false })
    const page = await html(t)
    expect(fromRecord(t)).toBe(false)
    expect(t.plugin.api!.cachedResponseCount).toBeGreaterThan(0)
    await expectAllCurrent(t, page)
    await t.close()
    expect(fs.readFileSync(dir.join(RECORD), 'utf8')).toBe(written)
  })

  it('a file edited while the server was down (same size) is served fresh, and so are its importers', async () => {
    using dir = restartApp()
    const { before, after, t } = await loadRestart(dir, () =>
      fs.writeFileSync(dir.join('src/leaf.ts'), `export const leaf = 'leaf-1'\n`),
    )
    await using _ = t
    expect(tokens(after).get('/src/leaf.ts')).not.toBe(tokens(before).get('/src/leaf.ts'))
    expect(tokens(after).get('/src/a.ts')).toBe(tokens(before).get('/src/a.ts'))
    await expectAllCurrent(t, after)
    expect((await plainGet(t.origin, '/src/leaf.ts', SCRIPT_REQUEST)).body.toString()).toContain('leaf-1')
  })

  it('a file changed by a git checkout while the server was down is served fresh; one checked out and back is not', async () => {
    using dir = restartApp()
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir.path, stdio: 'pipe' })
    fs.writeFileSync(dir.join('.gitignore'), 'node_modules\n')
    git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('commit', '-qm', 'main')
    git('checkout', '-qb', 'other')
    fs.writeFileSync(dir.join('src/b.ts'), `export const b = 'other b'\n`)
    fs.writeFileSync(dir.join('src/leaf.ts'), `export const leaf = 'leaf-9'\n`)
    git('commit', '-qam', 'other')
    git('checkout', '-q', 'main')
    backdate(dir.join('src'))
    const { before, after, t } = await loadRestart(dir, () => {
      git('checkout', '-q', 'other')
      git('checkout', '-q', 'main')
      git('checkout', '-q', 'other', '--', 'src/b.ts')
    })
    await using _ = t
    expect(tokens(after).get('/src/b.ts')).not.toBe(tokens(before).get('/src/b.ts'))
    // leaf.ts went to the other branch and back: a new mtime, the same content
    expect(tokens(after).get('/src/leaf.ts')).toBe(tokens(before).get('/src/leaf.ts'))
    await expectAllCurrent(t, after)
  })

  it('a version the record could not see change is found at idle time, logged once, and right at the next load', async () => {
    using dir = restartApp({ 'outside.txt': 'first' })
    // output that depends on a file Vite does not know the module reads
    const external: Plugin = {
      name: 'external-input',
      transform: (code, id) =>
        id.endsWith('/src/b.ts') ? `${code}\n// ${fs.readFileSync(dir.join('outside.txt'), 'utf8')}\n` : undefined,
    }
    const config = appConfig('one', [external])
    const { before, after, t } = await loadRestart(
      dir,
      () => fs.writeFileSync(dir.join('outside.txt'), 'second'),
      config,
    )
    await using _ = t
    expect(tokens(after).get('/src/b.ts')).toBe(tokens(before).get('/src/b.ts'))
    const said = () => t.logs.filter((line) => line.includes('after the restart'))
    await waitFor(() => said().length > 0, 10_000, 'the check of the recorded versions')
    expect(said()).toEqual([
      expect.stringContaining(
        '[vite-plugin-http2-push] after the restart 1 module(s) had another version than recorded (first: /src/b.ts); the next load has the right ones',
      ),
    ])
    const next = await html(t)
    expect(tokens(next).get('/src/b.ts')).not.toBe(tokens(before).get('/src/b.ts'))
    await expectAllCurrent(t, next)
    // and the record now holds the right one
    await t.close()
    const third = await start(dir, config)
    await using __ = third
    const again = await html(third)
    expect(fromRecord(third)).toBe(true)
    expect(tokens(again).get('/src/b.ts')).toBe(tokens(next).get('/src/b.ts'))
    expect(said()).toHaveLength(1)
  })

  it('a changed define reaches the page: what carries it (Vite client env.mjs, /@vite/env) is never from the record', async () => {
    using dir = restartApp()
    const { before, after, t } = await loadRestart(dir, undefined, appConfig('one'), appConfig('two'))
    await using _ = t
    // in dev Vite gives the browser a define through its client's env.mjs alone, not in the modules' code
    expect(fromRecord(t)).toBe(true)
    const env = [...tokens(before).keys()].find((url) => url.endsWith('/vite/dist/client/env.mjs'))
    expect(env).toBeDefined()
    expect(tokens(after).has(env!)).toBe(false)
    expect((await plainGet(t.origin, env!, SCRIPT_REQUEST)).body.toString()).toContain('"two"')
    expect(tokens(after).get('/src/flag.ts')).toBe(tokens(before).get('/src/flag.ts'))
    await expectAllCurrent(t, after)
  })

  it('a changed vite config invalidates the record', async () => {
    using dir = restartApp()
    const withAlias = { ...appConfig(), resolve: { alias: { '@leaf': dir.join('src/leaf.ts') } } }
    const { after, t } = await loadRestart(dir, undefined, appConfig(), withAlias)
    await using _ = t
    expect(fromRecord(t)).toBe(false)
    await expectAllCurrent(t, after)
  })

  it('a changed plugin list invalidates the record', async () => {
    using dir = restartApp()
    const stamp: Plugin = {
      name: 'stamp',
      transform: (code, id) => (id.endsWith('/src/b.ts') ? `${code}\n// stamped\n` : undefined),
    }
    const { before, after, t } = await loadRestart(dir, undefined, appConfig(), appConfig('one', [stamp]))
    await using _ = t
    expect(tokens(after).get('/src/b.ts')).not.toBe(tokens(before).get('/src/b.ts'))
    await expectAllCurrent(t, after)
  })

  it('a changed dependency set (the optimizer hash) invalidates the record', async () => {
    using dir = restartApp()
    const { before, after, t } = await loadRestart(dir, () =>
      // what `npm install` rewrites, and Vite's optimizer hashes
      fs.writeFileSync(
        dir.join('node_modules/.package-lock.json'),
        `{ "name": "restart-app", "lockfileVersion": 3, "packages": { "": { "dependencies": {} } } }\n`,
      ),
    )
    await using _ = t
    // main.ts imports tiny-cjs at the new `?v=`: its served code changed, its file did not
    expect(tokens(after).get('/src/main.ts')).not.toBe(tokens(before).get('/src/main.ts'))
    await expectAllCurrent(t, after)
  })

  it.each([
    ['corrupt', (file: string) => fs.writeFileSync(file, '{"format":1,"plugin":'), /not JSON/],
    [
      'from another version',
      (file: string) =>
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"plugin":"[^"]*"/, '"plugin":"0.0.0-other"')),
      /written by version 0\.0\.0-other/,
    ],
    [
      'unreadable',
      (file: string) => {
        fs.rmSync(file)
        fs.mkdirSync(file)
      },
      /cannot read it/,
    ],
  ])(
    'a record that is %s is ignored with one DEBUG line, and the server starts as without one',
    async (_name, spoil, reason) => {
      using dir = restartApp()
      const first = await start(dir)
      await html(first)
      await first.close()
      spoil(dir.join(RECORD))
      const saved = process.env.DEBUG
      process.env.DEBUG = 'vite-plugin-http2-push'
      let t: TestServer
      try {
        t = await start(dir)
      } finally {
        if (saved === undefined) delete process.env.DEBUG
        else process.env.DEBUG = saved
      }
      await using _ = t
      const page = await html(t)
      const ignored = t.logs.filter((line) => line.includes('restart record') && line.includes('ignored'))
      expect(ignored).toHaveLength(1)
      expect(ignored[0]).toMatch(reason)
      expect(fromRecord(t)).toBe(false)
      expect(tokens(page).has('/src/main.ts')).toBe(true)
      await expectAllCurrent(t, page)
    },
  )

  it('two servers sharing one cacheDir leave a whole record, one of theirs', async () => {
    using shared = tempDir('restart-shared-cache')
    using one = restartApp({
      'src/b.ts': `import './only-one.ts'\nexport const b = 'b'\n`,
      'src/only-one.ts': `export {}\n`,
    })
    using two = restartApp({
      'src/b.ts': `import './only-two.ts'\nexport const b = 'b'\n`,
      'src/only-two.ts': `export {}\n`,
    })
    const config = { ...appConfig(), cacheDir: shared.path }
    for (let round = 0; round < 5; round++) {
      const servers = await Promise.all([start(one, config), start(two, config)])
      await Promise.all(servers.map((t) => Promise.all([html(t), html(t), html(t)])))
      await Promise.all(servers.map((t) => t.close()))
      const record = JSON.parse(fs.readFileSync(shared.join('http2-push-record.json'), 'utf8')) as {
        pages: unknown[]
        files: Array<{ path: string }>
      }
      expect(record.pages).toHaveLength(1)
      // one server's files, not a mix
      const owners = [one, two].filter((app) => record.files.some((file) => file.path.startsWith(`${app.path}/`)))
      expect(owners).toHaveLength(1)
    }
    expect(fs.readdirSync(shared.path).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('the record never holds a file that server.fs denies', async () => {
    using dir = restartApp({
      'src/a.ts': `import { b } from './b.ts'\nimport './secret.ts'\nexport const a = 'a' + b\n`,
      'src/secret.ts': `export const secret = 's3cr3t'\n`,
    })
    const config = { ...appConfig(), server: { fs: { deny: ['**/secret.ts'] } } }
    const first = await start(dir, config)
    await html(first)
    await first.close()
    const text = fs.readFileSync(dir.join(RECORD), 'utf8')
    expect(text).toContain('/src/b.ts')
    expect(text).not.toContain('secret')
  })
})
