// Starts ONE benchmark server configuration in this process and reports `{ type: 'ready', url }`
// over IPC (run.mjs starts it as a child, inside the server's network namespace when there is a
// delay link). Answers IPC requests: `stats` (CPU used so far, plugin log lines since the last
// call, plugin.api counters, memory after a GC) and `close`.
//
//   node --expose-gc bench/serve.mjs '<json>'   with json = {
//     kind: 'vite-h1' | 'vite-h2' | 'plugin' | 'preview' | 'floor' | 'build'
//         | 'vite-h2-immutable' (Vite HTTP/2, every non-document response forced `immutable`: a
//           reload floor, correct only without edits)
//         | 'plugin-nomap' (the plugin with `importMap: false`: as it was before the import map)
//         | 'plugin-norecord' (the plugin with `restartRecord: false`: no restart record, issue 19;
//           when the plugin does not know the option yet, the child reports
//           `{ type: 'ready', unsupported: <the plugin's message> }` and exits)
//         | 'plugin-raw' (the plugin with `compression: 'off'`, `sourceMaps: 'inline'`: Vite's bytes)
//         | 'plugin-always' (the plugin with `compression: 'always'`: compresses for loopback clients too)
//         | 'vite-bundled' (Vite HTTP/2 with `experimental.bundledDev: true`),
//     root, host, cacheDir, certDir, outDir, input?, optimizeDeps?, recording?,
//     port? (a dev server's port, strict: the restart scenario starts a server again on the port
//            its predecessor had, so the browser's cache and trust stay valid; default any),
//     framework? ('sveltekit': the app's own Vite, framework plugins and packed plugin, from its
//                 bench-entry.mjs; the framework decides where it builds) }
//
// kind 'build' runs `vite build` into outDir, reports ready and exits.
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { pathToFileURL } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { serveRequests } from './lib/child.mjs'

const options = JSON.parse(process.argv[2])
const lines = []

function capturingLogger(createLogger) {
  const logger = createLogger('info', { allowClearScreen: false })
  const capture = (level) => (message) => {
    const clean = stripVTControlCharacters(String(message))
    lines.push(clean)
    process.stdout.write(`[${level}] ${new Date().toISOString().slice(11, 23)} ${clean}\n`)
  }
  return {
    ...logger,
    info: capture('info'),
    warn: capture('warn'),
    warnOnce: capture('warn'),
    error: capture('error'),
    clearScreen() {},
  }
}

function readCert() {
  return {
    key: fs.readFileSync(path.join(options.certDir, 'key.pem'), 'utf8'),
    cert: fs.readFileSync(path.join(options.certDir, 'cert.pem'), 'utf8'),
  }
}

/**
 * Vite, the framework's plugins (none for a plain app) and the plugin's factory: the repo's, or,
 * for a framework app, the app's own (SvelteKit reads its config from the working directory).
 */
async function loadTools() {
  if (!options.framework) {
    const vite = await import('vite')
    return {
      vite,
      frameworkPlugins: async () => [],
      http2Push: async () => (await import('../dist/index.js')).http2Push,
    }
  }
  process.chdir(options.root)
  const entry = await import(pathToFileURL(path.join(options.root, 'bench-entry.mjs')).href)
  return {
    vite: entry.vite,
    frameworkPlugins: async () => [await entry.frameworkPlugins()].flat(),
    http2Push: async () => entry.http2Push,
  }
}

function viteBase(vite) {
  return {
    root: options.root,
    configFile: false,
    envDir: false,
    logLevel: 'info',
    clearScreen: false,
    customLogger: capturingLogger(vite.createLogger),
    cacheDir: options.cacheDir,
    optimizeDeps: options.optimizeDeps ?? {},
  }
}

function buildOptions() {
  // a framework decides where its build goes (SvelteKit: .svelte-kit/output)
  if (options.framework) return {}
  return {
    outDir: options.outDir,
    emptyOutDir: true,
    ...(options.input
      ? { rolldownOptions: { input: options.input.map((file) => path.join(options.root, file)) } }
      : {}),
  }
}

let plugin
/** What reached this server: requests (by kind and status) and the bytes of every TCP connection. */
const traffic = {
  requests: 0,
  documents: 0,
  notModified: 0,
  bytesWritten: 0,
  bytesRead: 0,
  connections: 0,
  urls: [],
}
const liveSockets = new Set()

/** Counts every TCP connection's bytes (TLS records and HTTP framing included: what crosses the wire) and every request. */
function observe(server) {
  server.on('connection', (socket) => {
    traffic.connections++
    liveSockets.add(socket)
    socket.once('close', () => {
      traffic.bytesWritten += socket.bytesWritten
      traffic.bytesRead += socket.bytesRead
      liveSockets.delete(socket)
    })
  })
  server.prependListener('request', (req, res) => {
    traffic.requests++
    const document = isDocument(req)
    if (document) traffic.documents++
    if (traffic.urls.length < 5000) traffic.urls.push(req.url)
    res.once('finish', () => {
      if (res.statusCode === 304) traffic.notModified++
    })
  })
}

function isDocument(req) {
  const dest = req.headers['sec-fetch-dest']
  if (dest) return dest === 'document'
  return /text\/html/.test(req.headers.accept ?? '')
}

function trafficNow() {
  let written = traffic.bytesWritten
  let read = traffic.bytesRead
  for (const socket of liveSockets) {
    written += socket.bytesWritten
    read += socket.bytesRead
  }
  return { ...traffic, urls: traffic.urls.splice(0), bytesWritten: written, bytesRead: read }
}

const IMMUTABLE = 'max-age=31536000, immutable'

/** The reload floor: every response but the page itself says `immutable` (wrong after an edit; a floor only). */
function forceImmutable() {
  return {
    name: 'bench-force-immutable',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!isDocument(req)) {
          const writeHead = res.writeHead
          res.writeHead = function (...args) {
            if (!res.headersSent && res.statusCode < 400 && (args[0] ?? res.statusCode) < 400)
              res.setHeader('Cache-Control', IMMUTABLE)
            return writeHead.apply(this, args)
          }
          const setHeader = res.setHeader
          res.setHeader = function (name, value) {
            if (String(name).toLowerCase() === 'cache-control') value = IMMUTABLE
            return setHeader.call(this, name, value)
          }
        }
        next()
      })
    },
  }
}
/**
 * Keeps one HMR WebSocket connected to this dev server for its whole life, as a second open tab
 * would. Without any client, Vite buffers a full-reload (an edit made while no page was open) and
 * sends it to the next page that connects: the next configuration's cold load would reload itself.
 */
function connectHmrSink(url, base) {
  const target = new URL(url)
  const options = { host: target.hostname, port: Number(target.port) }
  const socket =
    target.protocol === 'https:'
      ? tls.connect({ ...options, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], servername: 'localhost' })
      : net.connect(options)
  socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    socket.write(
      [
        `GET ${base} HTTP/1.1`,
        `Host: ${target.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Protocol: vite-hmr',
        '',
        '',
      ].join('\r\n'),
    )
  })
  let head = ''
  socket.on('data', (chunk) => {
    if (head !== undefined) {
      head += chunk.toString('latin1')
      if (head.includes('\r\n\r\n')) {
        process.stdout.write(`[bench] HMR sink: ${head.split('\r\n')[0]}\n`)
        head = undefined
      }
    }
  })
  socket.on('error', (error) => process.stdout.write(`[bench] HMR sink: ${error.message}\n`))
  socket.unref()
  return socket
}

/** The plugin's options per server kind. */
const PLUGIN_VARIANTS = {
  plugin: {},
  'plugin-nomap': { importMap: false },
  'plugin-norecord': { restartRecord: false },
  'plugin-raw': { compression: 'off', sourceMaps: 'inline' },
  'plugin-always': { compression: 'always' },
}

/** The plugin for `kind`; a plugin that rejects `restartRecord` (before issue 19) makes `plugin-norecord` unsupported. */
function createPlugin(http2Push, kind) {
  try {
    return http2Push({ certDir: options.certDir, ...PLUGIN_VARIANTS[kind] })
  } catch (error) {
    if (kind === 'plugin-norecord' && /`restartRecord` is not an option/.test(error?.message))
      throw Object.assign(new Error(String(error.message).split(';')[0]), { unsupported: true })
    throw error
  }
}

let closeServer = async () => {}
let floorStats
let url

async function start() {
  const { kind } = options
  if (kind === 'floor') {
    const { loadRecording, startFloorServer } = await import('./lib/floor.mjs')
    const { key, cert } = readCert()
    const { server, stats } = await startFloorServer({
      recording: loadRecording(options.recording),
      key,
      cert,
      host: options.host,
    })
    floorStats = stats
    observe(server)
    closeServer = () => new Promise((resolve) => server.close(() => resolve()))
    return `https://${options.publicHost}:${server.address().port}`
  }
  const tools = await loadTools()
  const { vite } = tools
  if (kind === 'build') {
    await vite.build({
      ...viteBase(vite),
      plugins: await tools.frameworkPlugins(),
      logLevel: 'warn',
      build: buildOptions(),
    })
    return undefined
  }
  if (kind === 'preview') {
    const server = await vite.preview({
      ...viteBase(vite),
      plugins: await tools.frameworkPlugins(),
      build: buildOptions(),
      preview: { host: options.host, port: 0, strictPort: false, https: readCert(), open: false },
    })
    observe(server.httpServer)
    closeServer = () => server.close()
    return `https://${options.publicHost}:${server.httpServer.address().port}`
  }
  const plugins = await tools.frameworkPlugins()
  if (kind === 'vite-h2-immutable') plugins.push(forceImmutable())
  if (kind.startsWith('plugin')) {
    const http2Push = await tools.http2Push()
    plugin = createPlugin(http2Push, kind)
    plugins.push(plugin)
  }
  const server = await vite.createServer({
    ...viteBase(vite),
    plugins,
    server: {
      host: options.host,
      port: options.port ?? 0,
      strictPort: options.port !== undefined,
      open: false,
      ...(kind === 'vite-h2' || kind === 'vite-h2-immutable' || kind === 'vite-bundled' ? { https: readCert() } : {}),
    },
    ...(kind === 'vite-bundled' ? { experimental: { bundledDev: true } } : {}),
  })
  if (server.httpServer) observe(server.httpServer)
  await server.listen()
  const scheme = kind === 'vite-h1' ? 'http' : 'https'
  const own = `${scheme}://${options.publicHost}:${server.httpServer.address().port}`
  // bundledDev announces its first bundle to the page over HMR: no sink there (its first load
  // may reload itself; the bench then times from the first navigation)
  const sink = kind === 'vite-bundled' ? undefined : connectHmrSink(own, server.config.base)
  closeServer = () => (sink?.destroy(), server.close())
  return own
}

serveRequests({
  stats({ gc }) {
    if (gc && typeof globalThis.gc === 'function') {
      globalThis.gc()
      globalThis.gc()
    }
    const cpu = process.cpuUsage()
    const memory = process.memoryUsage()
    const logs = lines.splice(0)
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      logs,
      memory: {
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
      },
      api: plugin?.api
        ? {
            connectionCount: plugin.api.connectionCount,
            rememberedPushCount: plugin.api.rememberedPushCount,
            cachedResponseCount: plugin.api.cachedResponseCount,
          }
        : undefined,
      floor: floorStats ? { ...floorStats } : undefined,
      traffic: trafficNow(),
    }
  },
  async close() {
    await Promise.race([closeServer(), new Promise((resolve) => setTimeout(resolve, 5000))])
    return true
  },
})

try {
  url = await start()
  // listeningMs: since this process started (node's performance.now()), at the moment it listens
  process.send({ type: 'ready', url, pid: process.pid, listeningMs: performance.now() })
  if (options.kind === 'build') setImmediate(() => process.exit(0))
} catch (error) {
  if (error?.unsupported) {
    process.stdout.write(`[bench] ${options.kind} is not supported by this plugin: ${error.message}\n`)
    process.send({ type: 'ready', unsupported: error.message, pid: process.pid }, () => process.exit(0))
  } else {
    process.stderr.write(`${error?.stack ?? error}\n`)
    process.exit(1)
  }
}
