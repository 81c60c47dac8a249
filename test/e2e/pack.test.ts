import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify, stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireBrowserOrSkip } from '../support/chromium.js'
import { plainGet, TestClient } from '../support/http2-clients.js'
import { launchProfileTrusting } from '../support/trusted-chromium.js'

const run = promisify(execFile)
const repo = path.resolve(import.meta.dirname, '../..')
const versionOf = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', name, 'package.json'), 'utf8')).version as string
const viteVersion = versionOf('vite')

/**
 * What ships: `npm pack`, install the tarball into a React app that has never seen this repo,
 * whose config is only `plugins: [react(), http2Push()]`, start its `vite` CLI and load a page
 * with a push client and in Chromium.
 */
describe('the npm pack tarball in a fresh app', () => {
  let app: string
  let vite: ChildProcess | undefined
  let origin: string
  const output: string[] = []

  beforeAll(async () => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'h2push-pack-'))
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', app], { cwd: repo })
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    expect(packed!.files.map((file) => file.path).sort()).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'package.json', 'README.md']),
    )
    expect(packed!.files.some((file) => /^(src|test|playground)\//.test(file.path) || file.path.endsWith('.pem'))).toBe(
      false,
    )
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }),
    )
    fs.writeFileSync(
      path.join(app, 'vite.config.js'),
      `import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\nimport http2Push from 'vite-plugin-http2-push'\nexport default defineConfig({ plugins: [react(), http2Push()] })\n`,
    )
    fs.writeFileSync(
      path.join(app, 'index.html'),
      `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><div id="root"></div><script type="module" src="/src/main.jsx"></script></body></html>`,
    )
    fs.mkdirSync(path.join(app, 'src'))
    fs.writeFileSync(
      path.join(app, 'src/main.jsx'),
      `import { createRoot } from 'react-dom/client'\nimport { a } from './a.js'\nimport './style.css'\n` +
        `function App() { return <p id="text">{a}</p> }\ncreateRoot(document.getElementById('root')).render(<App />)\n`,
    )
    fs.writeFileSync(path.join(app, 'src/a.js'), `import { b } from './b.js'\nexport const a = 'a' + b\n`)
    fs.writeFileSync(path.join(app, 'src/b.js'), `export const b = 'b'\n`)
    fs.writeFileSync(path.join(app, 'src/style.css'), `body { color: teal }\n`)
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        `./${packed!.filename}`,
        `vite@${viteVersion}`,
        `react@${versionOf('react')}`,
        `react-dom@${versionOf('react-dom')}`,
        `@vitejs/plugin-react@${versionOf('@vitejs/plugin-react')}`,
      ],
      {
        cwd: app,
      },
    )
    vite = spawn(process.execPath, ['node_modules/vite/bin/vite.js', '--port', '0', '--strictPort', 'false'], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    })
    origin = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString())
        const match = /Local:\s+(https?:\/\/[^\s/]+)/.exec(stripVTControlCharacters(output.join('')))
        if (match) resolve(match[1]!)
      }
      vite!.stdout!.on('data', onData)
      vite!.stderr!.on('data', onData)
      vite!.once('exit', (code) => reject(new Error(`vite exited with ${code}: ${output.join('')}`)))
    })
  }, 180_000)

  afterAll(async () => {
    // the server writes its cache folder (the restart record) as it closes: wait for it to exit
    if (vite && vite.exitCode === null) {
      const exited = new Promise((resolve) => vite!.once('exit', resolve))
      vite.kill()
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
    }
    if (app) fs.rmSync(app, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
  }, 30_000)

  it('prints an https Local URL and pushes the whole closure with identical bytes', async () => {
    expect(origin).toMatch(/^https:\/\/localhost:\d+$/)
    const client = new TestClient(origin)
    try {
      const load = await client.loadPage('/')
      expect(load.closure.size).toBeGreaterThanOrEqual(8) // client, env, refresh, main, a, b, style, react deps
      expect(load.fromPush.size).toBe(load.closure.size)
      for (const push of load.pushesReceived) {
        const pushed = (await push.response)!
        const got = await plainGet(origin, push.path, { accept: String(push.requestHeaders.accept) })
        expect(pushed.body.equals(got.body), push.key).toBe(true)
        expect({ ...pushed.headers, date: '' }).toEqual({ ...got.headers, date: '' })
      }
    } finally {
      await client.close()
    }
    expect(output.join('')).toContain('[vite-plugin-http2-push] /: pushed')
  })

  it.skipIf(!requireBrowserOrSkip())(
    'reloads in Chromium with no module request: every resource from the cache',
    async () => {
      const context = await launchProfileTrusting(origin)
      try {
        const page = await context.newPage()
        const errors: string[] = []
        page.on('pageerror', (error) => errors.push(error.message))
        await page.goto(`${origin}/`)
        await page.waitForSelector('#text')
        expect(await page.locator('script[type="importmap"]').count()).toBe(1)
        for (let reload = 0; reload < 2; reload++) {
          await page.reload()
          await page.waitForSelector('#text')
        }
        const fetched = await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .map((entry) => entry as PerformanceResourceTiming)
            .filter((entry) => entry.initiatorType !== 'navigation' && entry.transferSize !== 0)
            .map((entry) => entry.name),
        )
        expect(fetched).toEqual([])
        expect(await page.textContent('#text')).toBe('ab')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    },
  )
})
