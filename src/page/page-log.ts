import type { PushStats } from '../push/push-resources.js'

/** The push part of the one line logged per page load. */
export function describePushes(stats: PushStats): string {
  const parts = [`pushed ${stats.pushed} (${formatBytes(stats.bytes)})`, `${stats.alreadyPushed} already pushed`]
  if (stats.overBudget > 0) parts.push(`${stats.overBudget} over budget`)
  if (stats.notOk > 0) parts.push(`${stats.notOk} not 200`)
  if (stats.failed > 0) parts.push(`${stats.failed} reset`)
  if (stats.interrupted) parts.push('interrupted')
  return parts.join(', ')
}

/** The part of the line for URLs the fs guard kept back (empty when there are none). */
export function describeDenied(denied: readonly string[]): string | undefined {
  return denied.length > 0 ? `${denied.length} denied by server.fs` : undefined
}

/**
 * The bytes part: `compressed: RTT 41 ms; 652 modules, 0.3 MB (−93%)`, whether (and why) this
 * client gets compressed bodies, and the saving against the bytes Vite sends.
 */
export function describeBytes(bytes: { modules: number; vite: number; sent: number; compression?: string }): string {
  const saved = bytes.vite > 0 ? Math.round((1 - bytes.sent / bytes.vite) * 100) : 0
  const sent = `${bytes.modules} modules, ${formatBytes(bytes.sent)}${saved > 0 ? ` (−${saved}%)` : ''}`
  return bytes.compression ? `${bytes.compression}; ${sent}` : sent
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
