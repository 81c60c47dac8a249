// The restart scenario (issue 19): what a developer sees when `vite` restarts under an open page.
// Per (configuration, run): a new Chromium with a new on-disk profile (certificate trusted by its
// key), a new server process with a fresh cacheDir (only the primed dependency-optimizer cache,
// `deps/`, is copied in: no restart record from an earlier run), the cold load as soon as the
// server listens, F5 reloads, then the server is stopped (gracefully, once idle, as Ctrl+C would)
// and started again on the same port with the same cacheDir and certificate, and the page is
// reloaded (F5) as soon as the new server listens. Only one server process is alive at a time.
import fs from 'node:fs'
import path from 'node:path'
import { Browser } from './chromium.mjs'

/** The restart scenario's configurations, in the order they alternate. */
export const RESTART_CONFIGS = [
  { id: 'vite-h2', server: 'vite-h2', label: 'Vite dev, HTTP/2' },
  { id: 'plugin', server: 'plugin', label: 'plugin (defaults)' },
  { id: 'plugin-norecord', server: 'plugin-norecord', label: 'plugin, `restartRecord: false` (no restart record)' },
  { id: 'immutable', server: 'vite-h2-immutable', label: 'floor: Vite HTTP/2, every module `immutable`' },
  { id: 'bundled', server: 'vite-bundled', label: 'Vite `bundledDev` (an anchor)' },
]

/** Server kinds the installed plugin rejected (kind → its message): probed once per bench run. */
const unsupported = new Map()

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (ms) => (ms === undefined ? '—' : `${Math.round(ms)} ms`)
const mb = (bytes) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024 / 1024)} MB`)

/**
 * One app at one latency. ctx: { app, link, latency, options, say, startServer(app, kind, link,
 * tag, overrides), baseCacheDir(app, kind), waitUntilIdle, chromium, serverSpki, measureRtt, logs,
 * results }.
 */
export async function runRestartBlock(ctx) {
  const { app, link, latency, options, say, results } = ctx
  // a scaling app (generatedN): one run, no plain Vite HTTP/2 (at 5,000 modules its F5 reloads
  // take 16 s or never finish; issue 9's run); bundledDev has no SSR (no framework app)
  const wanted = options.restartConfigs.filter(
    (id) => !(app.scaling && id === 'vite-h2') && !(app.framework && id === 'bundled'),
  )
  const runs = app.scaling ? 1 : options.reloadRuns
  say(`\n${app.label} @ ${latency.label} (${link.mechanism}): restarts under an open page`)
  const configs = []
  const spkis = new Map()
  // each configuration's server once: it starts at all, the plugin knows its options, and the
  // certificate it presents (the browser is launched before the timed server start)
  for (const config of RESTART_CONFIGS.filter((c) => wanted.includes(c.id))) {
    const base = { app: app.name, latency: latency.key, rttMs: latency.rttMs, config: config.id, run: 0 }
    if (unsupported.has(config.server)) {
      results.push({ ...base, step: 'skipped', ok: true, note: unsupported.get(config.server) })
      continue
    }
    let server
    try {
      server = await ctx.startServer(app, config.server, link, `${latency.key}-restart-probe-${config.id}`, {
        cacheDir: runCacheDir(ctx, app, config),
      })
      if (server.info.unsupported) {
        unsupported.set(config.server, server.info.unsupported)
        say(`  ${config.id}: skipped, the installed plugin rejects it (${server.info.unsupported})`)
        results.push({ ...base, step: 'skipped', ok: true, note: server.info.unsupported })
        continue
      }
      spkis.set(config.id, await ctx.serverSpki(server.info.url))
      configs.push(config)
    } catch (error) {
      say(`  ${config.id}: server did not start: ${error.message.split('\n')[0]}`)
      results.push({ ...base, step: 'cold', ok: false, error: `server did not start: ${error.message.split('\n')[0]}` })
    } finally {
      await server?.close()
    }
  }
  for (let run = 0; run < runs; run++) {
    for (const config of configs) {
      results.push(...(await oneRun({ ...ctx, config, run, spkiHash: spkis.get(config.id) })))
    }
  }
}

/** The configuration's cacheDir for this block: emptied, then the primed optimizer cache copied in. */
function runCacheDir(ctx, app, config) {
  const base = ctx.baseCacheDir(app, config.server)
  // a sibling of the primed one: Vite's deps/_metadata.json names sources relative to it
  const dir = path.join(path.dirname(base), `restart-${config.id}`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  if (fs.existsSync(path.join(base, 'deps')))
    fs.cpSync(path.join(base, 'deps'), path.join(dir, 'deps'), { recursive: true })
  return dir
}

async function oneRun(ctx) {
  const { app, link, latency, options, say, config, run, chromium, logs } = ctx
  const base = { app: app.name, latency: latency.key, rttMs: latency.rttMs, config: config.id, run }
  const records = []
  const timeoutMs = Math.min(options.loadTimeoutMs, options.quick ? 30_000 : 120_000)
  const cacheDir = runCacheDir(ctx, app, config)
  let browser
  let server
  try {
    browser = await Browser.launch({
      chromiumPath: chromium.path,
      chromiumArgs: chromium.args,
      netns: link.clientNs,
      spkiHash: ctx.spkiHash,
      logFile: path.join(logs, `chromium-restart-${app.name}-${latency.key}-${config.id}.log`),
    })
    const tab = await browser.openProfileTab()
    // a developer's browser is already running: let its start-up settle before the timed server start
    await sleep(options.pauseMs)

    // start, and load the page as soon as the server listens
    const first = await startTimed(ctx, `${latency.key}-restart-${config.id}-${run + 1}a`, { cacheDir })
    server = first.server
    const origin = await link.wrap(server.info.url)
    const url = `${origin}${app.page}`
    const port = Number(new URL(server.info.url).port)
    // the cold load is the new server's first: its counters (CPU from process start) are its own
    const step = (name, index, action, extra) =>
      timedStep({
        say,
        options,
        base,
        server,
        records,
        config,
        run,
        name,
        index,
        action,
        extra,
        fresh: name === 'cold',
      })
    await step(
      'cold',
      0,
      () => tab.navigate(url, { timeoutMs }),
      (r) => ({
        startToListeningMs: first.listeningMs,
        listeningInProcessMs: server.info.listeningMs,
        startToLoadedMs: r.loadedAtEpochMs - first.spawnedAt,
      }),
    )
    // the warm reloads time the browser cache against a settled server (the cold load is the one
    // that meets the start-up warm-up), as in the reload scenario
    await ctx.waitUntilIdle(new Map([[config.id, { server }]]), { quiet: true, intervalMs: 500 })
    const reloads = options.quick ? 1 : 2
    for (let i = 1; i <= reloads; i++) await step('reload', i, () => tab.reload({ timeoutMs }))
    // the server as a developer leaves it: idle (its warm-up done, a record written) before the stop
    await ctx.waitUntilIdle(new Map([[config.id, { server }]]), { quiet: true, intervalMs: 500 })
    const warm = await server.request('stats', { gc: true })
    const stopStarted = Date.now()
    await server.close()
    server = undefined
    const stopMs = Date.now() - stopStarted

    // start again (same port, cacheDir, certificate) and F5 as soon as it listens
    const second = await startTimed(ctx, `${latency.key}-restart-${config.id}-${run + 1}b`, { cacheDir, port })
    server = second.server
    const restart = await timedStep({
      say,
      options,
      base,
      server,
      records,
      config,
      run,
      name: 'restart',
      index: 1,
      fresh: true,
      action: () => tab.reload({ timeoutMs }),
      extra: (r) => ({
        startToListeningMs: second.listeningMs,
        listeningInProcessMs: server.info.listeningMs,
        restartToLoadedMs: r.loadedAtEpochMs - second.spawnedAt,
        stopMs,
        rssAfterWarmup: warm.memory.rss,
        heapAfterWarmup: warm.memory.heapUsed + warm.memory.external,
        startupCpuMs: warm.cpuMs,
      }),
    })
    if (process.env.BENCH_TIMELINE) say(`  timeline ${config.id}: ${JSON.stringify(await tab.evaluate(TIMELINE))}`)
    await ctx.waitUntilIdle(new Map([[config.id, { server }]]), { quiet: true, intervalMs: 500 })
    const after = await server.request('stats', { gc: true })
    restart.rssAfterRestart = after.memory.rss
    restart.cpuToIdleAfterRestartMs = after.cpuMs
    const spki = await ctx.serverSpki(server.info.url).catch(() => undefined)
    if (spki !== ctx.spkiHash) restart.certificateChanged = true
    say(
      `  run ${run + 1} ${config.id.padEnd(15)} restart: listening after ${fmt(second.listeningMs)}, page loaded ${fmt(restart.restartToLoadedMs)} after the start; RSS ${mb(warm.memory.rss)} after warm-up, ${mb(after.memory.rss)} after the restart's reload${restart.certificateChanged ? '; CERTIFICATE CHANGED across the restart' : ''}`,
    )
  } catch (error) {
    records.push({ ...base, step: records.length ? 'restart' : 'cold', ok: false, error: error.message })
    say(`  run ${run + 1} ${config.id} FAILED: ${error.message.split('\n')[0]}`)
  } finally {
    await server?.close()
    await browser?.close()
  }
  return records
}

/** Spawns the server; resolves with it, the spawn time and spawn → listening (ready) in ms. */
async function startTimed(ctx, tag, overrides) {
  const spawnedAt = Date.now()
  const server = await ctx.startServer(ctx.app, ctx.config.server, ctx.link, tag, overrides)
  if (server.info.unsupported) throw new Error(server.info.unsupported)
  return { server, spawnedAt, listeningMs: Date.now() - spawnedAt }
}

/**
 * Runs one timed load and records it. `fresh`: the server process just started, so its counters
 * start at zero (no stats call before the load: the F5 goes out the moment the server listens).
 */
async function timedStep({ say, options, base, server, records, config, run, name, index, action, extra, fresh }) {
  const zero = { cpuMs: 0, traffic: { requests: 0, documents: 0, notModified: 0, bytesWritten: 0, bytesRead: 0 } }
  const before = fresh ? zero : await server.request('stats')
  const result = await action().catch((error) => ({ ok: false, error: error.message }))
  await sleep(options.pauseMs)
  const after = await server.request('stats')
  const record = {
    ...base,
    step: name,
    index,
    ...result,
    ...(result.ok && extra ? extra(result) : {}),
    serverCpuMs: after.cpuMs - before.cpuMs,
    serverRequests: after.traffic.requests - before.traffic.requests,
    serverDocuments: after.traffic.documents - before.traffic.documents,
    serverNotModified: after.traffic.notModified - before.traffic.notModified,
    bytes: after.traffic.bytesWritten - before.traffic.bytesWritten,
  }
  records.push(record)
  say(
    `  run ${run + 1} ${config.id.padEnd(15)} ${`${name}${name === 'reload' ? ` ${index}` : ''}`.padEnd(8)} ${record.ok ? fmt(record.ms).padStart(8) : `FAILED: ${record.error}`}  from cache ${record.fromCache ?? '?'}/${record.resources ?? '?'}, server: ${record.serverRequests} requests (${record.serverNotModified} × 304), CPU ${fmt(record.serverCpuMs)}${record.startToLoadedMs !== undefined ? `; start → loaded ${fmt(record.startToLoadedMs)}` : ''}`,
  )
  return record
}

/** Where the reload's time went (BENCH_TIMELINE=1): the document's timing, and each request that was not from the cache. */
const TIMELINE = `(() => {
  const nav = performance.getEntriesByType('navigation')[0]
  const r = (x) => Math.round(x)
  const resources = performance.getEntriesByType('resource')
  const ends = resources.map((e) => e.responseEnd).sort((a, b) => a - b)
  return {
    html: { requestStart: r(nav.requestStart), responseStart: r(nav.responseStart), responseEnd: r(nav.responseEnd), domInteractive: r(nav.domInteractive) },
    fetched: resources.filter((e) => e.transferSize > 0).map((e) => [e.name.replace(location.origin, ''), r(e.startTime), r(e.responseStart), r(e.responseEnd)]),
    resourceEnd: { first: r(ends[0]), median: r(ends[ends.length >> 1]), last: r(ends[ends.length - 1]) },
    loadedAt: r(globalThis.__appLoadedAt),
  }
})()`
