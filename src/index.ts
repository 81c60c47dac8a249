import { version as viteVersion, type Plugin, type ResolvedConfig, type ViteDevServer } from 'vite'
import { createDebug } from './debug.js'
import { lexerReady } from './graph/lex-imports.js'
import { createProxiedUrlMatcher } from './guard/proxied-url.js'
import { ServedGraph } from './graph/served-graph.js'
import { createViteFreshnessOracle } from './graph/vite-freshness.js'
import { createFsGuard } from './guard/fs-guard.js'
import { resolveOptions, type Http2PushOptions } from './options.js'
import { KnownPages } from './page/known-pages.js'
import { LearnedClosure } from './learn/learned-closure.js'
import { createLearnableRequests } from './learn/learnable-requests.js'
import { connectionOf } from './graph/request-url.js'
import { createLearningMiddleware } from './learn/learning-middleware.js'
import { createPageMiddleware } from './page/page-middleware.js'
import { warmPageClosures } from './page/warmup.js'
import { ConnectionPushRegistry } from './push/connection-push-state.js'
import { createViteRenderer } from './render/vite-renderer.js'
import { createCachedResponseMiddleware } from './serve/cached-response-middleware.js'
import { EncodedBodies } from './serve/compression.js'
import { sampleSessionsOf } from './serve/connection-rtt.js'
import { createSourceMapRequestMiddleware } from './serve/external-source-map.js'
import { installBeforeViteTransform, installFirst } from './serve/middleware-stack.js'
import { createRenderOwnerMiddleware } from './serve/render-owner-middleware.js'
import { createVersionedRequestMiddleware, versionRequestOf } from './serve/versioned-request-middleware.js'
import { cacheOffWarning, createCacheOffDetector } from './serve/cache-off-detector.js'
import { createProtectedFilesMiddleware } from './guard/protected-files.js'
import { proxyForcesHttp1 } from './vite-version.js'
import { LOG_PREFIX, PLUGIN_NAME } from './plugin-name.js'
import { IdleTracker } from './restart/idle-tracker.js'
import { RestartRecord } from './restart/restart-record.js'
import { LoadReport } from './report/load-report.js'
import { createLoadReportMiddleware } from './report/load-report-page.js'

export type {
  CertificateSource,
  CompressionMode,
  DeliveryMode,
  Http2PushOptions,
  SourceMapDelivery,
} from './options.js'

/** Most bytes of rendered responses kept between page loads. */
const MAX_CACHED_BYTES = 256 * 1024 * 1024
/** Most bytes of compressed responses kept (about a tenth of their size, so a full response cache fits). */
const MAX_ENCODED_BYTES = 32 * 1024 * 1024
/** With a restart record, the warm-up waits until the server has been idle this long. */
const WARMUP_QUIET_MS = 2_000

/** What the plugin exposes to tests and tools through `plugin.api`. */
export interface Http2PushApi {
  /** Number of HTTP/2 connections with push state held; back to 0 when all have closed. */
  readonly connectionCount: number
  /** Number of (url, version) pairs remembered over all open connections. */
  readonly rememberedPushCount: number
  /** Number of responses in the rendered-response cache. */
  readonly cachedResponseCount: number
  /** Number of module and stylesheet GETs answered from that cache instead of by Vite's transform middleware. */
  readonly cachedResponsesServed: number
  /** Of those, requests to a versioned URL answered at their version, `immutable`. */
  readonly immutableResponsesServed: number
  /** Number of URLs learned from what page loads requested, over all pages. */
  readonly learnedUrlCount: number
  /** Bytes of compressed bodies held: 0 while no client has been compressed for. */
  readonly encodedBytes: number
}

/**
 * Serves the Vite dev server over HTTP/2 (TLS, with a cached localhost certificate signed by mkcert's
 * or the plugin's local CA unless `server.https` is set) and pushes each HTML page's whole static module closure.
 */
export function http2Push(options?: Http2PushOptions): Plugin<Http2PushApi> {
  const resolved = resolveOptions(options)
  const connections = new ConnectionPushRegistry()
  const learned = new LearnedClosure()
  let config: ResolvedConfig
  let graph: ServedGraph | undefined
  let record: RestartRecord | undefined
  let cachedResponsesServed = 0
  let immutableResponsesServed = 0
  /** The command that makes the plugin's certificate trusted, while it is not. */
  let trustFix: string | undefined
  const bodies = new EncodedBodies(MAX_ENCODED_BYTES)

  return {
    name: PLUGIN_NAME,
    apply: (_config, env) => env.command === 'serve' && !env.isPreview,

    async configResolved(resolvedConfig) {
      config = resolvedConfig
      const proxy = config.server.proxy
      if (proxy && Object.keys(proxy).length > 0 && !config.server.middlewareMode && proxyForcesHttp1(viteVersion)) {
        config.logger.warn(
          `${LOG_PREFIX} server.proxy is set, so Vite ${viteVersion} serves HTTPS over HTTP/1.1 only: nothing can be pushed. ` +
            `Pages still get modulepreload links. Vite 7.2+ serves HTTP/2 together with a proxy.`,
        )
      }
      if (config.server.https || config.server.middlewareMode) return
      const { devCertificateFor } = await import('./dev-certificate.js')
      const certificate = await devCertificateFor(config, resolved)
      config.server.https = { key: certificate.key, cert: certificate.cert }
      trustFix = certificate.fix
    },

    async configureServer(server: ViteDevServer) {
      // before Vite's own middlewares: its /@fs/ and static serving never see the plugin's key files
      server.middlewares.use(createProtectedFilesMiddleware(server.config))
      await lexerReady()
      const debug = createDebug((message) => config.logger.info(message, { timestamp: true }))
      const guard = createFsGuard(server, debug)
      const served = new ServedGraph(
        createViteRenderer(server),
        createViteFreshnessOracle(server),
        guard,
        MAX_CACHED_BYTES,
        debug,
        createProxiedUrlMatcher(server.config.server.proxy),
      )
      graph = served
      const knownPages = new KnownPages()
      server.middlewares.use(createRenderOwnerMiddleware())
      // each HTTP/2 connection's round trip, which tells a tunnel from a browser on this machine
      if (resolved.compression === 'auto') sampleSessionsOf(server.httpServer)
      const idle = new IdleTracker()
      server.middlewares.use(idle.middleware)
      if (resolved.restartRecord && resolved.mode !== 'off') {
        const context = { server, graph: served, guard, idle, logger: config.logger, debug }
        record = await RestartRecord.open({ ...context, dynamicImports: resolved.dynamicImports })
        server.watcher.on('all', (_event: string, file: string) => record?.fileChanged(file))
        for (const [pageUrl, entries] of record.recordedEntries()) knownPages.remember(pageUrl, entries)
        const warmFetched = () => record?.warmFetched()
        if (server.httpServer) server.httpServer.once('listening', warmFetched)
        else warmFetched()
      }
      if (resolved.mode !== 'off')
        server.middlewares.use(createLearningMiddleware(learned, createLearnableRequests(server, guard, debug)))
      const report = resolved.mode === 'off' ? undefined : new LoadReport(server.config.base, () => trustFix)
      if (report) server.middlewares.use(createLoadReportMiddleware(server.config, report, learned))
      server.middlewares.use(
        createPageMiddleware({
          learned,
          graph: served,
          connections,
          options: resolved,
          logger: config.logger,
          debug,
          knownPages,
          bodies,
          record,
          report,
        }),
      )
      if (resolved.warmup && resolved.mode !== 'off') {
        const warm = () => {
          warmPageClosures(server, served, {
            dynamicImports: resolved.dynamicImports,
            guard,
            onPage: (pageUrl, entries) => knownPages.remember(pageUrl, entries),
            debug,
          }).catch((error: unknown) => debug?.(`warm-up failed: ${(error as Error).message}`))
        }
        // with recorded pages, the first load needs no warm-up: it waits until the server is idle
        const start = record && record.pageCount > 0 ? () => void idle.whenIdle(WARMUP_QUIET_MS, warm) : warm
        if (server.httpServer) server.httpServer.once('listening', start)
        else start()
      }
      if (resolved.mode === 'off') return undefined
      // After Vite's internal middlewares are in place: answer module GETs from the cache, and
      // take the version off versioned URLs before anything else sees them.
      return () => {
        const cacheOff = createCacheOffDetector((evidence) =>
          config.logger.warn(`${LOG_PREFIX} ${cacheOffWarning(evidence, trustFix)}`, { timestamp: true }),
        )
        const externalSourceMaps = resolved.sourceMaps === 'external'
        const handler = createCachedResponseMiddleware(
          served,
          server.config.server.headers,
          (answer, req) => {
            cachedResponsesServed++
            if (answer !== 'immutable') return
            immutableResponsesServed++
            const versioned = versionRequestOf(req)
            if (versioned) cacheOff.servedImmutable(versioned.url, req.headers, connectionOf(req))
          },
          { externalSourceMaps, compression: resolved.compression, bodies },
        )
        const installed = installBeforeViteTransform(server.middlewares, handler)
        if (!installed) {
          config.logger.warn(
            `${LOG_PREFIX} Vite ${viteVersion} has no middleware named viteTransformMiddleware: module requests ` +
              `are left to Vite and versioned URLs are not answered immutable. Please report this with your Vite version.`,
          )
        }
        // map URLs are only ever handed out (and answered) by the handler above
        if (installed && externalSourceMaps) installFirst(server.middlewares, createSourceMapRequestMiddleware())
        if (resolved.importMap)
          installFirst(
            server.middlewares,
            createVersionedRequestMiddleware((url, req) => cacheOff.requested(url, req.headers, connectionOf(req))),
          )
      }
    },

    async closeBundle() {
      await record?.close()
    },

    api: {
      get connectionCount() {
        return connections.connectionCount
      },
      get rememberedPushCount() {
        return connections.rememberedCount
      },
      get cachedResponseCount() {
        return graph?.size ?? 0
      },
      get cachedResponsesServed() {
        return cachedResponsesServed
      },
      get immutableResponsesServed() {
        return immutableResponsesServed
      },
      get learnedUrlCount() {
        return learned.urlCount
      },
      get encodedBytes() {
        return bodies.size
      },
    },
  }
}

export default http2Push
