// The reload scenario's markdown table, JSON and SVG chart.
import fs from 'node:fs'
import path from 'node:path'
import { BENCH } from './support.mjs'
import { latencyLabel } from './report.mjs'
import { max, median, min } from './stats.mjs'
import { escapeXml, gridLines, logScale, svgOpen } from './svg-chart.mjs'

const RESULTS = path.join(BENCH, 'results')

const ms = (v) => (v === undefined ? '—' : v >= 100 ? `${Math.round(v)}` : v >= 10 ? v.toFixed(0) : v.toFixed(1))
const times = (v) => (v === undefined || !Number.isFinite(v) ? '—' : v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`)
const count = (v) => (v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(1))
const bytes = (b) =>
  b === undefined ? '—' : b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MB` : `${Math.round(b / 1024)} kB`

/** The browsers of a run (results from before `--browsers` are Chromium's). */
const browsersOf = (meta) => meta.options.browsers ?? ['chromium']
const browserOf = (record) => record.browser ?? 'chromium'
/** A browser column only when the run had more than Chromium. */
const browserColumn = (meta) => browsersOf(meta).some((b) => b !== 'chromium')
const BROWSER_LABELS = { chromium: 'Chromium (trusted by SPKI)', firefox: 'Firefox (certificate exception)' }

/** Per (app, latency, browser, configuration): cold, first reload, warm reloads, edit. */
function summarizeReloads(meta, results) {
  const rows = []
  for (const app of meta.apps) {
    for (const latency of meta.options.latencies.map(String)) {
      for (const browser of browsersOf(meta)) rows.push(...summarizeBlock(meta, results, app, latency, browser))
    }
  }
  return rows
}

/** One app, latency and browser: a row per configuration; ratios against the same browser's rows. */
function summarizeBlock(meta, results, app, latency, browser) {
  const block = []
  for (const config of meta.reloadConfigs) {
    const mine = results.filter(
      (r) => r.app === app.name && r.latency === latency && r.config === config.id && browserOf(r) === browser,
    )
    if (mine.length === 0) continue
    const ok = (step) => mine.filter((r) => r.step === step && r.ok)
    const reloads = ok('reload')
    // reload 1 is the one that makes V8's code cache; from reload 2 on it is used
    const warm = meta.options.reloads >= 2 ? reloads.filter((r) => r.index >= 2) : reloads
    const first = reloads.filter((r) => r.index === 1)
    const cold = ok('cold')
    const edits = ok('edit')
    const pick = (list, key) => median(list.map((r) => r[key]))
    block.push({
      app: app.name,
      latency,
      browser,
      config: config.id,
      label: config.label,
      errors: [...new Set(mine.filter((r) => !r.ok).map((r) => r.error))],
      failed: mine.filter((r) => !r.ok).length,
      runs: cold.length,
      coldMs: pick(cold, 'ms'),
      coldBytes: pick(cold, 'bytes'),
      coldRequests: pick(cold, 'serverRequests'),
      coldServerCpuMs: pick(cold, 'serverCpuMs'),
      firstMs: pick(first, 'ms'),
      warmCount: warm.length,
      warmMs: pick(warm, 'ms'),
      warmMin: min(warm.map((r) => r.ms)),
      warmMax: max(warm.map((r) => r.ms)),
      fromCache: pick(warm, 'fromCache'),
      resources: pick(warm, 'resources'),
      serverRequests: pick(warm, 'serverRequests'),
      notModified: pick(warm, 'serverNotModified'),
      bytes: pick(warm, 'bytes'),
      browserCpuMs: pick(warm, 'browserCpuMs'),
      serverCpuMs: pick(warm, 'serverCpuMs'),
      editMs: pick(edits, 'ms'),
      editRequests: pick(edits, 'serverRequests'),
      editRequestsMax: max(edits.map((r) => r.serverRequests)),
      editBytes: pick(edits, 'bytes'),
      editShown: edits.filter((r) => r.editShown).length,
      editCount: edits.length,
      editByF5: edits.filter((r) => r.fellBack).length,
      htmlBytes: pick(warm, 'htmlBytes'),
      importMapBytes: pick(warm, 'importMapBytes'),
      importMapEntries: median(warm.map((r) => r.pluginLog?.importMapEntries)),
      pluginHtmlMs: median(warm.map((r) => r.pluginLog?.ms)),
      pluginHtmlColdMs: median(cold.map((r) => r.pluginLog?.ms)),
    })
  }
  const of = (id) => block.find((r) => r.config === id)
  for (const row of block) {
    row.speedupVsViteH2 = of('vite-h2')?.warmMs / row.warmMs
    row.xFloor = row.warmMs / of('immutable')?.warmMs
    row.coldXViteH2 = row.coldMs / of('vite-h2')?.coldMs
    row.coldXNoMap = row.coldMs / of('plugin-nomap')?.coldMs
    row.coldSpeedupVsViteH2 = of('vite-h2')?.coldMs / row.coldMs
    row.coldBytesShare = row.coldBytes / of('vite-h2')?.coldBytes
  }
  return block
}

function renderMarkdown(meta, rows) {
  const out = []
  const m = meta.machine
  const date = meta.date.slice(0, 16).replace('T', ' ')
  const o = meta.options
  out.push(
    `Measured ${date} UTC on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.os}, Linux ${m.kernel}; Node ${m.node}, ${m.chromium ?? 'Chromium'}${m.firefox ? `, ${m.firefox}` : ''}, Vite ${m.vite}. Plugin: commit ${meta.git?.commit ?? '?'}${meta.git?.srcChanged ? ' with uncommitted changes in src/' : ''}. ${o.reloadRuns} run(s) per configuration, configurations alternating run by run; each run: a new Chromium with a new on-disk profile (certificate trusted by its SPKI hash, no \`--ignore-certificate-errors\`)${browsersOf(meta).includes('firefox') ? `, and a new Firefox with a new profile under a new HOME (WebDriver BiDi; trust: ${m.firefoxTrust ?? 'certificate exception'}, under which Firefox keeps its HTTP cache)` : ''}, one cold load, ${o.reloads} F5 reload(s) (CDP \`Page.reload\`${browsersOf(meta).includes('firefox') ? '; BiDi `browsingContext.reload` in Firefox' : ''}), then one edit of a leaf module. Whole run ${Math.round(meta.durationS / 60)} min${o.quick ? ' (`--quick`)' : ''}.`,
  )
  out.push('')
  out.push(
    `Latency: ${meta.links.map((l) => `${latencyLabel(l.key ?? l.rttMs)}: ${l.mechanism === 'loopback' ? 'loopback' : l.mechanism === 'tunlink' ? `tunlink.py delay link${l.rateMbit ? ` capped at ${l.rateMbit} Mbit/s per direction` : ''}` : `delaying TCP proxy (${l.reason})`}${l.measuredRttMs !== undefined ? `, measured TCP connect RTT ${l.measuredRttMs} ms` : ''}`).join('; ')}.`,
  )
  out.push('')
  out.push(
    `Times: navigation start to "every static module has evaluated" (the page's \`__appLoadedAt\`), ms. **Warm reload**: median (min–max) of ${o.reloads >= 2 ? 'reloads 2…N of every run (reload 1 is the one that creates V8\'s code cache; its median is in "reload 1")' : 'every reload'}. **From cache**: Resource Timing entries with \`transferSize\` 0 / all entries. **Server requests**: requests that reached the server (counted in the server process; HTML included), with how many were answered 304. **Bytes**: what the server wrote to its TCP connections (TLS and HTTP framing included). **×**: Vite HTTP/2's warm reload ÷ this one (speed-up); **× floor**: this warm reload ÷ the immutable floor's. **After edit**: the deepest leaf module gets one line appended; Vite (nothing accepts the update) makes the page reload itself, timed from that navigation; F5 only when no reload started within 4 s. "shown": the new page ran the edited code.`,
  )
  for (const app of meta.apps) {
    const appRows = rows.filter((r) => r.app === app.name)
    if (appRows.length === 0) continue
    out.push('')
    out.push(`#### ${app.label}${app.editFile ? ` — edit: \`${app.editFile}\` (import depth ${app.depth})` : ''}`)
    out.push('')
    const withBrowser = browserColumn(meta)
    out.push(
      `| RTT | ${withBrowser ? 'browser | ' : ''}configuration | cold (new profile) | cold: speed-up vs Vite h2 | cold bytes (share of Vite h2) | cold: server CPU | reload 1 | warm reload median (min–max) | speed-up vs Vite h2 | × floor | from cache | server requests (304) | bytes per reload | browser CPU | server CPU | after edit | edit: server requests | edit bytes | edit shown |`,
    )
    out.push(
      `|---|${withBrowser ? '---|' : ''}---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    )
    for (const r of appRows) {
      const warm =
        r.warmMs === undefined
          ? `**failed**: ${r.failed} load(s) (${r.errors.join('; ').slice(0, 100)})`
          : `**${ms(r.warmMs)}** (${ms(r.warmMin)}–${ms(r.warmMax)})${r.failed ? ` ${r.failed} failed` : ''}`
      out.push(
        `| ${latencyLabel(r.latency)} | ${withBrowser ? `${BROWSER_LABELS[r.browser] ?? r.browser} | ` : ''}${r.label} | ${ms(r.coldMs)} | ${times(r.coldSpeedupVsViteH2)} | ${bytes(r.coldBytes)}${Number.isFinite(r.coldBytesShare) ? ` (${Math.round(r.coldBytesShare * 100)}%)` : ''} | ${ms(r.coldServerCpuMs)} | ${ms(r.firstMs)} | ${warm} | ${times(r.speedupVsViteH2)} | ${times(r.xFloor)} | ${count(r.fromCache)} / ${count(r.resources)} | ${count(r.serverRequests)} (${count(r.notModified)}) | ${bytes(r.bytes)} | ${ms(r.browserCpuMs)} | ${ms(r.serverCpuMs)} | ${ms(r.editMs)} | ${count(r.editRequests)}${r.editRequestsMax !== undefined && r.editRequestsMax !== r.editRequests ? ` (max ${r.editRequestsMax})` : ''} | ${bytes(r.editBytes)} | ${r.editCount ? `${r.editShown}/${r.editCount}${r.editByF5 ? ` (${r.editByF5} by F5)` : ''}` : '—'} |`,
      )
    }
  }
  const scaling = rows.filter(
    (r) => r.config === 'plugin' && r.latency === String(meta.options.latencies[0]) && r.browser === 'chromium',
  )
  if (scaling.length) {
    out.push('')
    out.push(
      `#### The plugin's HTML per app (${latencyLabel(meta.options.latencies[0])}; server time from its log line per page)`,
    )
    out.push('')
    out.push(
      '| app | import map entries | import map bytes | HTML bytes | server time per HTML request, warm reload | same, cold load |',
    )
    out.push('|---|---:|---:|---:|---:|---:|')
    for (const r of scaling)
      out.push(
        `| ${meta.apps.find((a) => a.name === r.app)?.label ?? r.app} | ${count(r.importMapEntries)} | ${bytes(r.importMapBytes)} | ${bytes(r.htmlBytes)} | ${ms(r.pluginHtmlMs)} ms | ${ms(r.pluginHtmlColdMs)} ms |`,
      )
  }
  return out.join('\n')
}

const COLORS = {
  'vite-h1': '#9aa5b1',
  'vite-h2': '#52606d',
  plugin: '#e8590c',
  'plugin-nomap': '#f7b267',
  'plugin-raw': '#c2255c',
  'plugin-always': '#fcc419',
  bundled: '#2b8a3e',
  immutable: '#1c7ed6',
}

/** Warm-reload medians: a panel per app, a group per latency, a bar per configuration; log scale. */
function renderSvg(meta, rows) {
  // a bar per (browser, configuration); Firefox's bars are the configuration's colour, lighter
  const configs = browsersOf(meta).flatMap((browser) =>
    meta.reloadConfigs.map((config) => ({
      ...config,
      browser,
      label: browserColumn(meta) ? `${browser === 'firefox' ? 'Firefox' : 'Chromium'}: ${config.label}` : config.label,
      opacity: browser === 'chromium' ? '' : ' fill-opacity="0.5"',
    })),
  )
  const panels = meta.apps
    .map((app) => ({
      app,
      latencies: meta.options.latencies
        .map(String)
        .filter((l) => rows.some((r) => r.app === app.name && r.latency === l)),
    }))
    .filter((p) => p.latencies.length > 0)
  const barW = 16
  const groupW = configs.length * (barW + 2)
  const groupGap = 24
  const left = 56
  const top = 56 + 18 * Math.ceil(configs.length / 3)
  const panelH = 240
  const panelGap = 34
  const panelWidth = (p) => p.latencies.length * groupW + (p.latencies.length - 1) * groupGap + 20
  const width = Math.max(720, left + panels.reduce((sum, p) => sum + panelWidth(p) + panelGap, 0))
  const height = top + panelH + 64
  const values = rows.map((r) => r.warmMs).filter((v) => v > 0)
  const { lo, hi, y } = logScale(values, top, panelH)
  const s = []
  s.push(svgOpen(width, height))
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  s.push(
    `<text x="${left}" y="20" font-size="14" font-weight="600">Warm F5 reload in a real ${browserColumn(meta) ? 'browser' : 'Chromium'} profile: median ms (log scale)</text>`,
  )
  s.push(
    `<text x="${left}" y="37" fill="#52606d">${escapeXml(`${meta.date.slice(0, 10)} · ${meta.machine.cpu} (${meta.machine.cores} cores) · ${meta.machine.chromium ?? ''}${meta.machine.firefox ? ` · ${meta.machine.firefox}` : ''} · ${meta.options.reloadRuns} runs × ${meta.options.reloads} reloads`)}</text>`,
  )
  for (const [i, config] of configs.entries()) {
    const lx = 10 + (i % 3) * Math.floor((width - 20) / 3)
    const ly = 50 + Math.floor(i / 3) * 18
    s.push(`<rect x="${lx}" y="${ly}" width="11" height="11" fill="${COLORS[config.id] ?? '#888'}"${config.opacity}/>`)
    s.push(`<text x="${lx + 15}" y="${ly + 9.5}">${escapeXml(config.label.replace(/`/g, ''))}</text>`)
  }
  let px = left
  for (const [p, panel] of panels.entries()) {
    const w = panelWidth(panel)
    s.push(
      `<text x="${px}" y="${top + panelH + 36}" font-weight="600">${escapeXml(panel.app.label.replace(/ \(.*$/, ''))}</text>`,
    )
    const detail = /\((.*)\)$/.exec(panel.app.label)?.[1]
    if (detail)
      s.push(`<text x="${px}" y="${top + panelH + 50}" fill="#52606d" font-size="10">${escapeXml(detail)}</text>`)
    gridLines(s, { lo, hi, y }, px, px + w - 10, p === 0)
    for (const [g, latency] of panel.latencies.entries()) {
      const gx = px + 10 + g * (groupW + groupGap)
      s.push(
        `<text x="${gx + groupW / 2}" y="${top + panelH + 16}" text-anchor="middle" fill="#323f4b">${escapeXml(latencyLabel(latency))}</text>`,
      )
      for (const [i, config] of configs.entries()) {
        const bx = gx + i * (barW + 2)
        const value = rows.find(
          (r) =>
            r.app === panel.app.name && r.latency === latency && r.config === config.id && r.browser === config.browser,
        )?.warmMs
        if (value > 0) {
          const yy = y(value)
          s.push(
            `<rect x="${bx}" y="${yy.toFixed(1)}" width="${barW}" height="${(top + panelH - yy).toFixed(1)}" fill="${COLORS[config.id] ?? '#888'}"${config.opacity}><title>${escapeXml(`${panel.app.name}, ${latencyLabel(latency)}: ${config.label}: ${Math.round(value)} ms`)}</title></rect>`,
          )
          const label = value >= 1000 ? `${(value / 1000).toFixed(1)}s` : `${Math.round(value)}`
          s.push(
            `<text transform="translate(${bx + barW / 2 + 3.5},${(yy - 3).toFixed(1)}) rotate(-90)" font-size="9" fill="#323f4b">${label}</text>`,
          )
        } else {
          s.push(
            `<text x="${bx + barW / 2}" y="${top + panelH - 4}" text-anchor="middle" font-size="9" fill="#c92a2a">✗</text>`,
          )
        }
      }
    }
    s.push(`<line x1="${px}" x2="${px + w - 10}" y1="${top + panelH}" y2="${top + panelH}" stroke="#323f4b"/>`)
    px += w + panelGap
  }
  s.push('</svg>')
  return s.join('\n')
}

export function writeReloadReports({ meta, results, name }) {
  fs.mkdirSync(RESULTS, { recursive: true })
  const base = path.join(RESULTS, name)
  const rows = summarizeReloads(meta, results)
  const table = renderMarkdown(meta, rows)
  const svgName = `${path.basename(base)}.svg`
  fs.writeFileSync(
    `${base}.md`,
    `### Reload benchmark results\n\n${table}\n\n![median warm reload times](${svgName})\n`,
  )
  fs.writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ meta: { ...meta, scenario: 'reload' }, summary: rows, runs: results }, null, 1)}\n`,
  )
  fs.writeFileSync(`${base}.svg`, `${renderSvg(meta, rows)}\n`)
  return { markdown: table, files: [`${base}.md`, `${base}.json`, `${base}.svg`], rows }
}
