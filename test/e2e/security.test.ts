import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Plugin } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST as SCRIPT, STYLE_REQUEST as STYLE } from '../support/browser-headers.mjs'
import { plainGet, TestClient, type FetchedResponse, type ReceivedPush } from '../support/http2-clients.js'
import { expectPushesIdenticalToGets } from '../support/push-checks.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// A push goes through the same access checks as a GET: for every known way of asking Vite for a
// file it must not serve (outside `server.fs.allow`, or matching `server.fs.deny`), a page that
// references the URL (module script, stylesheet, modulepreload) and a module that imports it get
// no push carrying the file, and the plugin pushes nothing a GET of the same URL would not return.

/** In every secret file; never in a URL, so it can only show up in a body that leaked a file. */
const MARKER = `TOPSECRET_${randomBytes(8).toString('hex')}`
/** In an allowed file: the positive control, which must be pushed (so the checks are not vacuous). */
const ALLOWED_MARKER = `ALLOWED_${randomBytes(8).toString('hex')}`

const DENY = ['.env', '.env.*', '*.{crt,pem}', '**/.git/**', '*.secret']

interface Attack {
  name: string
  /** The URL exactly as it appears in the HTML attributes and in the importing module. */
  url: string
  /** When set, the importing module uses this specifier instead (e.g. with a raw NUL character). */
  importSpecifier?: string
  /** Vite itself serves the file to a plain GET (its behaviour, not the plugin's): only the plugin's deliveries are checked. */
  viteServesIt?: boolean
}

// created when the file is collected, so each attack can be its own test
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-security-')))
const app = path.join(tmp, 'app')
const outside = path.join(tmp, 'outside')

function attacks(): Attack[] {
  const out = outside
  return [
    { name: '/@fs/ to a file outside the allowed root', url: `/@fs${out}/secret.js` },
    { name: '/@fs/ ?raw', url: `/@fs${out}/secret.txt?raw` },
    { name: '/@fs/ ?import&raw', url: `/@fs${out}/secret.js?import&raw` },
    { name: '/@fs/ ?url', url: `/@fs${out}/secret.txt?url` },
    { name: '/@fs/ ?inline', url: `/@fs${out}/secret.txt?inline` },
    { name: '/@fs/ css outside root', url: `/@fs${out}/secret.css` },
    { name: '/@fs/ ?raw?? (CVE-2025-30208)', url: `/@fs${out}/secret.txt?raw??` },
    { name: '/@fs/ ?import&raw??', url: `/@fs${out}/secret.txt?import&raw??` },
    { name: '/@fs/ ?inline&import (CVE-2025-31125)', url: `/@fs${out}/secret.txt?inline&import` },
    { name: '/@fs/ ?raw?import (CVE-2025-31125)', url: `/@fs${out}/secret.txt?raw?import` },
    { name: '/@fs/ ?.svg?.wasm?init (CVE-2025-31486)', url: `/@fs${out}/secret.txt?.svg?.wasm?init` },
    { name: 'encoded .. segments', url: '/src/%2e%2e/%2e%2e/outside/secret.js' },
    { name: 'encoded .. segments ?import&raw', url: '/src/%2e%2e/%2e%2e/outside/secret.txt?import&raw' },
    { name: '..%2f', url: '/..%2f..%2foutside/secret.js' },
    { name: '..%2f ?raw', url: '/..%2f..%2foutside/secret.txt?raw' },
    { name: '..%2F ?import&raw', url: '/..%2F..%2Foutside/secret.txt?import&raw' },
    { name: 'backslashes', url: '/src/..\\..\\outside/secret.js', importSpecifier: '/src/..\\..\\outside/secret.js' },
    { name: '%00 after the path', url: `/@fs${out}/secret.js%00` },
    { name: '%00 in the query', url: `/@fs${out}/secret.txt?raw%00` },
    { name: 'raw NUL character', url: `/@fs${out}/secret.js%00`, importSpecifier: `/@fs${out}/secret.js\0` },
    {
      name: 'raw NUL before ?raw',
      url: `/@fs${out}/secret.txt%00?raw`,
      importSpecifier: `/@fs${out}/secret.txt\0?raw`,
    },
    { name: '/.env', url: '/.env' },
    { name: '/.env?raw', url: '/.env?raw' },
    { name: '/.env?import&raw', url: '/.env?import&raw' },
    { name: '/.env?url', url: '/.env?url' },
    { name: '/%2eenv?raw', url: '/%2eenv?raw' },
    { name: '/@fs/ to .env inside root ?raw', url: `/@fs${app}/.env?raw` },
    { name: '/x.secret', url: '/x.secret' },
    { name: '/x.secret?raw', url: '/x.secret?raw' },
    { name: '/x.secret?import&raw', url: '/x.secret?import&raw' },
    { name: '/x.secret?inline', url: '/x.secret?inline' },
    { name: '/x%2Esecret?import&raw', url: '/x%2Esecret?import&raw' },
    { name: '/@fs/ to x.secret inside root ?import&raw', url: `/@fs${app}/x.secret?import&raw` },
    { name: '/@fs/ with .. segments', url: `/@fs${app}/../outside/secret.js` },
    { name: '/@fs/ with .. segments ?raw', url: `/@fs${app}/src/../../outside/secret.txt?raw` },
    { name: '/@fs/ with encoded .. segments ?raw', url: `/@fs${app}/src/%2e%2e/%2e%2e/outside/secret.txt?raw` },
    { name: 'double-encoded %252e', url: '/src/%252e%252e/%252e%252e/outside/secret.js' },
    { name: 'double-encoded %252e ?raw', url: `/@fs${app}/src/%252e%252e/%252e%252e/outside/secret.txt?raw` },
    { name: '/@id/ with an absolute path', url: `/@id/${out}/secret.js` },
    { name: '/@id/__x00__ with an absolute path', url: `/@id/__x00__${out}/secret.js` },
    { name: 'fragment after the path', url: `/@fs${out}/secret.js#x` },
    { name: 'encoded fragment', url: `/@fs${out}/secret.js%23` },
    { name: 'a symlink out of the root', url: '/linked/secret.js', viteServesIt: true },
    { name: 'a symlink out of the root ?raw', url: '/linked/secret.txt?raw', viteServesIt: true },
    { name: '/key.pem (server.fs.deny *.pem)', url: '/key.pem?raw' },
    { name: '/cert.crt (server.fs.deny *.crt)', url: '/cert.crt?import&raw' },
  ]
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}

/** Tags that load `url` every way a page can: module script, stylesheet, modulepreload, and a module importing it. */
function attackTags(url: string, importer: string): string {
  const href = escapeAttribute(url)
  return [
    `<link rel="stylesheet" href="${href}">`,
    `<link rel="modulepreload" href="${href}">`,
    `<script type="module" src="${href}"></script>`,
    `<script type="module" src="${importer}"></script>`,
  ].join('\n')
}

/**
 * Puts each page's tags into its final HTML after Vite's own HTML transforms (`order: 'post'`),
 * so the exact URL reaches the HTML the plugin reads and the client gets.
 */
function injectAttackTags(tagsByPage: Map<string, string>): Plugin {
  return {
    name: 'inject-attack-tags',
    transformIndexHtml: {
      order: 'post',
      handler(html, context) {
        const tags = tagsByPage.get(context.path)
        return tags === undefined ? html : html.replace('<!--attack-->', tags)
      },
    },
  }
}

/** The GET forms of a referenced URL: as written, and as a browser resolves it. */
function getForms(url: string, origin: string): string[] {
  const resolved = new URL(url, origin)
  const forms = new Set([resolved.pathname + resolved.search])
  // also as written, when a request target can carry it (no NUL, no whitespace; a browser turns `\` into `/`)
  if (!/[\0\s\\]/.test(url)) forms.add(url)
  return [...forms]
}

const CASES = attacks().map((attack, i) => ({
  ...attack,
  page: `/attack-${i}.html`,
  importer: `/importers/attack-${i}.js`,
}))

describe('a push goes through the same access checks as a GET', () => {
  let t: TestServer
  const allPushBodies: Array<{ page: string; key: string; body: Buffer }> = []
  const allHtml: Array<{ page: string; html: string }> = []
  /** What was pushed for an attack page besides its own modules (reported, not an error). */
  const notes: string[] = []

  beforeAll(async () => {
    const files: Record<string, string> = {
      'outside/secret.js': `export const secret = '${MARKER}-outside-js'\n`,
      'outside/secret.txt': `${MARKER}-outside-txt\n`,
      'outside/secret.css': `body::after { content: '${MARKER}-outside-css' }\n`,
      'app/.env': `SECRET_TOKEN=${MARKER}-env\n`,
      'app/x.secret': `${MARKER}-x-secret\n`,
      'app/key.pem': `${MARKER}-pem\n`,
      'app/cert.crt': `${MARKER}-crt\n`,
      'app/src/main.js': `export const main = 'main'\n`,
      'app/src/allowed.js': `export const allowed = '${ALLOWED_MARKER}-js'\n`,
      'app/src/allowed.txt': `${ALLOWED_MARKER}-txt\n`,
      'app/index.html': `<!doctype html>\n<html><head><title>home</title></head><body><script type="module" src="/src/main.js"></script></body></html>\n`,
    }
    const tagsByPage = new Map<string, string>()
    // the positive control: allowed URLs referenced and imported the same way
    const control = { page: '/control.html', importer: '/importers/control.js' }
    for (const { page, importer, url, importSpecifier } of [
      ...CASES,
      { ...control, url: '/src/allowed.js', importSpecifier: '/src/allowed.txt?raw' },
    ]) {
      files[`app${page}`] =
        `<!doctype html>\n<html><head><title>${page}</title>\n<!--attack-->\n</head>\n<body><script type="module" src="/src/main.js"></script></body></html>\n`
      // served as is from public/ (not transformed), so the importer's code holds the exact specifier
      files[`app/public${importer}`] =
        `import ${JSON.stringify(importSpecifier ?? url)}\nexport const page = ${JSON.stringify(page)}\n`
      tagsByPage.set(page, attackTags(url, importer))
    }
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(tmp, name)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
    }
    fs.symlinkSync(outside, path.join(app, 'linked'))
    t = await startTestServer(
      app,
      {},
      {
        plugins: [injectAttackTags(tagsByPage)],
        server: { fs: { allow: [app], deny: DENY } },
      },
    )
  })

  afterAll(async () => {
    if (notes.length > 0) console.log(`[security] pushes related to attack URLs:\n  ${notes.join('\n  ')}`)
    await t?.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  /** Loads `page` on a fresh push-accepting connection; returns the load and every push received. */
  async function loadWithPush(page: string) {
    await using client = new TestClient(t.origin)
    const load = await client.loadPage(page)
    // wait for every pushed body, used or not
    const pushes: Array<{ push: ReceivedPush; response: FetchedResponse | undefined }> = []
    for (const push of client.pushes) pushes.push({ push, response: await push.response })
    for (const { push, response } of pushes)
      if (response) allPushBodies.push({ page, key: push.key, body: response.body })
    allHtml.push({ page, html: load.html })
    return { load, pushes, client }
  }

  it('the positive control: an allowed URL referenced and imported the same way is pushed, identical to its GET', async () => {
    const { load, pushes } = await loadWithPush('/control.html')
    expect(load.html).not.toContain(MARKER)
    const keys = pushes.map(({ push }) => push.key)
    expect(keys).toContain('/importers/control.js')
    expect(keys).toContain('/src/allowed.js')
    expect(keys).toContain('style:/src/allowed.js')
    expect(keys).toContain('/src/allowed.txt?raw')
    const raw = pushes.find(({ push }) => push.key === '/src/allowed.txt?raw')!
    expect(raw.response!.body.toString()).toContain(ALLOWED_MARKER)
    await expectPushesIdenticalToGets(
      t.origin,
      pushes.map(({ push }) => push),
    )
  })

  it.each(CASES)(
    '$name: refused to a GET; a page and a module referencing it get no push a GET would not give',
    async (attack) => {
      const label = `${attack.name} (${JSON.stringify(attack.url)})`

      // 1. a plain GET (as written and as a browser resolves it; as a script and as a stylesheet)
      for (const form of attack.viteServesIt ? [] : getForms(attack.url, t.origin)) {
        for (const headers of [SCRIPT, STYLE]) {
          const got = await plainGet(t.origin, form, headers)
          expect(got.body.toString('latin1'), `GET ${form} ${headers['sec-fetch-dest']}: ${label}`).not.toContain(
            MARKER,
          )
          if (got.status === 200) {
            // served, but not the secret: only Vite's HTML fallback or an error page may come back
            expect(String(got.headers['content-type']), `GET ${form} ${headers['sec-fetch-dest']}: ${label}`).toMatch(
              /^(text\/html|text\/javascript)/,
            )
          }
        }
      }

      // 2. a push-accepting client loading the page
      const { load, pushes } = await loadWithPush(attack.page)
      expect(load.html, label).not.toContain(MARKER)
      const keys = pushes.map(({ push }) => push.key)
      // the page was pushed what it may have: its importer module (not vacuous)
      expect(keys, label).toContain(attack.importer)
      for (const { push, response } of pushes) {
        expect(response, `push ${push.key} arrived: ${label}`).toBeDefined()
        expect(response!.body.toString('latin1'), `push ${push.key}: ${label}`).not.toContain(MARKER)
      }
      const related = keys.filter(
        (key) => !/^(\/@vite\/client|\/src\/main\.js|\/importers\/|\/@fs\/.*\/vite\/dist\/client\/)/.test(key),
      )
      if (related.length > 0)
        notes.push(`${attack.name}: pushed ${related.join(', ')} (each identical to its GET, no secret)`)
      // no push at all unless a GET of that URL returns 200 with identical bytes
      await expectPushesIdenticalToGets(
        t.origin,
        pushes.map(({ push }) => push),
      )
      // and nothing the page loaded (pushed or requested) holds the secret (what Vite itself
      // serves to the page's own requests is Vite's; the pushes above were checked either way)
      for (const [key, response] of attack.viteServesIt ? [] : load.closure) {
        expect(response.body.toString('latin1'), `${key}: ${label}`).not.toContain(MARKER)
      }

      // 3. a client that refuses push gets modulepreload links only to what a GET serves as JavaScript
      await using refusing = new TestClient(t.origin, { enablePush: false })
      const html = (await refusing.get(attack.page, DOCUMENT_REQUEST)).body.toString()
      expect(html, label).not.toContain(MARKER)
      const original = new Set([...load.html.matchAll(/<link rel="modulepreload" href="([^"]*)">/g)].map((m) => m[1]!))
      const added = [...html.matchAll(/<link rel="modulepreload" href="([^"]*)">/g)]
        .map((m) => m[1]!)
        .filter((href) => !original.has(href))
      for (const href of added) {
        const url = href.replace(/&amp;/g, '&')
        const got = await plainGet(t.origin, url, SCRIPT)
        expect(got.status, `preload link ${url} added by the plugin: ${label}`).toBe(200)
        expect(got.body.toString('latin1')).not.toContain(MARKER)
      }

      // 4. its import map names only what a GET serves, and versioned URLs answer nothing more
      const mapJson = /<script type="importmap">(.*?)<\/script>/s.exec(html)?.[1]
      const imports = Object.entries(
        (JSON.parse(mapJson ?? '{}') as { imports?: Record<string, string> }).imports ?? {},
      )
      expect(imports.length, `an import map: ${label}`).toBeGreaterThan(0)
      for (const [url, versioned] of imports) {
        expect((await plainGet(t.origin, url, SCRIPT)).status, `import map entry ${url}: ${label}`).toBe(200)
        const got = await refusing.get(versioned, SCRIPT)
        expect(got.status, `versioned ${versioned}: ${label}`).toBe(200)
        expect(got.body.toString('latin1')).not.toContain(MARKER)
      }
      for (const form of getForms(attack.url, t.origin)) {
        if (/[\0\s\\#]/.test(form)) continue
        const versioned = `${form}${form.includes('?') ? '&' : '?'}__h2v=AAAAAAAAAAAAAAAA`
        for (const headers of [SCRIPT, STYLE]) {
          const got = await refusing.get(versioned, headers)
          if (attack.viteServesIt) {
            // what Vite itself answers the URL, nothing more
            const own = await plainGet(t.origin, form, headers)
            expect(got.body.equals(own.body), `GET ${versioned} is Vite's own answer: ${label}`).toBe(true)
          } else expect(got.body.toString('latin1'), `GET ${versioned}: ${label}`).not.toContain(MARKER)
          expect(String(got.headers['cache-control'] ?? ''), `GET ${versioned}: ${label}`).not.toContain('immutable')
        }
      }
    },
  )

  it('the secret never appears in any pushed body or HTML', () => {
    expect(allPushBodies.length).toBeGreaterThan(CASES.length)
    for (const { page, key, body } of allPushBodies)
      expect(body.toString('latin1'), `${page} ${key}`).not.toContain(MARKER)
    for (const { page, html } of allHtml) expect(html, page).not.toContain(MARKER)
    expect(t.plugin.api!.cachedResponseCount).toBeGreaterThan(0)
  })
})
