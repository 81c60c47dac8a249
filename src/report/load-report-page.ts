import type { Connect, ResolvedConfig } from 'vite'
import type { LearnedClosure } from '../learn/learned-closure.js'
import { connectionOf, requestedUrl } from '../graph/request-url.js'
import { sameOriginReferrer } from '../learn/learning-middleware.js'
import { resourceKindRequested } from '../graph/resource-request.js'
import { isInProcessRequest } from '../render/in-process-request.js'
import { PLUGIN_NAME } from '../plugin-name.js'
import { isAllowedHost } from './allowed-host.js'
import { LOAD_REPORT_PATH } from './load-note.js'
import { reasonsOf, summaryOf } from './load-reasons.js'
import type { LoadReport } from './load-report.js'

/**
 * Serves the load report at `<base>__http2-push/loads` (GET or HEAD from an allowed Host, else 403
 * as Vite answers a Host it blocks), and hands every module or stylesheet request of a page load
 * to {@link LoadReport.observe}, found by its learning window as {@link LearnedClosure} finds it.
 */
export function createLoadReportMiddleware(
  config: ResolvedConfig,
  report: LoadReport,
  learned: LearnedClosure,
): Connect.NextHandleFunction {
  const path = `${config.base.endsWith('/') ? config.base : `${config.base}/`}${LOAD_REPORT_PATH}`
  return function http2PushLoadReportMiddleware(req, res, next) {
    if (isInProcessRequest(req)) return next()
    const url = requestedUrl(req)
    if (url === path || url.startsWith(`${path}?`)) {
      if (!isAllowedHost(req, config.server.allowedHosts)) {
        res.writeHead(403, { 'Content-Type': 'text/plain' })
        res.end('Blocked request. This host is not allowed (server.allowedHosts).')
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return next()
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
        'X-Content-Type-Options': 'nosniff',
      })
      res.end(req.method === 'HEAD' ? undefined : renderReport(report, report.trustFix()))
      return
    }
    if (req.method === 'GET' && resourceKindRequested(req.headers)) {
      const referrer = sameOriginReferrer(req)
      report.observe(req, referrer === undefined ? undefined : learned.windowFor(connectionOf(req), referrer))
    }
    next()
  }
}

/** The report as an HTML page, every value escaped. */
function renderReport(report: LoadReport, trustFix: string | undefined): string {
  const rows = report.newestFirst().map((record) => {
    const reasons = reasonsOf(record, trustFix)
    const status = record.htmlStatus === undefined ? 'pending' : String(record.htmlStatus)
    return (
      `<tr><td>${escapeHtml(record.at.toISOString().slice(11, 19))}</td><td>${escapeHtml(record.page)}</td>` +
      `<td>${escapeHtml(record.client)}</td><td>${escapeHtml(record.protocol)} ${escapeHtml(status)}</td>` +
      `<td>${escapeHtml(summaryOf(record))}</td>` +
      `<td>${reasons.length > 0 ? `<ul>${reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>` : 'free'}</td></tr>`
    )
  })
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${PLUGIN_NAME}: recent page loads</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}ul{margin:0;padding-left:1.2em}</style>
</head><body><h1>Recent page loads</h1>
<p>Per page and per client (a browser's connection), newest first: what each load cost the server, and why it was not free. Dev only; reload to update.</p>
<table><thead><tr><th>Time</th><th>Page</th><th>Client</th><th>HTML</th><th>Cost</th><th>Why not free</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="6">No page loads yet.</td></tr>'}</tbody></table>
</body></html>
`
}

/** Text for HTML content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
