// npm run bench [-- options]
//
// Time from navigation start to "every static module of the page has evaluated" (the page's
// `globalThis.__appLoadedAt`), for six server configurations, three apps and three link latencies.
// See bench/README.md for what each configuration is and how the figures are taken.
//
//   --modules N      generated app size (default 1000)
//   --depth D        generated app import depth (default 10)
//   --fanout F       generated app imports per module (default 3)
//   --runs R         warm runs per configuration, after the cold one (default 5)
//   --latency LIST   round-trip times in ms (default 0,20,100); `RTT@MBIT` adds a bandwidth cap
//                    per direction, e.g. 100@20 = 100 ms RTT at 20 Mbit/s; `tunnelRTT` is a
//                    loopback tunnel (the delaying TCP proxy on 127.0.0.1, as an SSH tunnel or a
//                    port forward), e.g. tunnel40
//   --apps LIST      generated,lodash,playground,sveltekit (default all four); generatedN = the
//                    generated app with N modules (reload scenario: only at the first latency, for
//                    scaling); sveltekit = test/frameworks/sveltekit, installed from its lockfile
//   --scenario LIST  cold,reload,restart (default cold; --quick runs all three)
//   --reloads N      reload scenario: F5 reloads per run (default 4)
//   --reload-runs N  reload scenario: runs per configuration, each in a new profile (default 3)
//   --reload-configs LIST  vite-h1,vite-h2,plugin,plugin-nomap,plugin-raw,plugin-always,bundled,immutable
//                    (default all but plugin-raw and plugin-always)
//   --browsers LIST  reload scenario: chromium,firefox (default chromium); firefox = Debian's
//                    firefox-esr over WebDriver BiDi, a new profile per run, certificate exception
//   --restart-configs LIST  restart scenario (issue 19): vite-h2,plugin,plugin-norecord,immutable,bundled
//                    (default all; it uses --reload-runs)
//   --pause MS       pause between two loads (default 1000)
//   --quick          tiny generated app, 1 warm run, no added latency (CI; < 2 minutes)
//   --name NAME      write bench/results/NAME.{md,json,svg} (default latest, or quick with --quick)
//   --from-json FILE only re-render the table, chart (and README with --readme) from a results JSON
//   --readme         also copy the table and chart into README.md's "## Performance" section
//
// Exits non-zero when any configuration failed to load.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { prepareApp } from './lib/apps.mjs'
import { startChild, tail } from './lib/child.mjs'
import { Browser } from './lib/chromium.mjs'
import { FIREFOX_TRUST, firefoxAvailable, firefoxPath } from './lib/firefox.mjs'
import { loopback, startLink, startTunnel, tunlinkUnavailable } from './lib/link.mjs'
import { describeMachine } from './lib/proc.mjs'
import { RELOAD_CONFIGS, runReloadBlock } from './lib/reload.mjs'
import { writeReloadReports } from './lib/reload-report.mjs'
import { writeReports } from './lib/report.mjs'
import { RESTART_CONFIGS, runRestartBlock } from './lib/restart.mjs'
import { writeRestartReports } from './lib/restart-report.mjs'
import { parsePluginLogs } from './lib/stats.mjs'
import { BENCH, CACHE, REPO, importSupport } from './lib/support.mjs'

const { values: argv } = parseArgs({
  options: {
    modules: { type: 'string' },
    depth: { type: 'string' },
    fanout: { type: 'string' },
    runs: { type: 'string' },
    scenario: { type: 'string' },
    reloads: { type: 'string' },
    'reload-runs': { type: 'string' },
    'reload-configs': { type: 'string' },
    'restart-configs': { type: 'string' },
    browsers: { type: 'string' },
    latency: { type: 'string' },
    apps: { type: 'string' },
    pause: { type: 'string' },
    quick: { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
    name: { type: 'string' },
    'from-json': { type: 'string' },
  },
})

const quick = argv.quick
const options = {
  quick,
  modules: Number(argv.modules ?? (quick ? 60 : 1000)),
  depth: Number(argv.depth ?? (quick ? 5 : 10)),
  fanout: Number(argv.fanout ?? 3),
  runs: Number(argv.runs ?? (quick ? 1 : 5)),
  latencies: (argv.latency ?? (quick ? '0' : '0,20,100')).split(',').map((s) => s.trim()),
  scenarios: (argv.scenario ?? (quick ? 'cold,reload,restart' : 'cold')).split(',').map((s) => s.trim()),
  reloads: Number(argv.reloads ?? (quick ? 1 : 4)),
  reloadRuns: Number(argv['reload-runs'] ?? (quick ? 1 : 3)),
  reloadConfigs: (
    argv['reload-configs'] ??
    (quick ? 'vite-h2,plugin,immutable' : 'vite-h1,vite-h2,plugin,plugin-nomap,bundled,immutable')
  )
    .split(',')
    .map((s) => s.trim()),
  restartConfigs: (
    argv['restart-configs'] ??
    (quick ? 'vite-h2,plugin,plugin-norecord,immutable' : RESTART_CONFIGS.map((c) => c.id).join(','))
  )
    .split(',')
    .map((s) => s.trim()),
  browsers: (argv.browsers ?? 'chromium')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  apps: (argv.apps ?? (quick ? 'generated' : 'generated,lodash,playground,sveltekit'))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  pauseMs: Number(argv.pause ?? 1000),
  loadTimeoutMs: quick ? 60_000 : 180_000,
  name: argv.name ?? (quick ? 'quick' : 'latest'),
}
// --quick: the reload scenario covers 1 app (the first), RTT 0, 1 reload
if (!/^[\w.-]+$/.test(options.name)) fail('--name takes a file name stem, e.g. --name playground-20ms')
if (!/^[\w.-]+$/.test(options.name)) fail('--name takes a file name stem, e.g. --name playground-20ms')
for (const [name, value] of Object.entries({
  modules: options.modules,
  depth: options.depth,
  fanout: options.fanout,
  runs: options.runs,
  reloads: options.reloads,
  'reload-runs': options.reloadRuns,
})) {
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be a positive integer`)
}
if (options.latencies.some((v) => !parseLatency(v)))
  fail('--latency takes round-trip times in ms, optionally @Mbit/s, or tunnelRTT, e.g. 0,20,100,100@20,tunnel40')
for (const scenario of options.scenarios)
  if (!['cold', 'reload', 'restart'].includes(scenario))
    fail(`--scenario takes cold, reload and/or restart, not ${scenario}`)
for (const id of options.reloadConfigs)
  if (!RELOAD_CONFIGS.some((c) => c.id === id))
    fail(`--reload-configs takes ${RELOAD_CONFIGS.map((c) => c.id).join(',')}, not ${id}`)
for (const name of options.browsers)
  if (!['chromium', 'firefox'].includes(name)) fail(`--browsers takes chromium and/or firefox, not ${name}`)
if (options.browsers.length === 0) fail('--browsers takes chromium and/or firefox')
for (const id of options.restartConfigs)
  if (!RESTART_CONFIGS.some((c) => c.id === id))
    fail(`--restart-configs takes ${RESTART_CONFIGS.map((c) => c.id).join(',')}, not ${id}`)

/** `100` → 100 ms RTT; `100@20` → 100 ms RTT, 20 Mbit/s per direction; `tunnel40` → a 40 ms loopback tunnel. */
function parseLatency(key) {
  const tunnel = /^tunnel(\d+(?:\.\d+)?)$/.exec(key)
  if (tunnel) return { key, rttMs: Number(tunnel[1]), rateMbit: 0, tunnel: true, label: `${tunnel[1]} ms RTT tunnel` }
  const match = /^(\d+(?:\.\d+)?)(?:@(\d+(?:\.\d+)?))?$/.exec(key)
  if (!match) return undefined
  const rttMs = Number(match[1])
  const rateMbit = match[2] ? Number(match[2]) : 0
  return {
    key,
    rttMs,
    rateMbit,
    label: `${rttMs} ms RTT${rateMbit ? `, ${rateMbit} Mbit/s` : ''}`,
  }
}

/** The measured columns. Every one has its own server process (own cold start, own CPU account). */
const COLUMNS = [
  { id: 'chromium/vite-h1', client: 'chromium', server: 'vite-h1', config: 1, label: 'Vite dev, HTTP/1.1' },
  { id: 'chromium/vite-h2', client: 'chromium', server: 'vite-h2', config: 2, label: 'Vite dev, HTTP/2' },
  { id: 'chromium/plugin', client: 'chromium', server: 'plugin', config: 3, label: 'plugin, modulepreload' },
  {
    id: 'chromium/preview',
    client: 'chromium',
    server: 'preview',
    config: 5,
    label: 'production bundle (vite preview, HTTP/2)',
  },
  {
    id: 'chromium/floor',
    client: 'chromium',
    server: 'floor',
    config: 6,
    label: 'floor: in-memory replay, modulepreload',
  },
  { id: 'push/vite-h2', client: 'push', server: 'vite-h2', config: 2, label: 'Vite dev, HTTP/2 (requests in waves)' },
  { id: 'push/plugin', client: 'push', server: 'plugin', config: 4, label: 'plugin, push' },
  { id: 'push/floor', client: 'push', server: 'floor', config: 6, label: 'floor: in-memory replay, push' },
]
const HOLD_CONNECTIONS = 10
const RUN_ID = new Date().toISOString().replace(/[:.]/g, '-')
const LOGS = path.join(CACHE, 'logs', RUN_ID)
const CERT_DIR = path.join(CACHE, 'cert')

function fail(message) {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const say = (message) => process.stderr.write(`${message}\n`)
const fmt = (ms) => (ms === undefined ? '—' : `${Math.round(ms)} ms`)

async function ensureCertificate() {
  if (fs.existsSync(path.join(CERT_DIR, 'key.pem')) && fs.existsSync(path.join(CERT_DIR, 'cert.pem'))) return
  try {
    // the plugin's own generator (what it would create for itself)
    const { loadOrCreateCertificate } = await import('../dist/tls/certificate-cache.js')
    await loadOrCreateCertificate(CERT_DIR)
  } catch {
    fs.mkdirSync(CERT_DIR, { recursive: true })
    const result = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(CERT_DIR, 'key.pem'),
        '-out',
        path.join(CERT_DIR, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    if (result.status !== 0)
      fail('could not create a certificate (neither dist/tls nor openssl worked); run `npm run build` first')
  }
}

function appKey(app) {
  return path.basename(app.root)
}

function serverOptions(app, kind, link) {
  const key = appKey(app)
  return {
    kind,
    root: app.root,
    host: link.bindHost,
    publicHost: link.publicHost,
    certDir: CERT_DIR,
    // dev configurations with the same Vite config share a dependency-optimizer cache (primed before timing)
    cacheDir: path.join(
      CACHE,
      'vite-cache',
      key,
      kind.startsWith('plugin')
        ? 'plugin'
        : kind === 'preview' || kind === 'build'
          ? 'build'
          : kind === 'vite-bundled'
            ? 'bundled'
            : 'vite',
    ),
    outDir: path.join(CACHE, 'builds', key),
    input: app.input,
    optimizeDeps: app.optimizeDeps,
    framework: app.framework,
    recording: path.join(CACHE, 'recordings', `${key}.json`),
  }
}

/** `overrides`: e.g. the restart scenario's own cacheDir and the port of the server it replaces. */
function startServer(app, kind, link, tag, overrides = {}) {
  return startChild(
    path.join(BENCH, 'serve.mjs'),
    [JSON.stringify({ ...serverOptions(app, kind, link), ...overrides })],
    {
      netns: link.serverNs,
      // BENCH_SERVER_NODE_ARGS: extra Node flags for the server processes, e.g. `--cpu-prof --cpu-prof-dir=DIR`
      execArgv: ['--expose-gc', ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      env: {
        ...process.env,
        ...app.env,
        DEBUG: kind.startsWith('plugin') ? 'vite-plugin-http2-push' : '',
        FORCE_COLOR: '0',
      },
      logFile: path.join(LOGS, `${appKey(app)}-${tag}.log`),
    },
  )
}

function startPushClient(link, tag) {
  return startChild(path.join(BENCH, 'client.mjs'), [], {
    netns: link.clientNs,
    logFile: path.join(LOGS, `push-client-${tag}.log`),
  })
}

/**
 * `vite build` of each app (once per benchmark run; cold scenario) and, at loopback, a primed
 * optimizer cache and (cold scenario) the floor's recording.
 */
async function prepare(app, { cold, chromium }) {
  const local = loopback()
  if (cold) {
    say(`  ${app.name}: vite build`)
    const build = await startServer(app, 'build', local, 'build')
    await build.exited
    const built = app.builtFile
      ? path.join(app.root, app.builtFile)
      : path.join(serverOptions(app, 'build', local).outDir, 'index.html')
    if (!fs.existsSync(built))
      throw new Error(`vite build of ${app.name} wrote no ${path.basename(built)}; see ${build.logFile}`)
  }
  const client = await startPushClient(local, `prepare-${app.name}`)
  try {
    for (const kind of ['vite-h2', 'plugin']) {
      say(`  ${app.name}: priming the dependency optimizer cache (${kind})`)
      const server = await startServer(app, kind, local, `prime-${kind}`)
      try {
        if (app.framework && kind === 'vite-h2') app.dynamicImports = await recordDynamicImports(app, server, chromium)
        const load = await client.request('load', {
          origin: server.info.url,
          path: app.page,
          push: false,
          timeoutMs: 120_000,
          ...pushClientModel(app),
        })
        if (!load.ok) throw new Error(`priming ${kind} failed: ${load.error}`)
        // (a framework app: the plugin learns the page's dynamic imports from this load; 1.5 s quiet)
        await sleep(2500)
        if (kind === 'plugin' && cold) {
          fs.mkdirSync(path.join(CACHE, 'recordings'), { recursive: true })
          const recorded = await client.request('record', {
            origin: server.info.url,
            path: app.page,
            file: serverOptions(app, 'floor', local).recording,
            ...pushClientModel(app),
          })
          say(
            `  ${app.name}: recorded ${recorded.resources} responses (${(recorded.bytes / 1024 / 1024).toFixed(1)} MB) for the floor`,
          )
        }
      } finally {
        await server.close()
      }
    }
  } finally {
    await client.close()
  }
}

/**
 * A framework app loads most of its code with `import()` once it runs: the push client requests
 * those modules (as Chromium recorded them) after the static closure, with a browser's Referer
 * (so the plugin can learn the page from the push client's own loads, as from a browser's).
 */
function pushClientModel(app) {
  return app.framework ? { dynamicImports: app.dynamicImports ?? [], referer: true } : {}
}

/**
 * The module URLs a framework page requests in Chromium from plain Vite HTTP/2, for the push
 * client. Optimized dependencies (`?v=`, a hash that differs between servers) are left out:
 * static imports of the other modules reach them.
 */
async function recordDynamicImports(app, server, chromium) {
  const browser = await Browser.launch({
    chromiumPath: chromium.path,
    chromiumArgs: chromium.args,
    logFile: path.join(LOGS, `chromium-prepare-${app.name}.log`),
  })
  try {
    const load = await browser.load(`${server.info.url}${app.page}`, { urls: true })
    if (!load.ok) throw new Error(`Chromium could not load ${app.name}: ${load.error}`)
    const urls = [...new Set(load.urls)].filter((url) => url !== app.page && !/[?&]v=/.test(url))
    say(`  ${app.name}: Chromium requested ${load.urls.length} resources; ${urls.length} for the push client's model`)
    return urls
  } finally {
    await browser.close()
  }
}

/** One app at one latency: start every column's server, then alternate the columns run by run. */
async function runBlock({ app, link, latency, browser, pushClient, results, figures }) {
  const tag = latency.key
  say(`\n${app.label} @ ${latency.label} (${link.mechanism})`)
  const servers = new Map()
  try {
    await Promise.all(
      COLUMNS.map(async (column) => {
        const server = await startServer(app, column.server, link, `${tag}-${column.id.replace('/', '-')}`)
        const origin = await link.wrap(server.info.url)
        servers.set(column.id, { server, origin })
      }),
    )
    const startup = await waitUntilIdle(servers)
    const floorUrl = new URL(servers.get('push/floor').origin)
    const rtt = await pushClient.request('rtt', { host: floorUrl.hostname, port: Number(floorUrl.port) })
    link.measured.push(rtt.medianMs)
    say(`  TCP connect round trip: ${rtt.medianMs.toFixed(1)} ms`)
    for (let run = 0; run <= options.runs; run++) {
      for (const column of COLUMNS) {
        const { server, origin } = servers.get(column.id)
        const before = await server.request('stats')
        let result
        if (column.client === 'chromium') {
          result = await browser
            .load(`${origin}${app.page}`, { timeoutMs: options.loadTimeoutMs })
            .catch((error) => ({ ok: false, error: error.message }))
        } else {
          result = await pushClient
            .request(
              'load',
              { origin, path: app.page, push: true, timeoutMs: options.loadTimeoutMs, ...pushClientModel(app) },
              options.loadTimeoutMs + 30_000,
            )
            .catch((error) => ({ ok: false, error: error.message }))
        }
        await sleep(options.pauseMs)
        const after = await server.request('stats')
        const plugin = parsePluginLogs(after.logs)
        const record = {
          app: app.name,
          rttMs: link.rttMs,
          latency: latency.key,
          client: column.client,
          column: column.id,
          config: column.config,
          run,
          cold: run === 0,
          ...result,
          serverCpuMs: after.cpuMs - before.cpuMs,
          bytes: after.traffic.bytesWritten - before.traffic.bytesWritten,
          serverRequests: after.traffic.requests - before.traffic.requests,
          ...(run === 0 ? { serverStartup: startup.get(column.id) } : {}),
          pluginLog: plugin.pages[0],
          closureSize: plugin.closures[0],
        }
        results.push(record)
        if (result.reloads > 0) say(`  (the page reloaded itself ${result.reloads}×: timed from the first navigation)`)
        const extra =
          column.client === 'push'
            ? ` waves ${result.waves ?? '?'} pushed ${result.fromPush ?? '?'} requested ${result.requested ?? '?'}`
            : ` requests ${result.resources ?? '?'}`
        say(
          `  ${run === 0 ? 'cold' : `run ${run}`} ${column.id.padEnd(18)} ${result.ok ? fmt(result.ms).padStart(9) : `FAILED: ${result.error}`}  ${(record.bytes / 1024).toFixed(0)} kB sent, server CPU ${fmt(record.serverCpuMs)}${result.browserCpuMs !== undefined ? `, browser CPU ${fmt(result.browserCpuMs)}` : ''}${extra}${plugin.pages[0] ? `  | ${plugin.pages[0].line.replace(/^.*\] /, '')}` : ''}`,
        )
      }
    }
    if (link.rttMs === 0 && !latency.rateMbit)
      figures.push(await memoryPerConnection(app, servers.get('push/plugin'), pushClient))
  } finally {
    await Promise.all([...servers.values()].map(({ server }) => server.close()))
  }
}

/**
 * Waits until every server of the block is idle (under 5% of a core for 1 s): Vite's own start-up
 * work and the plugin's closure warm-up must not run during another column's (cold) load.
 * Returns each server's CPU from process start to idle, and the plugin's warm-up line.
 */
async function waitUntilIdle(servers, { timeoutMs = 90_000, intervalMs = 1000, quiet = false } = {}) {
  const started = Date.now()
  const startup = new Map()
  for (const [id] of servers) startup.set(id, { logs: [] })
  let previous
  while (true) {
    const now = new Map()
    for (const [id, { server }] of servers) {
      const stats = await server.request('stats')
      startup.get(id).logs.push(...stats.logs)
      startup.get(id).cpuMs = stats.cpuMs
      now.set(id, stats.cpuMs)
    }
    if (previous && [...now].every(([id, cpu]) => cpu - previous.get(id) < intervalMs / 20)) break
    if (Date.now() - started > timeoutMs) {
      say(`  servers still busy after ${timeoutMs / 1000} s; starting anyway`)
      break
    }
    previous = now
    await sleep(intervalMs)
  }
  const result = new Map()
  for (const [id, { logs, cpuMs }] of startup) {
    const warm = logs.map((line) => /warmed (\d+) responses in (\d+) ms/.exec(line)).find(Boolean)
    result.set(id, { cpuMs, warmup: warm ? { responses: Number(warm[1]), ms: Number(warm[2]) } : undefined })
  }
  const plugin = result.get('chromium/plugin') ?? result.get('plugin')
  if (!quiet)
    say(
      `  servers idle after ${((Date.now() - started) / 1000).toFixed(1)} s; start-up CPU: Vite h2 ${fmt((result.get('chromium/vite-h2') ?? result.get('vite-h2'))?.cpuMs)}, plugin ${fmt(plugin?.cpuMs)}${plugin?.warmup ? ` (warmed ${plugin.warmup.responses} responses in ${plugin.warmup.ms} ms)` : ''}`,
    )
  return result
}

/** Memory the plugin server holds per open connection that loaded the page (push client). */
async function memoryPerConnection(app, { server, origin }, pushClient) {
  const used = (stats) => stats.memory.heapUsed + stats.memory.external
  const base = await server.request('stats', { gc: true })
  await pushClient.request('hold', { origin, path: app.page, count: HOLD_CONNECTIONS })
  await sleep(500)
  const holding = await server.request('stats', { gc: true })
  await pushClient.request('release')
  await sleep(1000)
  const released = await server.request('stats', { gc: true })
  const figure = {
    app: app.name,
    connections: HOLD_CONNECTIONS,
    bytesPerConnection: (used(holding) - used(released)) / HOLD_CONNECTIONS,
    rssPerConnection: (holding.memory.rss - released.memory.rss) / HOLD_CONNECTIONS,
    heapBase: used(base),
    apiHolding: holding.api,
    apiReleased: released.api,
    rememberedPerConnection: holding.api
      ? holding.api.rememberedPushCount / Math.max(1, holding.api.connectionCount)
      : undefined,
  }
  say(
    `  memory: ${(figure.bytesPerConnection / 1024).toFixed(0)} kB heap+external per connection; ${JSON.stringify(holding.api)} while holding ${HOLD_CONNECTIONS}, ${JSON.stringify(released.api)} after closing`,
  )
  return figure
}

async function main() {
  if (argv['from-json']) {
    const saved = JSON.parse(fs.readFileSync(argv['from-json'], 'utf8'))
    if (saved.meta.scenario === 'restart') {
      const { files } = writeRestartReports({ meta: saved.meta, results: saved.runs, name: options.name })
      say(`re-rendered ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
      return
    }
    if (saved.meta.scenario === 'reload') {
      const { files } = writeReloadReports({ meta: saved.meta, results: saved.runs, name: options.name })
      say(`re-rendered ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
      return
    }
    const { files } = writeReports({
      meta: saved.meta,
      results: saved.runs,
      figures: saved.serverFigures,
      name: options.name,
      readme: argv.readme,
    })
    say(`re-rendered ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
    return
  }
  const started = Date.now()
  // the plugin as it is now (dist/ and a framework app's packed copy are made from it): a commit
  // made while the bench runs is not what it measured
  const git = (args) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' }).stdout?.trim()
  const measuredCommit = {
    commit: git(['rev-parse', '--short', 'HEAD']),
    srcChanged: Boolean(git(['status', '--porcelain', '--', 'src'])),
  }
  if (!fs.existsSync(path.join(REPO, 'dist/index.js')))
    fail('dist/ is missing: run `npm run build` (npm run bench does it)')
  const { chromiumPath, chromiumAvailable, CHROMIUM_ARGS } = await importSupport('chromium')
  if (!chromiumAvailable())
    fail(`Chromium not found at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`)
  if (options.scenarios.includes('reload') && options.browsers.includes('firefox') && !firefoxAvailable())
    fail(`Firefox not found at ${firefoxPath()} (apt-get install firefox-esr, or set FIREFOX_PATH)`)
  await ensureCertificate()
  const latencies = options.latencies.map(parseLatency)
  const latencyNote = latencies.some((l) => !l.tunnel && (l.rttMs > 0 || l.rateMbit > 0))
    ? tunlinkUnavailable()
    : undefined
  const cold = options.scenarios.includes('cold')
  const reload = options.scenarios.includes('reload')
  const restart = options.scenarios.includes('restart')
  say(
    `bench: ${options.scenarios.join(' + ')}; apps ${options.apps.join(', ')}; ${latencies.map((l) => l.label).join('; ')}; ${cold ? `cold: ${options.runs} warm runs + 1 cold` : ''}${cold && reload ? '; ' : ''}${reload ? `reload: ${options.reloadRuns} runs × (cold + ${options.reloads} reloads + edit) × ${options.reloadConfigs.join(',')} in ${options.browsers.join(', ')}` : ''}${restart ? `; restart: ${options.reloadRuns} runs × (start, cold, reloads, restart, reload) × ${options.restartConfigs.join(',')}` : ''}; logs in ${path.relative(REPO, LOGS)}`,
  )
  if (latencyNote) say(`bench: no tunlink (${latencyNote}); latency comes from a delaying TCP proxy (no bandwidth cap)`)

  const apps = []
  say('\nPreparing apps')
  for (const name of options.apps) {
    const app = await prepareApp(name, options)
    await prepare(app, { cold, chromium: { path: chromiumPath(), args: CHROMIUM_ARGS } })
    apps.push(app)
  }
  // a scaling app (generatedN) runs at loopback only
  const appsAt = (latency) => apps.filter((app) => !app.scaling || (latency.rttMs === 0 && !latency.rateMbit))

  const results = []
  const reloadResults = []
  const restartResults = []
  const figures = []
  const links = []
  let chromiumVersion
  let firefoxVersion
  for (const latency of latencies) {
    const link = latency.tunnel
      ? await startTunnel(latency.rttMs, path.join(LOGS, `link-${latency.key}.log`))
      : latency.rttMs === 0 && !latency.rateMbit
        ? loopback()
        : await startLink(latency.rttMs, path.join(LOGS, `link-${latency.key}.log`), latency.rateMbit)
    link.measured = []
    links.push({
      key: latency.key,
      rttMs: latency.rttMs,
      rateMbit: latency.rateMbit,
      mechanism: link.mechanism,
      script: link.script,
      reason: link.reason,
      measured: link.measured,
    })
    let browser
    let pushClient
    try {
      pushClient = await startPushClient(link, latency.key)
      if (cold) {
        browser = await Browser.launch({
          chromiumPath: chromiumPath(),
          chromiumArgs: CHROMIUM_ARGS,
          netns: link.clientNs,
          logFile: path.join(LOGS, `chromium-${latency.key}.log`),
        })
        chromiumVersion = browser.version
        await browser.load(
          'data:text/html,<script>globalThis.__appLoadedAt=performance.now();document.documentElement.dataset.loaded="true"</script>',
        )
        for (const app of appsAt(latency)) await runBlock({ app, link, latency, browser, pushClient, results, figures })
        await browser.close()
        browser = undefined
      }
      if (reload) {
        for (const app of appsAt(latency)) {
          if (options.quick && app !== apps[0]) continue
          await runReloadBlock({
            app,
            link,
            latency,
            options,
            say,
            startServer,
            waitUntilIdle,
            chromium: { path: chromiumPath(), args: CHROMIUM_ARGS },
            serverSpki: (url) => {
              const target = new URL(url)
              return pushClient.request('spki', { host: target.hostname, port: Number(target.port) })
            },
            logs: LOGS,
            results: reloadResults,
            firefoxVersion: (version) => {
              firefoxVersion = version
            },
            measureRtt: async (url) => {
              const target = new URL(url)
              const rtt = await pushClient.request('rtt', { host: target.hostname, port: Number(target.port) })
              link.measured.push(rtt.medianMs)
              return rtt.medianMs
            },
          })
        }
      }
      if (restart) {
        for (const app of appsAt(latency)) {
          if (options.quick && app !== apps[0]) continue
          await runRestartBlock({
            app,
            link,
            latency,
            options,
            say,
            startServer,
            baseCacheDir: (app, kind) => serverOptions(app, kind, link).cacheDir,
            waitUntilIdle,
            chromium: { path: chromiumPath(), args: CHROMIUM_ARGS },
            serverSpki: (url) => {
              const target = new URL(url)
              return pushClient.request('spki', { host: target.hostname, port: Number(target.port) })
            },
            logs: LOGS,
            results: restartResults,
          })
        }
      }
    } finally {
      await pushClient?.close()
      await browser?.close()
      await link.stop()
    }
  }

  for (const link of links) {
    link.measuredRttMs = link.measured.length
      ? Math.round(link.measured.sort((a, b) => a - b)[link.measured.length >> 1] * 10) / 10
      : undefined
    delete link.measured
  }
  const meta = {
    git: measuredCommit,
    date: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: {
      ...describeMachine(),
      chromium: chromiumVersion ?? chromiumVersionOf(chromiumPath()),
      ...(firefoxVersion ? { firefox: firefoxVersion, firefoxTrust: FIREFOX_TRUST } : {}),
      vite: JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules/vite/package.json'), 'utf8')).version,
    },
    options,
    latencies,
    apps: apps.map(({ name, label, depth, editFile, scaling }) => ({ name, label, depth, editFile, scaling })),
    columns: COLUMNS,
    reloadConfigs: RELOAD_CONFIGS.filter((c) => options.reloadConfigs.includes(c.id)),
    restartConfigs: RESTART_CONFIGS.filter((c) => options.restartConfigs.includes(c.id)),
    links,
    logs: path.relative(REPO, LOGS),
  }
  if (cold) {
    const { markdown, files } = writeReports({ meta, results, figures, name: options.name, readme: argv.readme })
    process.stdout.write(`\n${markdown}\n`)
    say(`wrote ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
  }
  if (reload) {
    const name = reloadName()
    const { markdown, files } = writeReloadReports({ meta, results: reloadResults, name })
    process.stdout.write(`\n${markdown}\n`)
    say(`wrote ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
  }
  if (restart) {
    const name = scenarioName('restart')
    const { markdown, files } = writeRestartReports({ meta, results: restartResults, name })
    process.stdout.write(`\n${markdown}\n`)
    say(`wrote ${files.map((f) => path.relative(REPO, f)).join(', ')}`)
    for (const skipped of restartResults.filter((r) => r.step === 'skipped'))
      say(`restart: ${skipped.config} skipped for ${skipped.app} @ ${skipped.latency}: ${skipped.note}`)
  }
  say(`whole run ${meta.durationS} s`)
  const failed = [...results, ...reloadResults, ...restartResults].filter((r) => !r.ok)
  if (failed.length > 0) {
    say(`\n${failed.length} load(s) FAILED:`)
    for (const r of failed)
      say(`  ${r.app} @ ${r.latency} ${r.column ?? r.config} run ${r.run}${r.step ? ` ${r.step}` : ''}: ${r.error}`)
    // bundledDev is an anchor: its failure is reported, not fatal
    if (failed.some((r) => r.config !== 'bundled')) process.exitCode = 1
  }
  if (cold) {
    const missing = COLUMNS.flatMap((c) =>
      latencies.flatMap((l) =>
        appsAt(l)
          .filter((a) => !results.some((r) => r.ok && r.column === c.id && r.app === a.name && r.latency === l.key))
          .map((a) => `${a.name} @ ${l.key} ${c.id}`),
      ),
    )
    if (missing.length > 0) {
      say(`configurations that never loaded: ${missing.join('; ')}`)
      process.exitCode = 1
    }
  }
}

/** The reload scenario's results file: reload (or quick-reload), or NAME-reload next to a cold NAME. */
function reloadName() {
  return scenarioName('reload')
}

/** A scenario's results file: SCENARIO (or quick-SCENARIO); with --name, NAME-SCENARIO next to another scenario's NAME. */
function scenarioName(scenario) {
  if (!argv.name) return options.quick ? `quick-${scenario}` : scenario
  return options.scenarios.length > 1 ? `${options.name}-${scenario}` : options.name
}

function chromiumVersionOf(file) {
  return spawnSync(file, ['--version'], { encoding: 'utf8' }).stdout?.trim()
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`)
  const logs = fs.existsSync(LOGS) ? fs.readdirSync(LOGS) : []
  for (const file of logs.slice(-3)) process.stderr.write(`--- ${file}\n${tail(path.join(LOGS, file))}\n`)
  process.exit(1)
})
