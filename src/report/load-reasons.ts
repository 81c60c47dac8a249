import type { LoadRecord } from './load-record.js'

/**
 * Why a load was not free, in plain words: what the server saw of it. Empty when nothing says so.
 * `trustFix` is the command that makes the certificate trusted, while it is not.
 */
export function reasonsOf(record: LoadRecord, trustFix: string | undefined): string[] {
  const reasons: string[] = []
  if (record.htmlBypassedCache || record.bypassedCache > 0)
    reasons.push(
      `DevTools' "Disable cache" is on, or this was a hard reload: ${record.bypassedCache + (record.htmlBypassedCache ? 1 : 0)} ` +
        'requests carried Cache-Control: no-cache and Pragma: no-cache',
    )
  if (record.versionedAgain > 0) {
    const again = `${record.versionedAgain} versioned URLs asked for again`
    reasons.push(
      trustFix && /^Chromium|^Edge/.test(record.client)
        ? `${again}: the certificate is not trusted, and Chromium keeps nothing in its HTTP cache for such a site (fix: ${trustFix})`
        : `${again}: this browser's HTTP cache is off`,
    )
  }
  if (record.protocol !== 'h2')
    reasons.push(
      `${record.protocol} instead of HTTP/2: nothing pushed, and the browser opens few connections at a time`,
    )
  if (record.missed > 0)
    reasons.push(
      `${record.missed} module requests the plan did not hold: the learned closure missed them (learned now for the next load)`,
    )
  if (record.htmlConditional && record.htmlStatus === 200)
    reasons.push('the page was sent as a full 200 instead of a 304: its HTML changed since the browser cached it')
  return reasons
}

/** Reasons known when the HTML goes out (the request's headers, the protocol, the load before it on the connection). */
export function reasonsBeforeRequests(record: LoadRecord, trustFix: string | undefined): string[] {
  const reasons: string[] = []
  if (record.htmlBypassedCache)
    reasons.push(`DevTools' "Disable cache" is on, or this was a hard reload (Cache-Control: no-cache)`)
  if (record.cacheOffBefore)
    reasons.push(
      trustFix
        ? `the last load asked again for versioned URLs: the certificate is not trusted (fix: ${trustFix})`
        : `the last load asked again for versioned URLs: this browser's HTTP cache is off`,
    )
  if (record.protocol !== 'h2') reasons.push(`${record.protocol} instead of HTTP/2`)
  return reasons
}

/** One line: what the load cost. */
export function summaryOf(record: LoadRecord): string {
  return (
    `${record.requests} module requests, ${kilobytes(record.bytes)} sent, ${record.fromCache} from cache, ` +
    `${record.pushed} pushed, ${record.preloaded} preloaded, ${record.learned} learned`
  )
}

function kilobytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} kB`
}
