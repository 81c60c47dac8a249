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

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
