export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function min(values) {
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v))
  return finite.length ? Math.min(...finite) : undefined
}

export function max(values) {
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v))
  return finite.length ? Math.max(...finite) : undefined
}

/** The plugin's per-page log lines, parsed. */
export function parsePluginLogs(lines) {
  const parsed = { pages: [], closures: [] }
  for (const line of lines) {
    if (!line.includes('[vite-plugin-http2-push]')) continue
    const closure = /closure of (\d+)/.exec(line)
    if (closure) parsed.closures.push(Number(closure[1]))
    const ms = /, (\d+) ms\s*$/.exec(line)
    if (!ms) continue
    const page = { line: line.trim(), ms: Number(ms[1]) }
    const push = /pushed (\d+) \(([\d.]+) (B|kB|MB)\), (\d+) already pushed/.exec(line)
    if (push) {
      page.pushed = Number(push[1])
      page.pushBytes = Math.round(Number(push[2]) * { B: 1, kB: 1024, MB: 1024 * 1024 }[push[3]])
      page.alreadyPushed = Number(push[4])
    }
    const preload = /(\d+) modulepreload links/.exec(line)
    if (preload) page.preloadLinks = Number(preload[1])
    parsed.pages.push(page)
  }
  return parsed
}
