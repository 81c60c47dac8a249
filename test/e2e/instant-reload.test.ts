import fs from 'node:fs'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireBrowserOrSkip } from '../support/chromium.js'
import { plainGet } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { requestRecorder, subresourceRequests, type RecordedRequest } from '../support/request-recorder.js'
import { launchProfileTrusting } from '../support/trusted-chromium.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Instant reloads: the page's HTML maps every module of its closure to a versioned URL that is
// answered `immutable` while current, so a reload in a real profile costs the HTML and nothing
// else, and an edit costs only the responses whose served code changed.

const CHAIN = 6
const OTHERS = 40

/** An app with a chain main → c1 → … → c6 → leaf, 40 side modules, a CSS import, JSON, a linked stylesheet. */
function chainApp(): TempDir {
  const files: Record<string, string> = {
    'index.html': `<!doctype html><html><head><link rel="stylesheet" href="/src/page.css"></head>
<body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>\n`,
    'src/page.css': `body { margin: 0 }\n`,
    'src/style.css': `#app { color: teal }\n`,
    'src/data.json': `{ "n": 7 }\n`,
    'src/leaf.js': `export const leaf = 'leaf-0'\n`,
    'src/main.js': [
      `import { c } from './c1.js'`,
      `import './style.css'`,
      `import data from './data.json'`,
      ...Array.from({ length: OTHERS }, (_, i) => `import { s${i} } from './side/s${i}.js'`),
      `const sum = ${Array.from({ length: OTHERS }, (_, i) => `s${i}`).join(' + ')}`,
      `document.querySelector('#app').textContent = c + ' ' + data.n + ' ' + sum`,
      `document.documentElement.dataset.loaded = 'true'`,
    ].join('\n'),
  }
  for (let i = 1; i <= CHAIN; i++) {
    const next = i === CHAIN ? `import { leaf as c } from './leaf.js'` : `import { c } from './c${i + 1}.js'`
    files[`src/c${i}.js`] = `${next}\nexport { c }\n`
  }
  for (let i = 0; i < OTHERS; i++) files[`src/side/s${i}.js`] = `export const s${i} = ${i}\n`
  return tempDir('instant-reload', files)
}

describe.skipIf(!requireBrowserOrSkip())('instant reloads in a real Chromium profile', () => {
  let t: TestServer
  let root: TempDir
  let context: BrowserContext
  let page: Page
  const requests: RecordedRequest[] = []
  const moduleRequests = () => subresourceRequests(requests)
  /** The status of each document request since the last load() began. */
  const documentStatuses = () => requests.filter((r) => r.dest === 'document').map((r) => r.answer.split(' ')[0])

  async function load(action: () => Promise<unknown>): Promise<RecordedRequest[]> {
    requests.length = 0
    await action()
    await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
    return moduleRequests()
  }

  beforeAll(async () => {
    root = chainApp()
    t = await startTestServer(root.path, {}, { plugins: [requestRecorder(requests)] })
    context = await launchProfileTrusting(t.origin)
    page = await context.newPage()
  })
  afterAll(async () => {
    await context?.close()
    await t?.close()
    root?.remove()
  })

  it('maps the closure in an import map and versions the entry script and links', async () => {
    await load(() => page.goto(`${t.origin}/`))
    const html = (await plainGet(t.origin, '/', { accept: 'text/html', 'sec-fetch-dest': 'document' })).body.toString()
    const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/s.exec(html)![1]!) as {
      imports: Record<string, string>
    }
    expect(map.imports['/src/leaf.js']).toMatch(/^\/src\/leaf\.js\?__h2v=[\w-]+$/)
    expect(map.imports['/src/data.json?import']).toMatch(/^\/src\/data\.json\?import&__h2v=[\w-]+$/)
    expect(map.imports['/src/style.css']).toMatch(/^\/src\/style\.css\?__h2v=/)
    expect(map.imports['/@vite/client']).toMatch(/^\/@vite\/client\?__h2v=/)
    expect(html).toMatch(/<script type="module" src="\/src\/main\.js\?__h2v=[\w-]+">/)
    expect(html).toMatch(/<link rel="stylesheet" href="\/src\/page\.css\?__h2v=[\w-]+">/)
    expect(html.indexOf('type="importmap"')).toBeLessThan(html.indexOf('type="module"'))
    expect(await page.textContent('#app')).toBe(`leaf-0 7 ${(OTHERS * (OTHERS - 1)) / 2}`)
  })

  it('a reload costs the HTML alone: no module request reaches the server', async () => {
    await load(() => page.reload())
    expect(await load(() => page.reload())).toEqual([])
    // the HTML itself: unchanged since the last load, so a 304 (its ETag is that of the prepared page)
    expect(documentStatuses()).toEqual(['304'])
    const notFromCache = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((entry) => (entry as PerformanceResourceTiming).transferSize !== 0)
        .map((entry) => entry.name),
    )
    expect(notFromCache).toEqual([])
  })

  it('after an edit, the reload fetches only what changed, and shows the edit', async () => {
    requests.length = 0
    fs.writeFileSync(root.join('src/leaf.js'), `export const leaf = 'leaf-1'\n`)
    // nothing accepts the update, so Vite has the page reload itself
    await waitFor(
      async () => (await page.textContent('#app').catch(() => ''))?.startsWith('leaf-1') ?? false,
      10_000,
      'the edit',
    )
    const fetched = moduleRequests()
    console.log(
      `[instant-reload] after editing the leaf, the page fetched ${fetched.length}: ${fetched.map((r) => `${r.url} ${r.answer}`).join(', ')}`,
    )
    expect(fetched.some((r) => /^\/src\/leaf\.js\?t=\d+$/.test(r.url))).toBe(true)
    expect(fetched.length).toBeLessThanOrEqual(CHAIN + 2)
    // the page's map changed with the edit: its HTML came in full
    expect(documentStatuses()[0]).toBe('200')
    expect(await load(() => page.reload())).toEqual([])
    expect(documentStatuses()).toEqual(['304'])
    expect(await page.textContent('#app')).toMatch(/^leaf-1 /)
  })
})
