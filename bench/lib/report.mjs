// Turns the raw runs into the markdown table, the JSON and the SVG chart (hand-rolled).
import fs from 'node:fs'
import path from 'node:path'
import { BENCH, REPO } from './support.mjs'
import { max, median, min } from './stats.mjs'
import { escapeXml, gridLines, logScale, svgOpen } from './svg-chart.mjs'

const RESULTS = path.join(BENCH, 'results')
const README_START = '<!-- bench:results:start -->'
const README_END = '<!-- bench:results:end -->'

const ms = (v) => (v === undefined ? '—' : v >= 100 ? `${Math.round(v)}` : v >= 10 ? v.toFixed(0) : v.toFixed(1))
const ratio = (v) => (v === undefined || !Number.isFinite(v) ? '—' : v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`)
const count = (v) => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1))
/** A latency key ('0', '100', '100@20') of a record, and its label. Older results have only rttMs. */
const keyOf = (r) => r.latency ?? String(r.rttMs)
export function latencyLabel(key) {
  const [rtt, rate] = String(key).split('@')
  if (rtt.startsWith('tunnel')) return `${rtt.slice('tunnel'.length)} ms tunnel`
  return `${rtt} ms${rate ? `, ${rate} Mbit/s` : ''}`
}
const mb = (bytes) => (bytes === undefined ? '—' : `${(bytes / 1024 / 1024).toFixed(1)} MB`)

/** Medians and ranges per (app, RTT, column). */
function summarize(meta, results) {
  const rows = []
  for (const app of meta.apps) {
    for (const latency of meta.options.latencies.map(String)) {
      const block = meta.columns.map((column) => {
        const mine = results.filter((r) => r.app === app.name && keyOf(r) === latency && r.column === column.id)
        const warm = mine.filter((r) => !r.cold && r.ok)
        const cold = mine.find((r) => r.cold)
        const pick = (key) => warm.map((r) => r[key])
        return {
          app: app.name,
          rttMs: latency,
          column: column.id,
          client: column.client,
          config: column.config,
          label: column.label,
          runs: warm.length,
          failed: mine.filter((r) => !r.ok).length,
          reloaded: mine.filter((r) => r.reloads > 0).length,
          errors: [...new Set(mine.filter((r) => !r.ok).map((r) => r.error))],
          coldMs: cold?.ok ? cold.ms : undefined,
          medianMs: median(pick('ms')),
          minMs: min(pick('ms')),
          maxMs: max(pick('ms')),
          serverCpuMs: median(pick('serverCpuMs')),
          bytes: median(pick('bytes')),
          coldBytes: cold?.bytes,
          clientCpuMs: median(warm.map((r) => r.browserCpuMs ?? r.clientCpuMs)),
          requests: median(pick(column.client === 'chromium' ? 'resources' : 'requested')),
          pushed: median(pick('fromPush')),
          waves: median(pick('waves')),
          protocol: warm[0]?.documentProtocol,
          pluginMs: median(warm.map((r) => r.pluginLog?.ms)),
          pluginColdMs: cold?.pluginLog?.ms,
          pushedCount: median(warm.map((r) => r.pluginLog?.pushed)),
          pushBytes: median(warm.map((r) => r.pluginLog?.pushBytes)),
          preloadLinks: median(warm.map((r) => r.pluginLog?.preloadLinks)),
          closureSize: median(mine.map((r) => r.closureSize)),
        }
      })
      if (block.every((row) => row.runs === 0 && row.coldMs === undefined)) continue
      for (const row of block) {
        const floor = block.find((r) => r.client === row.client && r.config === 6)
        const viteH2 = block.find((r) => r.client === row.client && r.config === 2)
        row.xFloor = row.medianMs / floor?.medianMs
        row.xViteH2 = row.medianMs / viteH2?.medianMs
        rows.push(row)
      }
    }
  }
  return rows
}

function machineLine(meta) {
  const m = meta.machine
  return `${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Linux ${m.kernel}; Node ${m.node}, ${m.chromium ?? 'Chromium'}, Vite ${m.vite}`
}

function latencyLine(meta) {
  const parts = meta.links.map((link) => {
    if (link.mechanism === 'loopback')
      return `0 ms: loopback, no delay link (connect RTT ${link.measuredRttMs ?? '?'} ms)`
    if (link.mechanism === 'tunlink')
      return `${latencyLabel(link.key ?? link.rttMs)}: tunlink.py delay link between network namespaces (\`${link.script}\`, measured TCP connect RTT ${link.measuredRttMs ?? '?'} ms)`
    return `${latencyLabel(link.key ?? link.rttMs)}: delaying TCP proxy (fallback: ${link.reason}; connect RTT ${link.measuredRttMs ?? '?'} ms)`
  })
  return parts.join('; ')
}

function renderMarkdown(meta, rows, figures, results) {
  const out = []
  const date = meta.date.slice(0, 16).replace('T', ' ')
  out.push(
    `Measured ${date} UTC on ${machineLine(meta)}. ${meta.options.runs} warm runs per configuration after one cold-server load, configurations alternating run by run; whole run ${Math.round(meta.durationS / 60)} min${meta.options.quick ? ' (`--quick`)' : ''}. Plugin: commit ${meta.git?.commit ?? '?'}${meta.git?.srcChanged ? ' with uncommitted changes in src/' : ''}.`,
  )
  out.push('')
  out.push(`Latency: ${latencyLine(meta)}.`)
  out.push('')
  out.push(
    "Time from navigation start to \"every static module of the page has evaluated\" (ms). Chromium: `__appLoadedAt` (the page's `performance.now()` when its last module ran), read over CDP; push client: node:http2 loader from `connect()` to the last module of the closure received. **× floor** and **× Vite h2**: this median ÷ the median of the same client's floor (6) / Vite dev HTTP/2 (2), same run. Server CPU: the server process, per load. Client CPU: Chromium's whole process tree, or the node loader. Requests: resources Chromium fetched (Resource Timing), or requests the push client had to make; waves: rounds of requests after the HTML. **Bytes**: what the server wrote to its TCP connections for the load (TLS records and HTTP framing included), cold load / median of the warm runs. **Cold**: the first page after the server started and went idle (the plugin warms every page's closure at start-up; that CPU is in the server-side table, not in the load).",
  )
  for (const app of meta.apps) {
    out.push('')
    out.push(`#### ${app.label}`)
    out.push('')
    out.push(
      '| RTT | client | # | configuration | cold | median (min–max) | × floor | × Vite h2 | server CPU | client CPU | requests | waves | bytes cold / warm |',
    )
    out.push('|---:|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const row of rows.filter((r) => r.app === app.name)) {
      const time =
        row.medianMs === undefined
          ? `**failed** (${row.errors.join('; ').slice(0, 80)})`
          : `**${ms(row.medianMs)}** (${ms(row.minMs)}–${ms(row.maxMs)})${row.failed ? ` ${row.failed} failed` : ''}${row.reloaded ? ` (${row.reloaded} reloaded themselves)` : ''}`
      const requests =
        row.client === 'push'
          ? `${count(row.requests)}${row.pushed ? ` + ${count(row.pushed)} pushed` : ''}`
          : count(row.requests)
      out.push(
        `| ${latencyLabel(row.rttMs)} | ${row.client === 'chromium' ? 'Chromium' : 'push client'} | ${row.config} | ${row.label} | ${ms(row.coldMs)} | ${time} | ${ratio(row.xFloor)} | ${ratio(row.xViteH2)} | ${ms(row.serverCpuMs)} | ${ms(row.clientCpuMs)} | ${requests} | ${row.client === 'push' ? count(row.waves) : '—'} | ${mb(row.coldBytes)} / ${mb(row.bytes)} |`,
      )
    }
  }
  out.push('')
  out.push('#### Server side (plugin, from its log lines; memory from `process.memoryUsage()` after GC)')
  out.push('')
  out.push(
    `| app | closure | closure + preload links, warm HTML request | same, first page | pushed per page | push, warm (${meta.options.latencies.map(latencyLabel).join(' / ')}) | heap held per connection | pushes remembered per connection | start-up warm-up | server CPU from start to idle: Vite h2 / plugin |`,
  )
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const app of meta.apps) {
    const at = (column, rtt) => rows.find((r) => r.app === app.name && r.column === column && r.rttMs === String(rtt))
    const preload = at('chromium/plugin', meta.options.latencies[0])
    const push = at('push/plugin', meta.options.latencies[0])
    const pushTimes = meta.options.latencies.map((rtt) => ms(at('push/plugin', rtt)?.pluginMs)).join(' / ')
    const figure = figures.find((f) => f.app === app.name)
    const startupOf = (column) =>
      results.find(
        (r) => r.app === app.name && keyOf(r) === String(meta.options.latencies[0]) && r.column === column && r.cold,
      )?.serverStartup
    const pluginStart = startupOf('chromium/plugin')
    const viteStart = startupOf('chromium/vite-h2')
    const warmup = pluginStart?.warmup
      ? `${pluginStart.warmup.responses} responses, ${ms(pluginStart.warmup.ms)} ms`
      : '—'
    out.push(
      `| ${app.name} | ${count(preload?.closureSize)} | ${ms(preload?.pluginMs)} ms (${count(preload?.preloadLinks)} links) | ${ms(preload?.pluginColdMs)} ms | ${count(push?.pushedCount)} (${mb(push?.pushBytes)}) | ${pushTimes} ms | ${figure ? `${Math.round(figure.bytesPerConnection / 1024)} kB` : '—'} | ${figure?.rememberedPerConnection !== undefined ? Math.round(figure.rememberedPerConnection) : '—'} | ${warmup} | ${ms(viteStart?.cpuMs)} / ${ms(pluginStart?.cpuMs)} ms |`,
    )
  }
  out.push('')
  const heldNote = figures.map(
    (f) =>
      `${f.app}: ${f.apiHolding ? `${f.apiHolding.connectionCount} connections / ${f.apiHolding.rememberedPushCount} remembered while ${f.connections} were open, ${f.apiReleased.connectionCount} / ${f.apiReleased.rememberedPushCount} after they closed; ${f.apiHolding.cachedResponseCount} cached responses` : 'no api'}`,
  )
  if (heldNote.length) out.push(`\`plugin.api\`: ${heldNote.join('; ')}.`)
  return out.join('\n')
}

const SERIES_COLORS = {
  'chromium/vite-h1': '#9aa5b1',
  'chromium/vite-h2': '#52606d',
  'chromium/plugin': '#e8590c',
  'chromium/preview': '#2b8a3e',
  'chromium/floor': '#1c7ed6',
  'push/vite-h2': '#52606d',
  'push/plugin': '#e8590c',
  'push/floor': '#1c7ed6',
}

/** Bar chart of the medians: one panel per app, a group per RTT, a bar per configuration; log scale. */
function renderSvg(meta, rows) {
  const columns = meta.columns
  const latencies = meta.options.latencies.map(String)
  const barW = 15
  const barGap = 2
  const clientGap = 8
  const groupGap = 26
  const groupW = columns.length * (barW + barGap) + clientGap
  const panelW = latencies.length * groupW + (latencies.length - 1) * groupGap + 20
  const panelH = 250
  const left = 56
  const top = 100
  const panelGap = 34
  const legendW = (client) =>
    90 +
    columns.filter((c) => c.client === client).reduce((sum, c) => sum + 30 + `(${c.config}) ${c.label}`.length * 5.5, 0)
  const width = Math.ceil(
    Math.max(
      left + meta.apps.length * panelW + (meta.apps.length - 1) * panelGap + 20,
      legendW('chromium'),
      legendW('push'),
    ),
  )
  const height = top + panelH + 78
  const values = rows.map((r) => r.medianMs).filter((v) => v > 0)
  const { lo, hi, y } = logScale(values, top, panelH)
  const s = []
  s.push(svgOpen(width, height))
  s.push(
    '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="4" fill="#ffffff" fill-opacity="0.55"/></pattern></defs>',
  )
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  s.push(
    `<text x="${left}" y="20" font-size="14" font-weight="600">Page load until every static module has evaluated: median ms (log scale)</text>`,
  )
  s.push(
    `<text x="${left}" y="37" fill="#52606d">${escapeXml(`${meta.date.slice(0, 10)} · ${meta.machine.cpu} (${meta.machine.cores} cores) · ${meta.machine.chromium ?? ''} · ${meta.options.runs} warm runs each`)}</text>`,
  )
  // legend: one row per client
  for (const [r, client] of ['chromium', 'push'].entries()) {
    const yy = 52 + r * 18
    s.push(
      `<text x="10" y="${yy + 9.5}" fill="#323f4b" font-weight="600">${client === 'push' ? 'push client' : 'Chromium'}</text>`,
    )
    let lx = 90
    for (const column of columns.filter((c) => c.client === client)) {
      s.push(`<rect x="${lx}" y="${yy}" width="11" height="11" fill="${SERIES_COLORS[column.id] ?? '#888'}"/>`)
      if (client === 'push') s.push(`<rect x="${lx}" y="${yy}" width="11" height="11" fill="url(#hatch)"/>`)
      const text = `(${column.config}) ${column.label}`
      s.push(`<text x="${lx + 15}" y="${yy + 9.5}">${escapeXml(text)}</text>`)
      lx += 30 + text.length * 5.5
    }
  }
  for (const [p, app] of meta.apps.entries()) {
    const px = left + p * (panelW + panelGap)
    s.push(
      `<text x="${px}" y="${top + panelH + 40}" font-weight="600">${escapeXml(app.label.replace(/ \(.*$/, ''))}</text>`,
    )
    const detail = /\((.*)\)$/.exec(app.label)?.[1]
    if (detail)
      s.push(`<text x="${px}" y="${top + panelH + 54}" fill="#52606d" font-size="10">${escapeXml(detail)}</text>`)
    // grid
    gridLines(s, { lo, hi, y }, px, px + panelW - 10, p === 0)
    for (const [g, rttMs] of latencies.entries()) {
      const gx = px + 10 + g * (groupW + groupGap)
      s.push(
        `<text x="${gx + groupW / 2}" y="${top + panelH + 16}" text-anchor="middle" fill="#323f4b">${latencyLabel(rttMs)}</text>`,
      )
      let bx = gx
      for (const [i, column] of columns.entries()) {
        if (i > 0 && column.client !== columns[i - 1].client) bx += clientGap
        const row = rows.find((r) => r.app === app.name && r.rttMs === rttMs && r.column === column.id)
        const value = row?.medianMs
        if (value > 0) {
          const yy = y(value)
          const h = top + panelH - yy
          s.push(
            `<rect x="${bx}" y="${yy.toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="${SERIES_COLORS[column.id] ?? '#888'}"><title>${escapeXml(`${app.name}, ${latencyLabel(rttMs)}, ${column.client}: ${column.label}: ${Math.round(value)} ms`)}</title></rect>`,
          )
          if (column.client === 'push')
            s.push(`<rect x="${bx}" y="${yy.toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="url(#hatch)"/>`)
          const label = value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}`
          s.push(
            `<text transform="translate(${bx + barW / 2 + 3.5},${(yy - 3).toFixed(1)}) rotate(-90)" font-size="9" fill="#323f4b">${label}</text>`,
          )
        } else {
          s.push(
            `<text x="${bx + barW / 2}" y="${top + panelH - 4}" text-anchor="middle" font-size="9" fill="#c92a2a">✗</text>`,
          )
        }
        bx += barW + barGap
      }
    }
    s.push(`<line x1="${px}" x2="${px + panelW - 10}" y1="${top + panelH}" y2="${top + panelH}" stroke="#323f4b"/>`)
  }
  s.push('</svg>')
  return s.join('\n')
}

export function writeReports({ meta, results, figures, name, readme }) {
  fs.mkdirSync(RESULTS, { recursive: true })
  const base = path.join(RESULTS, name)
  const rows = summarize(meta, results)
  const table = renderMarkdown(meta, rows, figures, results)
  const svgName = `${path.basename(base)}.svg`
  const markdown = `### Benchmark results\n\n${table}\n\n![median load times](${svgName})\n`
  fs.writeFileSync(`${base}.md`, markdown)
  fs.writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ meta, summary: rows, serverFigures: figures, runs: results }, null, 1)}\n`,
  )
  fs.writeFileSync(`${base}.svg`, `${renderSvg(meta, rows)}\n`)
  const files = [`${base}.md`, `${base}.json`, `${base}.svg`]
  if (readme && name === 'latest') {
    const readmePath = path.join(REPO, 'docs/performance.md')
    const text = fs.readFileSync(readmePath, 'utf8')
    const start = text.indexOf(README_START)
    const end = text.indexOf(README_END)
    if (start < 0 || end < start) throw new Error(`docs/performance.md has no ${README_START} … ${README_END} block to update`)
    const body = `${table}\n\n![median load times](../bench/results/latest.svg)`
    fs.writeFileSync(readmePath, `${text.slice(0, start + README_START.length)}\n${body}\n${text.slice(end)}`)
    files.push(readmePath)
  }
  return { markdown: table, files, rows }
}
