// The reload scenario (issue 9): Chromium with a real on-disk profile per configuration run (HTTP
// cache and V8 code cache work; the certificate trusted by its key), and with `--browsers` Firefox
// too (a new profile per run, a certificate exception: firefox.mjs), one cold load, then F5
// reloads (CDP Page.reload), then "edit one leaf module, then reload". Per step: the load time,
// modules served from the browser cache (Resource Timing transferSize 0), requests that reached
// the server and bytes it wrote (counted by serve.mjs), browser and server CPU.
import fs from 'node:fs'
import path from 'node:path'
import { Browser } from './chromium.mjs'
import { Firefox } from './firefox.mjs'

/** The reload scenario's configurations. Every one has its own server process. */
export const RELOAD_CONFIGS = [
  { id: 'vite-h1', server: 'vite-h1', label: 'Vite dev, HTTP/1.1' },
  { id: 'vite-h2', server: 'vite-h2', label: 'Vite dev, HTTP/2' },
  { id: 'plugin', server: 'plugin', label: 'plugin (import map, its default)' },
  { id: 'plugin-nomap', server: 'plugin-nomap', label: 'plugin, `importMap: false` (as before the import map)' },
  {
    id: 'plugin-raw',
    server: 'plugin-raw',
    label: "plugin, `compression: 'off'`, `sourceMaps: 'inline'` (Vite's bytes: as before issue 14)",
  },
  {
    id: 'plugin-always',
    server: 'plugin-always',
    label: "plugin, `compression: 'always'` (compresses on loopback too)",
  },
  { id: 'bundled', server: 'vite-bundled', label: 'Vite `experimental.bundledDev` (HTTP/2; an anchor)' },
  {
    id: 'immutable',
    server: 'vite-h2-immutable',
    label: 'floor: Vite HTTP/2, every module `immutable` (correct only without edits)',
  },
]

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const fmt = (ms) => (ms === undefined ? '—' : `${Math.round(ms)} ms`)
const kb = (bytes) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024)} kB`)

/**
 * One app at one latency: starts every configuration's server, then alternates the
 * configurations run by run. Each (configuration, run) gets a new browser with a new profile.
 *
 * ctx: { app, link, latency, options (options.browsers: chromium and/or firefox), say, startServer, waitUntilIdle,
 *   chromium: { path, args }, serverSpki, logs, results, firefoxVersion(version) }
 */
export async function runReloadBlock(ctx) {
  const { app, link, latency, options, say, results } = ctx
  // a scaling app (generatedN) gets one run of Vite h2, the plugin and the floor: it shows how the
  // HTML (import map) and the reload scale, not every configuration again
  // (bundledDev does not support SSR: no `bundled` for a framework app)
  const wanted = app.scaling
    ? ['vite-h2', 'plugin', 'immutable']
    : options.reloadConfigs.filter((id) => !(app.framework && id === 'bundled'))
  const configs = RELOAD_CONFIGS.filter(
    (config) => wanted.includes(config.id) && options.reloadConfigs.includes(config.id),
  )
  const runs = app.scaling ? 1 : options.reloadRuns
  say(`\n${app.label} @ ${latency.label} (${link.mechanism}): reloads in a real profile`)
  const servers = new Map()
  const editFile = path.join(app.root, app.editFile)
  const original = fs.readFileSync(editFile, 'utf8')
  try {
    await Promise.all(
      configs.map(async (config) => {
        try {
          const server = await ctx.startServer(app, config.server, link, `${latency.key}-reload-${config.id}`)
          servers.set(config.id, { server, origin: await link.wrap(server.info.url) })
        } catch (error) {
          say(`  ${config.id}: server did not start: ${error.message.split('\n')[0]}`)
          results.push({
            app: app.name,
            latency: latency.key,
            rttMs: latency.rttMs,
            config: config.id,
            run: 0,
            step: 'cold',
            ok: false,
            error: `server did not start: ${error.message.split('\n')[0]}`,
          })
        }
      }),
    )
    await ctx.waitUntilIdle(servers)
    const probe = servers.get('vite-h2') ?? [...servers.values()][0]
    if (probe) say(`  TCP connect round trip: ${(await ctx.measureRtt(probe.origin)).toFixed(1)} ms`)
    // Firefox runs in the bench's own network namespace only (its BiDi socket is on 127.0.0.1)
    const browsers = (options.browsers ?? ['chromium']).filter((name) => {
      if (name !== 'firefox' || !link.clientNs) return true
      say(`  firefox: skipped at ${latency.label} (the link puts the browser in a network namespace)`)
      return false
    })
    for (let run = 0; run < runs; run++) {
      for (const browserName of browsers) {
        for (const config of configs) {
          const entry = servers.get(config.id)
          if (!entry) continue
          const records = await oneRun({ ...ctx, config, entry, run, editFile, original, browserName })
          results.push(...records)
          // the edit and its restore reach every server (and bundledDev rebuilds): let them settle
          await ctx.waitUntilIdle(servers, { quiet: true, intervalMs: 500 })
        }
      }
    }
  } finally {
    fs.writeFileSync(editFile, original)
    await Promise.all([...servers.values()].map(({ server }) => server.close()))
  }
}

async function oneRun({
  app,
  latency,
  options,
  say,
  config,
  entry,
  run,
  editFile,
  original,
  link,
  chromium,
  serverSpki,
  logs,
  browserName = 'chromium',
  firefoxVersion,
}) {
  const { server, origin } = entry
  const url = `${origin}${app.page}`
  const records = []
  const base = {
    app: app.name,
    latency: latency.key,
    rttMs: latency.rttMs,
    config: config.id,
    run,
    browser: browserName,
  }
  const logFile = path.join(logs, `${browserName}-reload-${app.name}-${latency.key}-${config.id}.log`)
  let browser
  try {
    browser =
      browserName === 'firefox'
        ? await Firefox.launch({ logFile })
        : await Browser.launch({
            chromiumPath: chromium.path,
            chromiumArgs: chromium.args,
            netns: link.clientNs,
            // the certificate this server presents now, trusted by its key
            spkiHash: await serverSpki(origin),
            logFile,
          })
    if (browserName === 'firefox') firefoxVersion?.(browser.version)
    const tab = await browser.openProfileTab()
    const step = async (name, index, action) => {
      const before = await server.request('stats')
      const startedAt = new Date().toISOString().slice(11, 23)
      const result = await action().catch((error) => ({ ok: false, error: error.message }))
      await sleep(options.pauseMs)
      const after = await server.request('stats')
      const record = {
        ...base,
        step: name,
        index,
        startedAt,
        ...result,
        serverCpuMs: after.cpuMs - before.cpuMs,
        serverRequests: after.traffic.requests - before.traffic.requests,
        serverDocuments: after.traffic.documents - before.traffic.documents,
        serverNotModified: after.traffic.notModified - before.traffic.notModified,
        serverUrls: name === 'edit' ? after.traffic.urls : undefined,
        bytes: after.traffic.bytesWritten - before.traffic.bytesWritten,
        bytesRead: after.traffic.bytesRead - before.traffic.bytesRead,
        pluginLog: pluginLine(after.logs),
      }
      records.push(record)
      say(
        `  run ${run + 1} ${browserName === 'chromium' ? '' : `${browserName} `}${config.id.padEnd(9)} ${`${name}${name === 'reload' ? ` ${index}` : ''}`.padEnd(8)} ${record.ok ? fmt(record.ms).padStart(8) : `FAILED: ${record.error}`}  from cache ${record.fromCache ?? '?'}/${record.resources ?? '?'}, server: ${record.serverRequests} requests (${record.serverNotModified} × 304), ${kb(record.bytes)}; CPU browser ${fmt(record.browserCpuMs)}, server ${fmt(record.serverCpuMs)}${name === 'edit' ? `; edit ${record.editShown ? 'shown' : 'NOT shown'}${record.fellBack ? ' (F5: the server did not reload the page)' : ''}` : ''}${record.pluginLog ? `  | ${record.pluginLog.line.replace(/^.*\] /, '')}` : ''}`,
      )
      return record
    }
    const timeoutMs = Math.min(options.loadTimeoutMs, options.quick ? 30_000 : 90_000)
    await step('cold', 0, () => tab.navigate(url, { timeoutMs }))
    for (let i = 1; i <= options.reloads; i++) await step('reload', i, () => tab.reload({ timeoutMs }))
    // edit the leaf: Vite (nothing accepts the update) makes the page reload itself; if no new
    // document starts within 4 s, an F5 does it
    const tag = `edit-${latency.key}-${config.id}-${run}`
    const edit = await step('edit', 1, async () => {
      const result = await tab.timed(
        () => fs.promises.writeFile(editFile, `${original}\nglobalThis.__benchEdit = ${JSON.stringify(tag)}\n`),
        {
          timeoutMs,
          fallback: () => tab.f5(),
          fallbackAfterMs: 4000,
        },
      )
      return { ...result, editShown: result.edit === tag }
    })
    edit.tag = tag
  } catch (error) {
    records.push({ ...base, step: 'cold', ok: false, error: error.message })
    say(`  run ${run + 1} ${browserName} ${config.id} FAILED: ${error.message}`)
  } finally {
    await browser?.close()
    fs.writeFileSync(editFile, original)
  }
  return records
}

/** The plugin's per-page log line, parsed (the last one since the previous stats call). */
function pluginLine(lines) {
  const line = [...lines].reverse().find((l) => l.includes('[vite-plugin-http2-push]') && /, \d+ ms\s*$/.test(l))
  if (!line) return undefined
  const map = /import map of (\d+)/.exec(line)
  return {
    line: line.trim(),
    ms: Number(/, (\d+) ms\s*$/.exec(line)[1]),
    importMapEntries: map ? Number(map[1]) : undefined,
  }
}
