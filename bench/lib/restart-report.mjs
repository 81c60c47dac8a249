// The restart scenario's (issue 19) markdown table, goals, JSON and SVG chart.
import fs from 'node:fs'
import path from 'node:path'
import { BENCH } from './support.mjs'
import { latencyLabel } from './report.mjs'
import { max, median, min } from './stats.mjs'
import { escapeXml, gridLines, logScale, svgOpen } from './svg-chart.mjs'

const RESULTS = path.join(BENCH, 'results')

const ms = (v) =>
  v === undefined ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(0) : v.toFixed(1)
const times = (v) => (v === undefined || !Number.isFinite(v) ? '—' : v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`)
const count = (v) => (v === undefined ? '—' : Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1))
const megabytes = (b) => (b === undefined ? '—' : `${Math.round(b / 1024 / 1024)}`)
const range = (list) => {
  const lo = min(list)
  const hi = max(list)
  return lo === undefined || lo === hi ? '' : ` (${ms(lo)}–${ms(hi)})`
}

/** Per (app, latency, configuration): medians of every step, and the ratios the goals name. */
function summarizeRestarts(meta, results) {
  const rows = []
  for (const app of meta.apps) {
    for (const latency of meta.options.latencies.map(String)) {
      const block = []
      for (const config of meta.restartConfigs) {
        const mine = results.filter((r) => r.app === app.name && r.latency === latency && r.config === config.id)
        if (mine.length === 0) continue
        const skipped = mine.find((r) => r.step === 'skipped')
        if (skipped) {
          block.push({ app: app.name, latency, config: config.id, label: config.label, skipped: skipped.note })
          continue
        }
        const ok = (step) => mine.filter((r) => r.step === step && r.ok)
        const pick = (list, key) => median(list.map((r) => r[key]))
        const cold = ok('cold')
        const reloads = ok('reload')
        // reload 1 creates V8's code cache: the warm reload is reload 2 when there is one
        const warm = reloads.some((r) => r.index >= 2) ? reloads.filter((r) => r.index >= 2) : reloads
        const restart = ok('restart')
        block.push({
          app: app.name,
          latency,
          config: config.id,
          label: config.label,
          runs: cold.length,
          failed: mine.filter((r) => !r.ok).length,
          errors: [...new Set(mine.filter((r) => !r.ok).map((r) => r.error))],
          listenMs: pick(cold, 'startToListeningMs'),
          coldMs: pick(cold, 'ms'),
          coldAll: cold.map((r) => r.ms),
          startToLoadedMs: pick(cold, 'startToLoadedMs'),
          warmMs: pick(warm, 'ms'),
          restartListenMs: pick(restart, 'startToListeningMs'),
          restartMs: pick(restart, 'ms'),
          restartAll: restart.map((r) => r.ms),
          restartToLoadedMs: pick(restart, 'restartToLoadedMs'),
          restartToLoadedAll: restart.map((r) => r.restartToLoadedMs),
          fromCache: pick(restart, 'fromCache'),
          resources: pick(restart, 'resources'),
          restartRequests: pick(restart, 'serverRequests'),
          restartNotModified: pick(restart, 'serverNotModified'),
          restartServerCpuMs: pick(restart, 'serverCpuMs'),
          rssAfterWarmup: pick(restart, 'rssAfterWarmup'),
          rssAfterRestart: pick(restart, 'rssAfterRestart'),
          startupCpuMs: pick(restart, 'startupCpuMs'),
          certificateChanged: restart.some((r) => r.certificateChanged),
          bundleReloads: restart.filter((r) => r.documents > 1).length,
        })
      }
      const of = (id) => block.find((r) => r.config === id && !r.skipped)
      for (const row of block) {
        if (!row.skipped) {
          row.restartXFloor = row.restartMs / of('immutable')?.restartMs
          row.restartXViteH2 = row.restartMs / of('vite-h2')?.restartMs
          row.coldXViteH2 = row.coldMs / of('vite-h2')?.coldMs
          row.listenXNoRecord = row.listenMs / of('plugin-norecord')?.listenMs
          row.rssXNoRecord = row.rssAfterWarmup / of('plugin-norecord')?.rssAfterWarmup
        }
        rows.push(row)
      }
    }
  }
  return rows
}

/** Issue 19's goals, as far as this run measured them. */
function renderGoals(meta, rows) {
  const out = []
  const label = (name) => meta.apps.find((a) => a.name === name)?.label.replace(/ \(.*$/, '') ?? name
  const modulesOf = (name) => /\((\d+) modules/.exec(meta.apps.find((a) => a.name === name)?.label ?? '')?.[1]
  const plugin = rows.filter((r) => r.config === 'plugin' && !r.skipped)
  const noRecordSkipped = rows.some((r) => r.config === 'plugin-norecord' && r.skipped)
  const where = (r) =>
    `${label(r.app)}${modulesOf(r.app) ? ` ${Number(modulesOf(r.app)).toLocaleString('en-US')} modules` : ''} @ ${latencyLabel(r.latency)}`
  const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**')
  out.push('| goal (issue 19) | where | plugin | plugin without the record | |')
  out.push('|---|---|---:|---:|---|')
  const noRecord = (r) =>
    rows.find((x) => x.app === r.app && x.latency === r.latency && x.config === 'plugin-norecord' && !x.skipped)
  const generated = plugin.filter((r) => r.app.startsWith('generated'))
  for (const r of generated) {
    const n = noRecord(r)
    const met = Number.isFinite(r.restartXFloor) ? r.restartXFloor <= 1.3 : undefined
    out.push(
      `| reload after restart ≤ 1.3× the immutable floor's | ${where(r)} | ${ms(r.restartMs)} ms = ${times(r.restartXFloor)} | ${n ? `${ms(n.restartMs)} ms = ${times(n.restartXFloor)}` : '—'} | ${verdict(met)} |`,
    )
  }
  for (const r of plugin.filter((r) => r.latency === '0')) {
    const n = noRecord(r)
    const met = Number.isFinite(r.coldXViteH2) ? r.coldXViteH2 <= 1.0 : undefined
    out.push(
      `| cold load after start ≤ 1.0× plain Vite HTTP/2 (loopback) | ${where(r)} | ${ms(r.coldMs)} ms = ${times(r.coldXViteH2)} | ${n ? `${ms(n.coldMs)} ms = ${times(n.coldXViteH2)}` : '—'} | ${verdict(met)} |`,
    )
  }
  for (const r of plugin) {
    const n = noRecord(r)
    const big = Number(modulesOf(r.app)) >= 10_000
    if (!big && !n) continue
    const met = Number.isFinite(r.listenXNoRecord) ? Math.abs(r.listenXNoRecord - 1) <= 0.05 : undefined
    out.push(
      `| server start → listening unchanged (±5%)${big ? '' : ' (the goal is at 10,000 modules)'} | ${where(r)} | ${ms(r.listenMs)} ms${Number.isFinite(r.listenXNoRecord) ? ` = ${times(r.listenXNoRecord)}` : ''} | ${n ? `${ms(n.listenMs)} ms` : '—'} | ${big ? verdict(met) : 'for reference'} |`,
    )
  }
  for (const r of plugin) {
    const n = noRecord(r)
    const met = Number.isFinite(r.rssXNoRecord) ? r.rssXNoRecord <= 1.0 : undefined
    out.push(
      `| RSS after warm-up ≤ today's | ${where(r)} | ${megabytes(r.rssAfterWarmup)} MB${Number.isFinite(r.rssXNoRecord) ? ` = ${times(r.rssXNoRecord)}` : ''} | ${n ? `${megabytes(n.rssAfterWarmup)} MB` : '—'} | ${verdict(met)} |`,
    )
  }
  if (!plugin.some((r) => Number(modulesOf(r.app)) >= 10_000))
    out.push(
      '| server start → listening at 10,000 modules | not in this run (`--apps generated10000`) | | | not measured |',
    )
  if (noRecordSkipped)
    out.push(
      '',
      '"Plugin without the record" was skipped: the installed plugin rejects `restartRecord` (it has no restart record yet), so the plugin row is the plugin without a record. These are the "before" figures.',
    )
  return out.join('\n')
}

function renderMarkdown(meta, rows) {
  const out = []
  const m = meta.machine
  const date = meta.date.slice(0, 16).replace('T', ' ')
  const o = meta.options
  out.push(
    `Measured ${date} UTC on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Linux ${m.kernel}; Node ${m.node}, ${m.chromium ?? 'Chromium'}, Vite ${m.vite}. Plugin: commit ${meta.git?.commit ?? '?'}${meta.git?.srcChanged ? ' with uncommitted changes in src/' : ''}. ${o.reloadRuns} run(s) per configuration (a scaling app \`generatedN\`: 1), configurations alternating run by run, one server process alive at a time. Each run: a new Chromium with a new on-disk profile (certificate trusted by its SPKI hash), a new server with a fresh cacheDir (the primed optimizer cache copied in), the **cold load** as soon as it listens, ${o.quick ? 1 : 2} F5 reload(s), the server stopped once idle and started again on the same port, cacheDir and certificate, then an F5 as soon as it listens. Whole run ${Math.round(meta.durationS / 60)} min${o.quick ? ' (`--quick`)' : ''}.`,
  )
  out.push('')
  out.push(
    `Latency: ${meta.links.map((l) => `${latencyLabel(l.key ?? l.rttMs)}: ${l.mechanism === 'loopback' ? 'loopback' : l.mechanism === 'tunlink' ? `tunlink.py delay link${l.rateMbit ? ` capped at ${l.rateMbit} Mbit/s per direction` : ''}` : `delaying TCP proxy (${l.reason})`}${l.measuredRttMs !== undefined ? `, measured TCP connect RTT ${l.measuredRttMs} ms` : ''}`).join('; ')}.`,
  )
  out.push('')
  out.push(
    "Medians, ms (min–max over the runs where there are several). **Start → listening**: spawning the server process to its `listening` message (Node start, Vite, the plugins). **Cold load**: navigation → `__appLoadedAt` of the first load, sent the moment the server listened (the server's warm-up runs alongside). **Warm reload**: reload 2 (reload 1 creates V8's code cache). **Reload after restart**: navigation → `__appLoadedAt` of the F5 sent the moment the new server listened; **× floor** / **× Vite h2**: ÷ the immutable floor's / Vite HTTP/2's. **Restart → page loaded**: spawning the new server to `__appLoadedAt`. **From cache**: Resource Timing entries with `transferSize` 0 / all. **Requests (304)**: what reached the new server for that reload. **Server CPU**: the new process, from its start to 1 s after the page loaded. **RSS**: the server process after a GC, once idle after the reloads (warm-up done) and once idle after the reload after restart.",
  )
  out.push('')
  out.push('#### Goals')
  out.push('')
  out.push(renderGoals(meta, rows))
  for (const app of meta.apps) {
    const appRows = rows.filter((r) => r.app === app.name)
    if (appRows.length === 0) continue
    out.push('')
    out.push(`#### ${app.label}`)
    out.push('')
    out.push(
      '| RTT | configuration | start → listening | cold load | cold × Vite h2 | warm reload | reload after restart | × floor | × Vite h2 | restart → page loaded | from cache after restart | requests after restart (304) | server CPU after restart | RSS after warm-up, MB | RSS after restart, MB |',
    )
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of appRows) {
      if (r.skipped) {
        out.push(`| ${latencyLabel(r.latency)} | ${r.label} | skipped: ${r.skipped} | | | | | | | | | | | | |`)
        continue
      }
      const failed = r.failed ? ` (${r.failed} failed: ${r.errors.join('; ').slice(0, 80)})` : ''
      const bundle = r.config === 'bundled'
      out.push(
        `| ${latencyLabel(r.latency)} | ${r.label}${failed} | ${ms(r.listenMs)} | ${ms(r.coldMs)}${range(r.coldAll)} | ${times(r.coldXViteH2)} | ${ms(r.warmMs)} | **${ms(r.restartMs)}**${range(r.restartAll)} | ${times(r.restartXFloor)} | ${times(r.restartXViteH2)} | **${ms(r.restartToLoadedMs)}**${range(r.restartToLoadedAll)} | ${count(r.fromCache)} / ${count(r.resources)}${bundle ? ' (bundle)' : ''} | ${count(r.restartRequests)} (${count(r.restartNotModified)}) | ${ms(r.restartServerCpuMs)} | ${megabytes(r.rssAfterWarmup)} | ${megabytes(r.rssAfterRestart)} |`,
      )
    }
    const changed = appRows.filter((r) => r.certificateChanged)
    if (changed.length)
      out.push('', `The certificate changed across the restart for ${changed.map((r) => r.config).join(', ')}.`)
  }
  return out.join('\n')
}

const METRICS = [
  { key: 'coldMs', label: 'cold load after start', color: '#9aa5b1' },
  { key: 'warmMs', label: 'warm reload', color: '#52606d' },
  { key: 'restartMs', label: 'reload after restart', color: '#e8590c' },
  { key: 'restartToLoadedMs', label: 'restart → page loaded', color: '#1c7ed6' },
]

/** A panel per (app, latency), a group per configuration, a bar per metric; log scale. */
function renderSvg(meta, rows) {
  const panels = []
  for (const app of meta.apps)
    for (const latency of meta.options.latencies.map(String)) {
      const configs = rows.filter((r) => r.app === app.name && r.latency === latency && !r.skipped)
      if (configs.length) panels.push({ app, latency, configs })
    }
  const barW = 12
  const groupW = METRICS.length * (barW + 1)
  const groupGap = 16
  const left = 56
  const top = 76
  const panelH = 240
  const panelGap = 34
  const panelWidth = (p) => p.configs.length * (groupW + groupGap) + 10
  const width = Math.max(720, left + panels.reduce((sum, p) => sum + panelWidth(p) + panelGap, 0))
  const height = top + panelH + 78
  const values = rows.flatMap((r) => METRICS.map((mm) => r[mm.key])).filter((v) => v > 0)
  const { lo, hi, y } = logScale(values.length ? values : [10], top, panelH)
  const s = []
  s.push(svgOpen(width, height))
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  s.push(
    `<text x="${left}" y="20" font-size="14" font-weight="600">A vite restart under an open page (real Chromium profile): median ms (log scale)</text>`,
  )
  s.push(
    `<text x="${left}" y="37" fill="#52606d">${escapeXml(`${meta.date.slice(0, 10)} · ${meta.machine.cpu} (${meta.machine.cores} cores) · ${meta.machine.chromium ?? ''} · ${meta.options.reloadRuns} runs`)}</text>`,
  )
  for (const [i, metric] of METRICS.entries()) {
    const lx = left + i * 170
    s.push(`<rect x="${lx}" y="50" width="11" height="11" fill="${metric.color}"/>`)
    s.push(`<text x="${lx + 15}" y="59.5">${escapeXml(metric.label)}</text>`)
  }
  let px = left
  for (const [p, panel] of panels.entries()) {
    const w = panelWidth(panel)
    s.push(
      `<text x="${px}" y="${top + panelH + 52}" font-weight="600">${escapeXml(`${panel.app.label.replace(/ \(.*$/, '')}${/\((\d+) modules/.exec(panel.app.label) ? ` ${/\((\d+) modules/.exec(panel.app.label)[1]}` : ''} @ ${latencyLabel(panel.latency)}`)}</text>`,
    )
    gridLines(s, { lo, hi, y }, px, px + w - 10, p === 0)
    for (const [g, row] of panel.configs.entries()) {
      const gx = px + 8 + g * (groupW + groupGap)
      s.push(
        `<text x="${gx + groupW / 2}" y="${top + panelH + 14}" text-anchor="middle" fill="#323f4b" font-size="9">${escapeXml(row.config)}</text>`,
      )
      for (const [i, metric] of METRICS.entries()) {
        const value = row[metric.key]
        const bx = gx + i * (barW + 1)
        if (!(value > 0)) continue
        const yy = y(value)
        s.push(
          `<rect x="${bx}" y="${yy.toFixed(1)}" width="${barW}" height="${(top + panelH - yy).toFixed(1)}" fill="${metric.color}"><title>${escapeXml(`${row.app} @ ${latencyLabel(row.latency)}, ${row.label}: ${metric.label} ${Math.round(value)} ms`)}</title></rect>`,
        )
        const text = value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}`
        s.push(
          `<text transform="translate(${bx + barW / 2 + 3},${(yy - 3).toFixed(1)}) rotate(-90)" font-size="8" fill="#323f4b">${text}</text>`,
        )
      }
    }
    s.push(`<line x1="${px}" x2="${px + w - 10}" y1="${top + panelH}" y2="${top + panelH}" stroke="#323f4b"/>`)
    px += w + panelGap
  }
  s.push('</svg>')
  return s.join('\n')
}

export function writeRestartReports({ meta, results, name }) {
  fs.mkdirSync(RESULTS, { recursive: true })
  const base = path.join(RESULTS, name)
  const rows = summarizeRestarts(meta, results)
  const table = renderMarkdown(meta, rows)
  const svgName = `${path.basename(base)}.svg`
  fs.writeFileSync(
    `${base}.md`,
    `### Restart benchmark results (issue 19)\n\n${table}\n\n![median times around a restart](${svgName})\n`,
  )
  fs.writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ meta: { ...meta, scenario: 'restart' }, summary: rows, runs: results }, null, 1)}\n`,
  )
  fs.writeFileSync(`${base}.svg`, `${renderSvg(meta, rows)}\n`)
  return { markdown: table, files: [`${base}.md`, `${base}.json`, `${base}.svg`], rows }
}
