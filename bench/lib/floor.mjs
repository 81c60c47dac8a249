// Configuration 6, the floor for unbundled loading: an in-memory node:http2 server that replays
// the exact responses Vite served for the page (recorded once per benchmark run). It does no work
// per request: clients that refuse push (Chromium) get the HTML with modulepreload links for the
// whole closure (the HTML the plugin served them), clients that accept push get every module
// pushed before the HTML ends, paced like the plugin (at most min(peer limit - 1, 100) pushes in
// flight). No dev server can be faster than this for the same bytes on the same link.
import fs from 'node:fs'
import http2 from 'node:http2'
import { SCRIPT_REQUEST, STYLE_REQUEST } from '../../test/support/browser-headers.mjs'

const MAX_PUSH_WINDOW = 100
const { HTTP2_HEADER_STATUS, HTTP2_HEADER_PATH, HTTP2_HEADER_METHOD, HTTP2_HEADER_SCHEME, HTTP2_HEADER_AUTHORITY } =
  http2.constants

function revive(response) {
  return { status: response.status, headers: response.headers, body: Buffer.from(response.body, 'base64') }
}

/** Reads a recording written by client.mjs `record`. */
export function loadRecording(file) {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  const resources = raw.resources.map((r) => ({ key: r.key, path: r.path, as: r.as, ...revive(r) }))
  return {
    page: raw.page,
    htmlPreload: revive(raw.htmlPreload),
    htmlPush: revive(raw.htmlPush),
    resources,
    byKey: new Map(
      resources.flatMap((r) => [
        [unversioned(r.key), r],
        [r.key, r],
      ]),
    ),
  }
}

/**
 * The URL without the plugin's version marker (`?__h2v=…` / `&__h2v=…`): the HTML the plugin
 * serves a browser names versioned URLs (its import map); the floor answers them with the
 * recorded response, whichever form was recorded.
 */
function unversioned(url) {
  return url.replace(/([?&])__h2v=[^&]*(&?)/, (_, sep, amp) => (amp ? sep : '')).replace(/[?&]$/, '')
}

function isStyleRequest(headers) {
  return headers['sec-fetch-dest'] === 'style' || String(headers.accept ?? '').startsWith('text/css')
}

function isPageRequest(recording, urlPath, headers) {
  const dest = headers['sec-fetch-dest']
  if (dest !== undefined && dest !== 'document') return false
  const pathOnly = urlPath.split('?')[0]
  return pathOnly === recording.page || (recording.page === '/' && pathOnly === '/index.html')
}

/** Starts the floor server on `host`; resolves to the node:http2 server once listening. */
export function startFloorServer({ recording, key, cert, host }) {
  const stats = { pages: 0, pushed: 0, requests: 0 }
  const server = http2.createSecureServer({ key, cert, allowHTTP1: true })
  server.on('request', (req, res) => {
    stats.requests++
    const urlPath = req.url ?? '/'
    if (req.method === 'GET' && isPageRequest(recording, urlPath, req.headers)) {
      stats.pages++
      const stream = res.stream
      const session = stream?.session
      const takesPush = stream && session && stream.pushAllowed && session.remoteSettings.enablePush !== false
      if (!takesPush) return send(res, recording.htmlPreload)
      pushAll(stream, recording.resources, req.headers[':authority']).then((count) => {
        stats.pushed += count
        if (!res.writableEnded && !res.destroyed) send(res, recording.htmlPush)
      })
      return
    }
    const key = isStyleRequest(req.headers) ? `style:${urlPath}` : urlPath
    const found =
      recording.byKey.get(key) ??
      recording.byKey.get(urlPath) ??
      recording.byKey.get(unversioned(key)) ??
      recording.byKey.get(unversioned(urlPath))
    if (!found || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' })
      return res.end('not recorded')
    }
    send(res, found)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve({ server, stats }))
  })
}

function send(res, { status, headers, body }) {
  res.writeHead(status, headers)
  res.end(body)
}

/** Promises every resource on `stream` (window-paced) and resolves with the count once all are promised. */
function pushAll(stream, resources, authority) {
  const window = Math.min(
    (stream.session.remoteSettings.maxConcurrentStreams ?? MAX_PUSH_WINDOW + 1) - 1,
    MAX_PUSH_WINDOW,
  )
  let next = 0
  let inFlight = 0
  let promised = 0
  return new Promise((resolve) => {
    let done = false
    const finish = () => {
      if (!done) {
        done = true
        resolve(promised)
      }
    }
    stream.once('close', finish)
    const pump = () => {
      while (!done && inFlight < window && next < resources.length) {
        if (stream.closed || stream.destroyed || !stream.pushAllowed) return finish()
        const resource = resources[next++]
        if (resource.status !== 200) continue
        inFlight++
        promised++
        const headers = {
          [HTTP2_HEADER_METHOD]: 'GET',
          [HTTP2_HEADER_PATH]: resource.path,
          [HTTP2_HEADER_SCHEME]: 'https',
          ...(authority ? { [HTTP2_HEADER_AUTHORITY]: authority } : {}),
          ...(resource.as === 'style' ? STYLE_REQUEST : SCRIPT_REQUEST),
        }
        try {
          stream.pushStream(headers, (error, pushed) => {
            if (error) {
              inFlight--
              return pump()
            }
            pushed.on('error', () => {})
            pushed.once('close', () => {
              inFlight--
              pump()
            })
            pushed.respond({ ...resource.headers, [HTTP2_HEADER_STATUS]: resource.status })
            pushed.end(resource.body)
          })
        } catch {
          inFlight--
          return finish()
        }
      }
      if (next >= resources.length) finish()
    }
    pump()
  })
}
