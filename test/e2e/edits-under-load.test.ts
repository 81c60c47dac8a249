import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Plugin, ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST } from '../support/browser-headers.mjs'
import { generatedApp } from '../support/apps.js'
import { BYPASS_RESPONSE_CACHE, TestClient, type FetchedResponse, type PageLoad } from '../support/http2-clients.js'
import { guardProcess, problemLogLines, type ProcessGuard } from '../support/process-guards.js'
import { comparableHeaders, crawl as crawlPage, expectPushesIdenticalToGets, waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// Files are edited and saved 100 times while push clients load the page in a loop. No client may
// ever be pushed a body that a GET of that URL would not have returned at that moment, and once
// the edits stop every push is identical to a GET again, on new and old connections alike.
//
// The criterion. Each edit writes `export const editVersion = N` (N = 1…100, increasing) into one of
// five leaf modules (no imports, so what Vite serves for them depends on their own file only), or
// sets it in a virtual module the way plugins such as vite-plugin-pages update theirs: new content
// and moduleGraph.invalidateModule(), no HMR timestamp, so its URL never changes (the files' URLs
// get a new `?t=` on every edit, which alone keeps a stale cache entry from ever being looked up;
// the virtual module is what makes the freshness of cached renders matter).
// A poller GETs those five modules all the time on its own connection and records, per module,
// which version each GET returned, when, and the exact bytes. Then for every push of an edited
// module received by a page load whose HTML was requested at time t0:
//   1. consistent: its body is byte-identical to the body GETs returned for the version it
//      embeds (Vite's transform is deterministic; versions no GET happened to see are rendered
//      once more at the end by writing that version back);
//   2. not stale: its version is ≥ the newest version any GET had returned before t0 (a GET
//      that completed before the page was requested proves Vite already served that version).
// Every other push (the ancestors get `?t=` timestamps in their imports) must equal the GET of its
// URL before the edits, up to those `t=` values (and the inline source map, which shifts with them). After the edits, exact byte-for-byte checks.

const MODULES = 150
const EDITS = 100
const EDIT_INTERVAL_MS = 50
/** Leaf modules edited on disk; a sixth target is a plugin's virtual module (below). */
const EDITED_FILES = 5
const CLIENTS = 4

const stripTimestamps = (text: string) => text.replace(/\?t=\d+&/g, '?').replace(/[?&]t=\d+/g, '')
/** A module's code up to import timestamps (and its inline source map, whose columns move with them). */
const codeUpToTimestamps = (body: Buffer) =>
  stripTimestamps(body.toString().replace(/\n\/\/# sourceMappingURL=data:[^\n]*/g, ''))
const versionOf = (body: Buffer) => Number(/export const editVersion = (\d+);/.exec(body.toString())?.[1] ?? NaN)
/** A module request answered by Vite itself (the truth pushes are checked against). */
const SCRIPT = { ...SCRIPT_REQUEST, ...BYPASS_RESPONSE_CACHE }
/** The same request as a browser makes it: the plugin may answer it from its response cache. */
const BROWSER_SCRIPT = SCRIPT_REQUEST

const ROUTES_ID = '\0virtual:routes'
const ROUTES_URL = '/@id/__x00__virtual:routes'

/** A virtual module whose content the test sets; `set` invalidates it like a plugin would (no HMR). */
function routesPlugin(options: { slowVersion?: number; slowMs?: number } = {}) {
  let version = 0
  let server: ViteDevServer | undefined
  const plugin: Plugin = {
    name: 'routes',
    resolveId: (id) => (id === 'virtual:routes' ? ROUTES_ID : undefined),
    async load(id) {
      if (id !== ROUTES_ID) return undefined
      const current = version
      if (current === options.slowVersion) await new Promise((resolve) => setTimeout(resolve, options.slowMs))
      return `export const editVersion = ${current};\n`
    },
    configureServer(devServer) {
      server = devServer
    },
  }
  return {
    plugin,
    set(next: number): void {
      version = next
      const moduleGraph = server!.environments.client.moduleGraph
      const module = moduleGraph.getModuleById(ROUTES_ID)
      if (module) moduleGraph.invalidateModule(module)
    },
  }
}

interface Observation {
  module: string
  version: number
  doneAt: number
  body: Buffer
}

describe('edits saved while push clients load the page', () => {
  let app: TempDir
  let t: TestServer
  let guard: ProcessGuard
  /** URL (without query) → file of the edited modules, or undefined for the virtual module. */
  const edited = new Map<string, string | undefined>()
  const routes = routesPlugin()
  /** What a GET returned before the edits: key without `t=` → response. */
  let baseline: Map<string, FetchedResponse>
  let originalSource: Map<string, string>

  beforeAll(async () => {
    guard = guardProcess()
    app = generatedApp('edits', { modules: MODULES, depth: 6, fanout: 4, withCss: true, withJson: true })
    const leaves = (fs.readdirSync(app.join('src'), { recursive: true, encoding: 'utf8' }) as string[])
      .filter((file) => /^level-\d+\/m\d+\.js$/.test(file.split(path.sep).join('/')))
      .filter((file) => !fs.readFileSync(app.join('src', file), 'utf8').includes('import '))
      .sort()
    expect(leaves.length).toBeGreaterThan(EDITED_FILES * 4)
    originalSource = new Map()
    for (let i = 0; i < EDITED_FILES; i++) {
      const file = leaves[Math.floor((i * leaves.length) / EDITED_FILES)]!
      const url = `/src/${file.split(path.sep).join('/')}`
      edited.set(url, app.join('src', file))
      originalSource.set(url, fs.readFileSync(app.join('src', file), 'utf8'))
      writeVersion(url, 0)
    }
    const main = app.join('src/main.js')
    fs.writeFileSync(
      main,
      `${fs.readFileSync(main, 'utf8')}import { editVersion as routesVersion } from 'virtual:routes';\nglobalThis.routesVersion = routesVersion;\n`,
    )
    edited.set(ROUTES_URL, undefined)
    t = await startTestServer(app.path, {}, { plugins: [routes.plugin] })
    const closure = await crawlPage(t.origin, '/')
    baseline = new Map([...closure].map(([key, response]) => [stripTimestamps(key), response]))
    for (const url of edited.keys()) expect(baseline.has(url), url).toBe(true)
  })

  afterAll(async () => {
    guard?.stop()
    await t?.close()
    app?.remove()
  })

  /** Saves version `version` of an edited module (write a temp file, then rename: never half-written). */
  function writeVersion(url: string, version: number): void {
    if (url === ROUTES_URL) return routes.set(version)
    const file = edited.get(url)!
    const temp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temp, `${originalSource.get(url)}\nexport const editVersion = ${version};\n`)
    fs.renameSync(temp, file)
  }

  it(`${EDITS} saves ${EDIT_INTERVAL_MS} ms apart under ${CLIENTS} looping push clients: no push differs from a GET of its moment`, async () => {
    const observations: Observation[] = []
    const violations: string[] = []
    const pushedEdited: Array<{ module: string; version: number; body: Buffer; key: string }> = []
    let editsDone = false
    let pageLoads = 0
    let pushesChecked = 0

    // an old connection: loaded once before the edits, then idle until they are over
    const old = new TestClient(t.origin)
    const oldFirst = await old.loadPage('/')
    expect(oldFirst.fromPush.size).toBe(oldFirst.closure.size)

    // the poller: what a GET returns for each edited module, all the time
    const poller = new TestClient(t.origin, { enablePush: false })
    const polling = (async () => {
      while (!editsDone) {
        for (const module of edited.keys()) {
          const response = await poller.get(module, SCRIPT)
          const doneAt = performance.now()
          if (response.status !== 200) violations.push(`GET ${module} answered ${response.status}`)
          else observations.push({ module, version: versionOf(response.body), doneAt, body: response.body })
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()

    // the browser-form poller: the same GETs as a browser makes them, which the plugin answers
    // from its response cache while that is current; held to the same two rules as pushes
    const cachedGets: Array<{ module: string; version: number; requestedAt: number; body: Buffer }> = []
    const servedFromCacheBefore = t.plugin.api!.cachedResponsesServed
    const browserPoller = new TestClient(t.origin, { enablePush: false })
    const browserPolling = (async () => {
      while (!editsDone) {
        for (const module of edited.keys()) {
          const requestedAt = performance.now()
          const response = await browserPoller.get(module, BROWSER_SCRIPT)
          if (response.status !== 200) violations.push(`browser GET ${module} answered ${response.status}`)
          else cachedGets.push({ module, version: versionOf(response.body), requestedAt, body: response.body })
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()

    // the import-map poller: the page as a browser gets it, then each edited module at the
    // versioned URL its import map names. An `immutable` answer must be of exactly that version
    // (the version is a hash of the response's ETag); no answer may be older than what Vite had
    // served before the page was requested.
    const versionedGets: Array<{ module: string; version: number; requestedAt: number; body: Buffer }> = []
    let immutableAnswers = 0
    const versionedPoller = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    const versionedPolling = (async () => {
      while (!editsDone) {
        const requestedAt = performance.now()
        const html = (await versionedPoller.get('/', DOCUMENT_REQUEST)).body.toString()
        const map = /<script type="importmap">(.*?)<\/script>/s.exec(html)?.[1]
        if (!map) violations.push('a page without its import map')
        for (const [url, versioned] of Object.entries(
          (JSON.parse(map ?? '{}') as { imports?: Record<string, string> }).imports ?? {},
        )) {
          const module = stripTimestamps(url)
          if (!edited.has(module)) continue
          const response = await versionedPoller.get(versioned, BROWSER_SCRIPT)
          if (response.status !== 200) {
            violations.push(`versioned GET ${versioned} answered ${response.status}`)
            continue
          }
          if (String(response.headers['cache-control']).includes('immutable')) {
            immutableAnswers++
            const token = /__h2v=([\w-]+)/.exec(versioned)![1]
            const answered = createHash('sha1').update(String(response.headers.etag)).digest('base64url').slice(0, 16)
            if (answered !== token)
              violations.push(`${versioned} answered immutable with another version (ETag ${response.headers.etag})`)
          }
          versionedGets.push({ module, version: versionOf(response.body), requestedAt, body: response.body })
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()

    const newestGetBefore = (module: string, time: number) => {
      let newest = -1
      for (const o of observations) if (o.module === module && o.doneAt < time && o.version > newest) newest = o.version
      return newest
    }

    const checkLoad = async (load: PageLoad, requestedAt: number) => {
      pageLoads++
      for (const [key, response] of load.closure) {
        if (response.status !== 200) violations.push(`${key} loaded with status ${response.status}`)
      }
      for (const push of load.pushesReceived) {
        const response = await push.response
        pushesChecked++
        if (!response) {
          violations.push(`push ${push.key} did not arrive`)
          continue
        }
        const module = stripTimestamps(push.path)
        if (edited.has(module)) {
          const version = versionOf(response.body)
          if (Number.isNaN(version)) {
            violations.push(
              `push ${push.key} holds no version: ${JSON.stringify(response.body.toString().slice(0, 200))}`,
            )
            continue
          }
          pushedEdited.push({ module, version, body: response.body, key: push.key })
          const floor = newestGetBefore(module, requestedAt)
          if (version < floor) {
            violations.push(
              `stale push: ${push.key} at version ${version}, but a GET returned version ${floor} before the page was requested`,
            )
          }
        } else {
          const before = baseline.get(stripTimestamps(push.key))
          if (!before) violations.push(`push ${push.key} is not part of the page`)
          else if (codeUpToTimestamps(response.body) !== codeUpToTimestamps(before.body)) {
            violations.push(`push ${push.key} differs from its GET beyond import timestamps`)
          } else if (response.headers['content-type'] !== before.headers['content-type']) {
            violations.push(`push ${push.key} has content-type ${response.headers['content-type']}`)
          }
        }
      }
    }

    // the push clients: a few loads per connection, then a new connection; the last one is kept
    const lastConnections: TestClient[] = []
    const worker = async () => {
      for (;;) {
        const client = new TestClient(t.origin)
        for (let i = 0; i < 3; i++) {
          const requestedAt = performance.now()
          await checkLoad(await client.loadPage('/'), requestedAt)
          if (editsDone) {
            lastConnections.push(client)
            return
          }
        }
        await client.close()
      }
    }
    const workers = Array.from({ length: CLIENTS }, () => worker())

    // the edits: version N goes to target N mod 6
    const modules = [...edited.keys()]
    for (let version = 1; version <= EDITS; version++) {
      writeVersion(modules[version % modules.length]!, version)
      await new Promise((resolve) => setTimeout(resolve, EDIT_INTERVAL_MS))
    }
    const lastVersion = new Map(
      modules.map((module, index) => [
        module,
        Math.max(...Array.from({ length: EDITS }, (_, i) => i + 1).filter((v) => v % modules.length === index)),
      ]),
    )

    // wait until a GET serves every final version, then stop the loops
    await waitFor(
      () => modules.every((module) => newestGetBefore(module, Infinity) === lastVersion.get(module)),
      10_000,
      'Vite to serve the last edits',
    )
    editsDone = true
    await Promise.all([polling, browserPolling, versionedPolling, ...workers])
    await browserPoller.close()
    await versionedPoller.close()
    for (const get of versionedGets) {
      const floor = newestGetBefore(get.module, get.requestedAt)
      if (get.version < floor)
        violations.push(
          `stale versioned GET: ${get.module} at version ${get.version}, but a GET by Vite returned version ${floor} before its page was requested`,
        )
      pushedEdited.push({
        module: get.module,
        version: get.version,
        body: get.body,
        key: `versioned GET ${get.module}`,
      })
    }
    const servedFromCache = t.plugin.api!.cachedResponsesServed - servedFromCacheBefore
    for (const get of cachedGets) {
      const floor = newestGetBefore(get.module, get.requestedAt)
      if (get.version < floor)
        violations.push(
          `stale browser GET: ${get.module} at version ${get.version}, but a GET by Vite returned version ${floor} before it was requested`,
        )
      pushedEdited.push({ module: get.module, version: get.version, body: get.body, key: `GET ${get.module}` })
    }
    await new Promise((resolve) => setTimeout(resolve, 300))

    // 1. consistency: each pushed version's bytes are what GETs returned for that version
    const getBodies = new Map<string, Buffer[]>()
    for (const o of observations) {
      const id = `${o.module}@${o.version}`
      const bodies = getBodies.get(id) ?? []
      if (!bodies.some((body) => body.equals(o.body))) bodies.push(o.body)
      getBodies.set(id, bodies)
    }
    for (const [id, bodies] of getBodies) expect(bodies.length, `GETs of ${id} all returned the same bytes`).toBe(1)
    const unseen = [...new Set(pushedEdited.map((p) => `${p.module}@${p.version}`))].filter((id) => !getBodies.has(id))

    // 2. after the edits: a fresh load is pushed exactly what GETs return now
    const fresh = new TestClient(t.origin)
    try {
      const load = await fresh.loadPage('/')
      expect(load.fromPush.size).toBe(load.closure.size)
      expect(fresh.unusedPushKeys()).toEqual([])
      await expectPushesIdenticalToGets(t.origin, load.pushesReceived)
      for (const module of modules) {
        const push = load.pushesReceived.find((p) => stripTimestamps(p.path) === module)
        expect(versionOf((await push!.response)!.body), module).toBe(lastVersion.get(module))
      }
    } finally {
      await fresh.close()
    }

    // 3. the old connection reloads: exactly what changed is pushed again, nothing stale
    const now = await crawl()
    const changed = [...now.entries()]
      .filter(([key, response]) => !old.held.get(key)?.body.equals(response.body))
      .map(([key]) => key)
      .sort()
    for (const module of modules)
      expect(
        changed.some((key) => stripTimestamps(key) === module),
        module,
      ).toBe(true)
    expect(changed.length).toBeLessThan(now.size)
    const reload = await old.loadPage('/')
    expect(reload.pushesReceived.map((push) => push.key).sort()).toEqual(changed)
    expect(reload.requested.size).toBe(0)
    await expectPushesIdenticalToGets(t.origin, reload.pushesReceived)
    for (const [key, response] of reload.closure)
      expect(response.body.equals(now.get(key)!.body), `old connection has ${key} current`).toBe(true)
    await old.close()

    // 4. the connections that were loading during the edits reload: everything current
    for (const client of lastConnections) {
      const load = await client.loadPage('/')
      await expectPushesIdenticalToGets(t.origin, load.pushesReceived)
      expect(load.requested.size).toBe(0)
      for (const [key, response] of load.closure) {
        expect(now.get(key), `${key} is in the current page`).toBeDefined()
        expect(response.body.equals(now.get(key)!.body), `busy connection has ${key} current`).toBe(true)
      }
      await client.close()
    }
    await poller.close()

    // versions pushed that no GET happened to see: write each back once and GET it
    for (const id of unseen) {
      const [module, version] = [id.slice(0, id.lastIndexOf('@')), Number(id.slice(id.lastIndexOf('@') + 1))]
      writeVersion(module, version)
      await using check = new TestClient(t.origin, { enablePush: false })
      await waitFor(
        async () => versionOf((await check.get(module, SCRIPT)).body) === version,
        10_000,
        `${id} to be served`,
      )
      getBodies.set(id, [(await check.get(module, SCRIPT)).body])
    }
    for (const push of pushedEdited) {
      const id = `${push.module}@${push.version}`
      if (!getBodies.get(id)![0]!.equals(push.body))
        violations.push(`push ${push.key} (version ${push.version}) differs from a GET of that version`)
    }

    const refreshedEdited = pushedEdited.filter((push) => push.version > 0 && !push.key.includes('GET ')).length
    console.log(
      `[edits] ${EDITS} saves; ${pageLoads} page loads by ${CLIENTS} push clients; ${pushesChecked} pushes checked, ` +
        `${refreshedEdited} of them edited modules at a version > 0 (${unseen.length} versions re-rendered for reference); ${observations.length} GETs by the poller; ` +
        `${cachedGets.length} browser-form GETs, ${servedFromCache} answered from the plugin's cache`,
    )
    expect(servedFromCache, 'browser-form GETs were answered from the cache during the edits').toBeGreaterThan(10)
    console.log(
      `[edits] ${versionedGets.length} versioned GETs of edited modules from the page's import map, ${immutableAnswers} answered immutable`,
    )
    expect(immutableAnswers, 'versioned URLs were answered immutable during the edits').toBeGreaterThan(10)
    expect(violations).toEqual([])
    expect(pageLoads).toBeGreaterThan(CLIENTS * 3)
    expect(refreshedEdited, 'edited modules were pushed again during the edits').toBeGreaterThan(10)

    await waitFor(() => t.plugin.api!.connectionCount === 0, 10_000, 'connectionCount back to 0')
    expect(t.plugin.api!.rememberedPushCount).toBe(0)
    expect(guard.describe()).toBe('')
    expect(problemLogLines(t.logs)).toEqual([])
  })

  /** What a client that refuses push loads for the page now: key → response. */
  const crawl = () => crawlPage(t.origin, '/')

  it('headers of a pushed edited module match a GET (sanity of the comparison)', async () => {
    await using client = new TestClient(t.origin)
    const load = await client.loadPage('/')
    const push = load.pushesReceived.find((p) => edited.has(stripTimestamps(p.path)))!
    const got = await client.get(push.path, SCRIPT)
    expect(comparableHeaders((await push.response)!)).toEqual(comparableHeaders(got))
  })
})

describe('a module invalidated while another page load is still rendering it', () => {
  // A plugin-generated module (like vite-plugin-pages' routes) is invalidated with
  // moduleGraph.invalidateModule() when its data changes: no HMR timestamp, so its URL stays the
  // same. Version 1 takes SLOW_MS to load. Page load A starts rendering version 1; version 2 is
  // set meanwhile and a GET returns it; page load B, requested after that GET, must be pushed
  // version 2 (what a GET returns at that moment), not A's in-flight version 1.
  const SLOW_MS = 1500
  let app: TempDir
  let t: TestServer
  const routes = routesPlugin({ slowVersion: 1, slowMs: SLOW_MS })
  const setVersion = (version: number) => routes.set(version)

  beforeAll(async () => {
    app = tempDir('invalidate', {
      'index.html':
        '<!doctype html><html><head></head><body><script type="module" src="/src/main.js"></script></body></html>\n',
      'src/main.js': "import { editVersion } from 'virtual:routes'\nexport const shown = editVersion\n",
    })
    t = await startTestServer(app.path, {}, { plugins: [routes.plugin] })
  })
  afterAll(async () => {
    await t?.close()
    app?.remove()
  })

  async function getOnce(url: string): Promise<FetchedResponse> {
    await using client = new TestClient(t.origin, { enablePush: false })
    return await client.get(url, SCRIPT)
  }

  it('a page requested after a GET served the new version is not pushed the version still rendering', async () => {
    const warm = new TestClient(t.origin)
    const first = await warm.loadPage('/')
    await warm.close()
    expect([...first.closure.keys()]).toContain(ROUTES_URL)

    setVersion(1)
    const a = new TestClient(t.origin)
    const loadA = a.loadPage('/').catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 300))

    setVersion(2)
    const got = await getOnce(ROUTES_URL)
    expect(versionOf(got.body), 'a GET serves version 2').toBe(2)

    const b = new TestClient(t.origin)
    try {
      const loadB = await b.loadPage('/')
      const pushed = loadB.pushesReceived.find((push) => push.path === ROUTES_URL)
      expect(pushed, `${ROUTES_URL} pushed to B`).toBeDefined()
      expect(versionOf((await pushed!.response)!.body), `version of ${ROUTES_URL} pushed to B`).toBe(2)
      await expectPushesIdenticalToGets(t.origin, loadB.pushesReceived)
    } finally {
      await loadA
      await a.close()
      await b.close()
    }
  })
})
