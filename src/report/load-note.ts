import { reasonsBeforeRequests } from './load-reasons.js'
import type { LoadRecord } from './load-record.js'
import { PLUGIN_NAME } from '../plugin-name.js'

/** The report's path under `base`, reserved as Vite reserves `/__vite…` and vite-plugin-inspect `/__inspect/`. */
export const LOAD_REPORT_PATH = '__http2-push/loads'

/**
 * The page's HTML with a one-line `console.info` saying why this load will not be free, for a
 * browser's navigation when the server knows already (the HTML request bypassed the cache, HTTP/1.1, the connection's last load
 * found the cache off); the HTML as it is otherwise. The script is a module (deferred, so it never
 * blocks parsing) placed before `</head>`, its text JSON with `<` escaped, so nothing in it can
 * close the script.
 */
export function withLoadNote(html: string, record: LoadRecord, base: string, trustFix: string | undefined): string {
  if (!record.navigation) return html
  const reasons = reasonsBeforeRequests(record, trustFix)
  const at = html.search(/<\/head\s*>/i)
  if (reasons.length === 0 || at < 0) return html
  const line = `[${PLUGIN_NAME}] this load is not free: ${reasons.join('; ')}. See ${base}${LOAD_REPORT_PATH}`
  const literal = JSON.stringify(line)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
  return `${html.slice(0, at)}<script type="module">console.info(${literal})</script>${html.slice(at)}`
}
