import http2 from 'node:http2'
import { init, parse } from 'es-module-lexer'
import { DOCUMENT_REQUEST, SCRIPT_REQUEST, STYLE_REQUEST } from './browser-headers.mjs'

/** A response as a client saw it. */
export interface FetchedResponse {
  status: number
  headers: Record<string, string | string[]>
  body: Buffer
  /** The path requested, when the client made the request (a push has none). */
  requested?: string
}

/** A PUSH_PROMISE the client received, and the pushed response once it arrived. */
export interface ReceivedPush {
  key: string
  path: string
  requestHeaders: http2.IncomingHttpHeaders
  response: Promise<FetchedResponse | undefined>
  used: boolean
}

/** What loading a page like a browser took. */
export interface PageLoad {
  html: string
  /** Every resource the page needed (its static closure as the client discovered it), by key. */
  closure: Map<string, FetchedResponse>
  /** Keys served from pushes made for this page. */
  fromPush: Set<string>
  /** Keys the client had to request. */
  requested: Set<string>
  /** Keys taken from what this client already had from an earlier page on this connection. */
  fromCache: Set<string>
  /** Pushes received during this load. */
  pushesReceived: ReceivedPush[]
  /** Request waves after the HTML: how many rounds of discovery needed the network. */
  requestWaves: number
}

/** How {@link TestClient.loadPage} models what a browser does beyond the HTML's static closure. */
export interface LoadOptions {
  /**
   * Module URLs the page's code loads with `import()` once it runs (as a browser recorded them):
   * those not reached through static imports are requested in one wave after the static closure,
   * and their static imports after that. A lower bound of a browser's waves: a browser needs one
   * more for each level of nested `import()`.
   */
  dynamicImports?: readonly string[]
  /** Send `Referer: <origin><page>` with module requests, as a browser does (lets the plugin learn the page). */
  referer?: string
}

export interface ClientOptions {
  enablePush?: boolean
  /** How many promised-but-not-started pushes the client keeps (Node's default is 200). */
  maxReservedRemoteStreams?: number
  settings?: http2.Settings
  /**
   * Let the plugin answer module requests from its response cache, as it does for a browser.
   * Off by default: module requests then carry `Cache-Control: no-cache` (as with DevTools'
   * "Disable cache"), so they are answered by Vite's own transform middleware and tests compare
   * pushes with what Vite serves, not with the plugin's own cache.
   */
  useResponseCache?: boolean
}

/** Key of a request: the path, prefixed for the stylesheet form. */
function keyOf(path: string, as: 'script' | 'style'): string {
  return as === 'style' ? `style:${path}` : path
}

/** Request headers that make the plugin leave a module request to Vite itself. */
export const BYPASS_RESPONSE_CACHE = { 'cache-control': 'no-cache' }

/**
 * A real `node:http2` client over TLS, that accepts push (or refuses it), and loads pages like a
 * browser. Closes itself at the end of the block that holds it with `await using`.
 */
export class TestClient implements AsyncDisposable {
  readonly session: http2.ClientHttp2Session
  /** Every push promise received, in arrival order. */
  readonly pushes: ReceivedPush[] = []
  private readonly unusedPushes = new Map<string, ReceivedPush>()
  private readonly moduleRequestHeaders: { script: http2.OutgoingHttpHeaders; style: http2.OutgoingHttpHeaders }
  /** What this client holds from earlier loads (a browser's memory cache for this connection). */
  readonly held = new Map<string, FetchedResponse>()

  constructor(origin: string, options: ClientOptions = {}) {
    this.session = http2.connect(origin, {
      rejectUnauthorized: false,
      maxReservedRemoteStreams: options.maxReservedRemoteStreams ?? 2000,
      settings: { enablePush: options.enablePush ?? true, ...options.settings },
    })
    const bypass = options.useResponseCache ? {} : BYPASS_RESPONSE_CACHE
    this.moduleRequestHeaders = { script: { ...SCRIPT_REQUEST, ...bypass }, style: { ...STYLE_REQUEST, ...bypass } }
    this.session.on('error', () => {})
    this.session.on('stream', (stream, requestHeaders) => this.onPush(stream, requestHeaders))
  }

  /** Resolves once the TLS + HTTP/2 handshake is done. */
  ready(): Promise<void> {
    if (this.session.connecting === false) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.session.once('connect', () => resolve())
      this.session.once('error', reject)
    })
  }

  /** A plain GET on this connection. */
  async get(path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<FetchedResponse> {
    return { ...(await readResponse(this.session.request({ ':path': path, ...headers }))), requested: path }
  }

  /** Loads a page: the HTML, then every static import wave; pushed responses are used, the rest requested. */
  async loadPage(path: string, options: LoadOptions = {}): Promise<PageLoad> {
    await init()
    const referer = options.referer ? { referer: options.referer } : {}
    let dynamicImports = options.dynamicImports ?? []
    const pushesBefore = this.pushes.length
    const htmlResponse = await this.get(path, DOCUMENT_REQUEST)
    const html = htmlResponse.body.toString('utf8')
    const load: PageLoad = {
      html,
      closure: new Map(),
      fromPush: new Set(),
      requested: new Set(),
      fromCache: new Set(),
      pushesReceived: [],
      requestWaves: 0,
    }
    const importMap = importMapOf(html)
    const seen = new Set<string>()
    // a page may name one module twice (a modulepreload link and an inline import): one request
    let wave = htmlEntries(html, path).filter((entry) => {
      const key = keyOf(entry.path, entry.as)
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    /** Once the static closure is done, the code runs and imports what it loads dynamically. */
    const runDynamicImports = (): HtmlEntry[] => {
      const wave: HtmlEntry[] = []
      for (const path of dynamicImports) {
        const key = keyOf(path, 'script')
        if (!seen.has(key)) {
          seen.add(key)
          wave.push({ path, as: 'script', request: importMap[path] ?? path })
        }
      }
      dynamicImports = []
      return wave
    }
    if (wave.length === 0) wave = runDynamicImports()
    while (wave.length > 0) {
      let requestedThisWave = false
      const responses = await Promise.all(
        wave.map(async (entry) => {
          const key = keyOf(entry.path, entry.as)
          const push = this.unusedPushes.get(key)
          let response: FetchedResponse | undefined
          if (push) {
            this.unusedPushes.delete(key)
            push.used = true
            response = await push.response
            if (response) load.fromPush.add(key)
          }
          if (!response && this.held.has(key)) {
            response = this.held.get(key)!
            load.fromCache.add(key)
          }
          if (!response) {
            requestedThisWave = true
            load.requested.add(key)
            response = await this.get(entry.request, { ...this.moduleRequestHeaders[entry.as], ...referer })
          }
          load.closure.set(key, response)
          this.held.set(key, response)
          return { entry, response }
        }),
      )
      if (requestedThisWave) load.requestWaves++
      const next: HtmlEntry[] = []
      for (const { entry, response } of responses) {
        for (const path of staticImportsOf(response, entry.path)) {
          const key = keyOf(path, 'script')
          if (!seen.has(key)) {
            seen.add(key)
            // as a browser does: the page's import map names the URL to fetch
            next.push({ path, as: 'script', request: importMap[path] ?? path })
          }
        }
      }
      wave = next
      if (wave.length === 0) wave = runDynamicImports()
    }
    load.pushesReceived = this.pushes.slice(pushesBefore)
    return load
  }

  /** Pushes received but never used by a page load. */
  unusedPushKeys(): string[] {
    return [...this.unusedPushes.keys()]
  }

  /** Forgets what earlier loads got (a new page load without a warm cache; the connection stays). */
  forgetHeld(): void {
    this.held.clear()
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.session.closed || this.session.destroyed) return resolve()
      this.session.close(() => resolve())
    })
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private onPush(stream: http2.ClientHttp2Stream, requestHeaders: http2.IncomingHttpHeaders): void {
    const path = String(requestHeaders[':path'])
    const accept = String(requestHeaders.accept ?? '')
    const key = keyOf(path, accept.startsWith('text/css') ? 'style' : 'script')
    const push: ReceivedPush = {
      key,
      path,
      requestHeaders,
      used: false,
      response: readResponse(stream).catch(() => undefined),
    }
    this.pushes.push(push)
    this.unusedPushes.set(key, push)
  }
}

/** Reads a whole response from a client stream (a request or a pushed stream). */
export function readResponse(stream: http2.ClientHttp2Stream): Promise<FetchedResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let headers: http2.IncomingHttpHeaders = {}
    const onHeaders = (received: http2.IncomingHttpHeaders) => {
      headers = received
    }
    stream.once('response', onHeaders)
    stream.once('push', onHeaders)
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => {
      const { ':status': status, ...rest } = headers
      resolve({
        status: Number(status),
        headers: rest as Record<string, string | string[]>,
        body: Buffer.concat(chunks),
      })
    })
    stream.once('error', reject)
    stream.once('close', () => {
      if (stream.rstCode) reject(new Error(`stream reset with code ${stream.rstCode}`))
    })
  })
}

interface HtmlEntry {
  /** The module's own URL (without the plugin's version marker): what a load's keys are made of. */
  path: string
  as: 'script' | 'style'
  /** The URL fetched for it: as written in the page, or as the import map names it. */
  request: string
}

const VERSION_MARKER = /[?&]__h2v=[\w-]+$/

/** A URL without the plugin's version marker (versioned URLs name the same module). */
function withoutVersion(url: string): string {
  return url.replace(VERSION_MARKER, '')
}

/** The page's import map (`imports` only), as a browser reads it. */
function importMapOf(html: string): Record<string, string> {
  const json = /<script\b[^>]*type=["']?importmap["']?[^>]*>([\s\S]*?)<\/script>/i.exec(html)?.[1]
  return json ? ((JSON.parse(json) as { imports?: Record<string, string> }).imports ?? {}) : {}
}

function entryFor(written: string, pageUrl: string, as: 'script' | 'style'): HtmlEntry {
  const request = toPath(written, pageUrl)
  return { path: withoutVersion(request), as, request }
}

/** A browser's view of the page's up-front loads (kept separate from the plugin's own parser on purpose). */
function htmlEntries(html: string, pageUrl: string): HtmlEntry[] {
  const entries: HtmlEntry[] = []
  const withoutComments = html.replace(/<!--[\s\S]*?-->/g, '')
  for (const tag of withoutComments.matchAll(/<(script|link)\b([^>]*)>/gi)) {
    const attrs = Object.fromEntries(
      [...tag[2]!.matchAll(/([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/g)].map((m) => [
        m[1]!.toLowerCase(),
        (m[2] ?? m[3] ?? m[4] ?? '').replace(/&amp;/g, '&'),
      ]),
    )
    const tagName = tag[1]!.toLowerCase()
    if (tagName === 'script' && attrs.type === 'module' && attrs.src) {
      entries.push(entryFor(attrs.src, pageUrl, 'script'))
    } else if (tagName === 'link' && attrs.href) {
      const rel = (attrs.rel ?? '').split(/\s+/)
      if (rel.includes('stylesheet')) entries.push(entryFor(attrs.href, pageUrl, 'style'))
      if (rel.includes('modulepreload')) entries.push(entryFor(attrs.href, pageUrl, 'script'))
    }
  }
  // inline module scripts Vite left inline
  for (const script of withoutComments.matchAll(/<script\b[^>]*type=["']?module["']?[^>]*>([\s\S]*?)<\/script>/gi)) {
    if (script[1]!.trim() === '') continue
    for (const specifier of parse(script[1]!)[0]) {
      if (specifier.type === 'static') entries.push(entryFor(specifier.specifier, pageUrl, 'script'))
    }
  }
  return entries
}

function staticImportsOf(response: FetchedResponse, url: string): string[] {
  const type = String(response.headers['content-type'] ?? '')
  if (response.status !== 200 || !type.includes('javascript')) return []
  const [imports] = parse(response.body.toString('utf8'))
  return imports
    .filter((entry) => entry.type === 'static' || entry.type === 'reexport-star')
    .map((entry) => entry.specifier as string)
    .filter((specifier) => /^(\/|\.\.?\/)/.test(specifier) && !specifier.startsWith('//'))
    .map((specifier) => toPath(specifier, url))
}

function toPath(specifier: string, base: string): string {
  const url = new URL(specifier, new URL(base, 'https://h'))
  return url.pathname + url.search
}

/**
 * A GET from a fresh connection that refuses push, the way a plain client sees the server, and
 * answered by Vite itself (never from the plugin's response cache: see {@link BYPASS_RESPONSE_CACHE}).
 */
export async function plainGet(
  origin: string,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<FetchedResponse> {
  // try/finally rather than `await using`: the benchmark imports this file type-stripped on Node 20
  const client = new TestClient(origin, { enablePush: false })
  try {
    return await client.get(path, { ...headers, ...BYPASS_RESPONSE_CACHE })
  } finally {
    await client.close()
  }
}
