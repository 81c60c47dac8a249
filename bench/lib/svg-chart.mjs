// Pieces both benchmark charts (cold loads: report.mjs; reloads: reload-report.mjs) draw the same way.

export function escapeXml(text) {
  return String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c])
}

/** The opening `<svg>` tag of a chart `width` × `height`. */
export function svgOpen(width, height) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`
}

/**
 * A log scale over `values` (ms) for a panel `height` tall whose top is at `top`: from the power
 * of ten below the smallest value (at least 1) to 1.6 × the largest. `y(v)` is the pixel row of `v`.
 */
export function logScale(values, top, height) {
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...values, 10)))))
  const hi = Math.max(...values, 10) * 1.6
  const y = (v) => top + height - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * height
  return { lo, hi, y }
}

/**
 * Pushes onto `s` the grid lines of `scale` from `x1` to `x2` (1, 2 and 5 of every power of ten),
 * and their labels left of `x1`: every line's when `allLabels`, else the powers of ten only.
 */
export function gridLines(s, { lo, hi, y }, x1, x2, allLabels) {
  for (let v = lo; v <= hi; v *= 10) {
    for (const m of [1, 2, 5]) {
      const value = v * m
      if (value > hi) break
      const yy = y(value)
      s.push(
        `<line x1="${x1}" x2="${x2}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="${m === 1 ? '#cbd2d9' : '#eef1f4'}"/>`,
      )
      if (allLabels || m === 1)
        s.push(
          `<text x="${x1 - 4}" y="${(yy + 3.5).toFixed(1)}" text-anchor="end" fill="#52606d" font-size="${m === 1 ? 10 : 9}">${value >= 1000 ? `${value / 1000}s` : value}</text>`,
        )
    }
  }
}
