import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import type { BrowserContext, Page } from 'playwright-core'
import type { InlineConfig } from 'vite'
import { afterEach, describe, expect, it } from 'vitest'
import { launchChromium, requireBrowserOrSkip } from '../support/chromium.js'
import { requestRecorder, subresourceRequests, type RecordedRequest } from '../support/request-recorder.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { launchProfileTrusting } from '../support/trusted-chromium.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// The import map of versioned URLs in real Chromium, where it could break a page: HMR (React
// Fast Refresh, CSS), module instances, a page's own import map, `base`, HTTP/1.1, a server
// restart under a warm browser cache, and Vite's bundled dev mode.

const REPO_NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url))

/** One app, one server, one Chromium profile trusting it; cleaned up after each test. */
interface Session {
  app: TempDir
  t: TestServer
  context: BrowserContext
  page: Page
  requests: RecordedRequest[]
  errors: string[]
  /** Runs `action` (a navigation or reload) and returns the subresource requests it made once the page says it loaded. */
  load(action: () => Promise<unknown>, loaded?: string): Promise<RecordedRequest[]>
}

let open: Session | undefined
afterEach(async () => {
  await open?.context.close()
  await open?.t.close()
  open?.app.remove()
  open = undefined
})

async function session(
  files: Record<string, string>,
  config: InlineConfig = {},
  options: { http1?: boolean; packages?: string[]; importMap?: boolean } = {},
): Promise<Session> {
  const app = tempDir('import-map-browser', files)
  for (const name of options.packages ?? []) {
    fs.mkdirSync(app.join('node_modules'), { recursive: true })
    fs.symlinkSync(path.join(REPO_NODE_MODULES, name), app.join('node_modules', name))
  }
  const requests: RecordedRequest[] = []
  const t = await startTestServer(
    app.path,
    { importMap: options.importMap ?? true },
    {
      ...config,
      cacheDir: app.join('.vite-cache'),
      plugins: [requestRecorder(requests), ...(config.plugins ?? [])],
    },
  )
  const context = await launchProfileTrusting(t.origin, options.http1 ? ['--disable-http2'] : [])
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  open = {
    app,
    t,
    context,
    page,
    requests,
    errors,
    async load(action, loaded = 'true') {
      requests.length = 0
      await action()
      await page.waitForFunction((value) => document.documentElement.dataset.loaded === value, loaded)
      return subresourceRequests(requests)
    },
  }
  return open
}

const PAGE = (head: string, body: string) =>
  `<!doctype html><html><head><link rel="icon" href="data:,">${head}</head><body><div id="app"></div>${body}</body></html>\n`

describe.skipIf(!requireBrowserOrSkip())('the import map in Chromium', () => {
  it('React Fast Refresh updates a component in place, keeping its state; then a reload costs no module request', async () => {
    const s = await session(
      {
        'index.html': PAGE('', `<script type="module" src="/src/main.jsx"></script>`),
        'src/main.jsx': `import { createRoot } from 'react-dom/client'
import { App } from './App.jsx'
window.__loadedAt = Math.random()
createRoot(document.getElementById('app')).render(<App />)
document.documentElement.dataset.loaded = 'true'
`,
        'src/App.jsx': `import { useState } from 'react'
export function App() {
  const [count, setCount] = useState(0)
  return <button onClick={() => setCount(count + 1)}>before {count}</button>
}
`,
      },
      { plugins: [react()] },
      { packages: ['react', 'react-dom', 'scheduler'] },
    )
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    expect(await s.page.locator('script[type="importmap"]').count()).toBe(1)
    await s.page.waitForSelector('button')
    const loadedAt = await s.page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt)
    await s.page.click('button')
    await s.page.click('button')
    expect(await s.page.textContent('button')).toBe('before 2')
    fs.writeFileSync(
      s.app.join('src/App.jsx'),
      fs.readFileSync(s.app.join('src/App.jsx'), 'utf8').replace('before', 'after'),
    )
    await s.page.waitForFunction(() => document.querySelector('button')?.textContent === 'after 2', undefined, {
      timeout: 20_000,
    })
    // the same page (no reload), the same state
    expect(await s.page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt)).toBe(loadedAt)
    const fetched = await s.load(() => s.page.reload())
    expect(await s.page.textContent('button')).toBe('after 0')
    expect(fetched.filter((request) => !request.answer.includes('immutable'))).toEqual([])
    expect(await s.load(() => s.page.reload())).toEqual([])
    expect(s.errors).toEqual([])
  })

  it('CSS HMR updates a style in place', async () => {
    const s = await session({
      'index.html': PAGE('', `<script type="module" src="/src/main.js"></script>`),
      'src/main.js': `import './style.css'\nwindow.__loadedAt = Math.random()\ndocument.documentElement.dataset.loaded = 'true'\n`,
      'src/style.css': `#app { color: rgb(1, 2, 3) }\n`,
    })
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    const color = () => s.page.evaluate(() => getComputedStyle(document.querySelector('#app')!).color)
    const loadedAt = await s.page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt)
    expect(await color()).toBe('rgb(1, 2, 3)')
    fs.writeFileSync(s.app.join('src/style.css'), `#app { color: rgb(4, 5, 6) }\n`)
    await expect.poll(color, { timeout: 20_000 }).toBe('rgb(4, 5, 6)')
    expect(await s.page.evaluate(() => (window as unknown as { __loadedAt: number }).__loadedAt)).toBe(loadedAt)
    expect(s.errors).toEqual([])
  })

  it('one instance of a module across static, literal import() and inline-script imports; no more than Vite with a computed import()', async () => {
    const files = {
      'index.html': PAGE(
        '',
        `<script type="module">import { counter } from '/src/counter.js'; window.__inline = counter</script>
<script type="module" src="/src/main.js"></script>`,
      ),
      'src/counter.js': `globalThis.__instances = (globalThis.__instances ?? 0) + 1\nexport const counter = {}\n`,
      'src/main.js': `import { counter } from './counter.js'
const literal = await import('./counter.js')
const name = '/src/counter.js'
const computed = await import(/* @vite-ignore */ name)
await new Promise((resolve) => setTimeout(resolve, 50))
window.__result = {
  literalSame: literal.counter === counter,
  inlineSame: window.__inline === counter,
  computedSame: computed.counter === counter,
  instances: globalThis.__instances,
}
document.documentElement.dataset.loaded = 'true'
`,
    }
    const result = async (importMap: boolean) => {
      const s = await session(files, {}, { importMap })
      await s.load(() => s.page.goto(`${s.t.origin}/`))
      const value = await s.page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result)
      expect(await s.page.locator('script[type="importmap"]').count()).toBe(importMap ? 1 : 0)
      await s.context.close()
      await s.t.close()
      s.app.remove()
      open = undefined
      return value
    }
    const withMap = await result(true)
    const withoutMap = await result(false)
    expect(withMap.literalSame).toBe(true)
    expect(withMap.inlineSame).toBe(true)
    expect(withoutMap.literalSame).toBe(true)
    console.log(
      `[import-map-browser] instances of a module also reached by a computed import(): ${withMap.instances} with the import map, ${withoutMap.instances} without`,
    )
    expect(withMap.instances as number).toBeLessThanOrEqual(withoutMap.instances as number)
  })

  it("merges into the page's own import map, whose entries win", async () => {
    const s = await session({
      'index.html': PAGE(
        `<script type="importmap">{"imports":{"/src/b.js":"/src/b-alt.js"}}</script>`,
        `<script type="module" src="/src/main.js"></script>`,
      ),
      'src/main.js': `import { b } from './b.js'\nimport { c } from './c.js'\ndocument.querySelector('#app').textContent = b + c\ndocument.documentElement.dataset.loaded = 'true'\n`,
      'src/b.js': `export const b = 'b'\n`,
      'src/b-alt.js': `export const b = 'b-alt'\n`,
      'src/c.js': `export const c = '+c'\n`,
    })
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    expect(await s.page.textContent('#app')).toBe('b-alt+c')
    expect(await s.page.locator('script[type="importmap"]').count()).toBe(1)
    // the user's target is not versioned (it is theirs), the rest is
    expect((await s.load(() => s.page.reload())).map((request) => request.url)).toEqual(['/src/b-alt.js'])
    expect(s.errors).toEqual([])
  })

  const SIMPLE = {
    'index.html': PAGE('', `<script type="module" src="./src/main.js"></script>`),
    'src/main.js': `import { a } from './a.js'\ndocument.querySelector('#app').textContent = a\ndocument.documentElement.dataset.loaded = 'true'\n`,
    'src/a.js': `import { b } from './b.js'\nexport const a = 'a' + b\n`,
    'src/b.js': `export const b = 'b'\n`,
  }

  it('with base /app/, a reload costs no module request', async () => {
    const s = await session(SIMPLE, { base: '/app/' })
    await s.load(() => s.page.goto(`${s.t.origin}/app/`))
    expect(await s.page.textContent('#app')).toBe('ab')
    expect(await s.load(() => s.page.reload())).toEqual([])
  })

  it('over HTTP/1.1, a reload costs no module request', async () => {
    const s = await session(SIMPLE, {}, { http1: true })
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    expect(
      await s.page.evaluate(
        () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
      ),
    ).toBe('http/1.1')
    expect(await s.load(() => s.page.reload())).toEqual([])
  })

  it('after a server restart the warm browser cache still serves the page, with no module request', async () => {
    const s = await session(SIMPLE)
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    await s.t.server.restart()
    // only Vite's client may come again: its served code carries a token new at each start
    const afterRestart = await s.load(() => s.page.reload())
    expect(afterRestart.filter((request) => request.url !== '/@vite/client')).toEqual([])
    expect(afterRestart.every((request) => request.answer.includes('immutable'))).toBe(true)
    expect(await s.load(() => s.page.reload())).toEqual([])
    expect(await s.page.textContent('#app')).toBe('ab')
    fs.writeFileSync(s.app.join('src/b.js'), `export const b = 'B'\n`)
    await s.load(() => s.page.reload())
    expect(await s.page.textContent('#app')).toBe('aB')
  })

  it("with Vite's experimental bundledDev the page still works", async () => {
    const s = await session(SIMPLE, { experimental: { bundledDev: true } } as InlineConfig)
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    expect(await s.page.textContent('#app')).toBe('ab')
    await s.load(() => s.page.reload())
    expect(await s.page.textContent('#app')).toBe('ab')
    expect(s.errors).toEqual([])
  })

  it('warns once, with the fix, when a browser fetches an immutable versioned URL again (its HTTP cache is off)', async () => {
    const s = await session(SIMPLE)
    await s.load(() => s.page.goto(`${s.t.origin}/`))
    const warning = /A browser fetched \/\S+__h2v=\S+ again although it was served as immutable: its HTTP cache is off/
    expect(s.t.logs.filter((line) => warning.test(line))).toEqual([])
    // a browser that ignores certificate errors keeps nothing in its HTTP cache, as one whose user clicked through
    const browser = await launchChromium()
    try {
      // one client (one context, one connection), a new tab per visit: a tab's memory cache does not carry over
      const context = await browser.newContext({ ignoreHTTPSErrors: true })
      for (let visit = 0; visit < 3; visit++) {
        const page = await context.newPage()
        await page.goto(`${s.t.origin}/`)
        await page.waitForFunction(() => document.documentElement.dataset.loaded === 'true')
      }
    } finally {
      await browser.close()
    }
    await expect.poll(() => s.t.logs.filter((line) => warning.test(line)).length).toBe(1)
    expect(s.t.logs.find((line) => warning.test(line))).toContain('Fix: npx vite-plugin-http2-push trust')
  })
})
