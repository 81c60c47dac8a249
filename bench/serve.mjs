// Starts ONE benchmark server configuration in this process and reports `{ type: 'ready', url }`
// over IPC (run.mjs starts it as a child, inside the server's network namespace when there is a
// delay link). Answers IPC requests: `stats` (CPU used so far, plugin log lines since the last
// call, plugin.api counters, memory after a GC) and `close`.
//
//   node --expose-gc bench/serve.mjs '<json>'   with json = {
//     kind: 'vite-h1' | 'vite-h2' | 'plugin' | 'preview' | 'floor' | 'build',
//     root, host, cacheDir, certDir, outDir, input?, optimizeDeps?, recording? }
//
// kind 'build' runs `vite build` into outDir, reports ready and exits.
import fs from 'node:fs'
import path from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { serveRequests } from './lib/child.mjs'

const options = JSON.parse(process.argv[2])
const lines = []

function capturingLogger(createLogger) {
  const logger = createLogger('info', { allowClearScreen: false })
  const capture = (level) => (message) => {
    const clean = stripVTControlCharacters(String(message))
    lines.push(clean)
    process.stdout.write(`[${level}] ${clean}\n`)
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
  return {
    outDir: options.outDir,
    emptyOutDir: true,
    ...(options.input
      ? { rolldownOptions: { input: options.input.map((file) => path.join(options.root, file)) } }
      : {}),
  }
}

let plugin
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
    closeServer = () => new Promise((resolve) => server.close(() => resolve()))
    return `https://${options.publicHost}:${server.address().port}`
  }
  const vite = await import('vite')
  if (kind === 'build') {
    await vite.build({ ...viteBase(vite), logLevel: 'warn', build: buildOptions() })
    return undefined
  }
  if (kind === 'preview') {
    const server = await vite.preview({
      ...viteBase(vite),
      build: buildOptions(),
      preview: { host: options.host, port: 0, strictPort: false, https: readCert(), open: false },
    })
    closeServer = () => server.close()
    return `https://${options.publicHost}:${server.httpServer.address().port}`
  }
  const plugins = []
  if (kind === 'plugin') {
    const { http2Push } = await import('../dist/index.js')
    plugin = http2Push({ certDir: options.certDir })
    plugins.push(plugin)
  }
  const server = await vite.createServer({
    ...viteBase(vite),
    plugins,
    server: {
      host: options.host,
      port: 0,
      strictPort: false,
      open: false,
      ...(kind === 'vite-h2' ? { https: readCert() } : {}),
    },
  })
  await server.listen()
  closeServer = () => server.close()
  const scheme = kind === 'vite-h1' ? 'http' : 'https'
  return `${scheme}://${options.publicHost}:${server.httpServer.address().port}`
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
    }
  },
  async close() {
    await Promise.race([closeServer(), new Promise((resolve) => setTimeout(resolve, 5000))])
    return true
  },
})

try {
  url = await start()
  process.send({ type: 'ready', url, pid: process.pid })
  if (options.kind === 'build') setImmediate(() => process.exit(0))
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n`)
  process.exit(1)
}
