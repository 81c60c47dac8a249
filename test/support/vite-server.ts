import os from 'node:os'
import path from 'node:path'
import { createServer, type InlineConfig, type ViteDevServer } from 'vite'
import http2Push, { type Http2PushOptions } from 'vite-plugin-http2-push'
import { capturingLogger } from './capturing-logger.js'

/** A running dev server for a test, with the log lines it printed; closes itself when held with `await using`. */
export interface TestServer extends AsyncDisposable {
  server: ViteDevServer
  /** `https://localhost:PORT` (no trailing slash). */
  origin: string
  logs: string[]
  plugin: ReturnType<typeof http2Push>
  close(): Promise<void>
}

/** Starts a real Vite dev server on an ephemeral port with the plugin built from this repo. */
export async function startTestServer(
  root: string,
  pluginOptions: Http2PushOptions = {},
  config: InlineConfig = {},
): Promise<TestServer> {
  const logs: string[] = []
  const plugin = http2Push({ certDir: path.join(os.tmpdir(), 'vite-plugin-http2-push-test-cert'), ...pluginOptions })
  const server = await createServer({
    root,
    configFile: false,
    logLevel: 'info',
    customLogger: capturingLogger(logs),
    cacheDir: path.join(root, 'node_modules/.vite'),
    ...config,
    plugins: [plugin, ...(config.plugins ?? [])],
    server: { port: 0, host: 'localhost', ...config.server },
  })
  await server.listen()
  const local = server.resolvedUrls?.local[0]
  if (!local) throw new Error('the dev server printed no local URL')
  const origin = new URL(local).origin
  const close = () => server.close()
  return { server, origin, logs, plugin, close, [Symbol.asyncDispose]: close }
}

/** `closeable` (a preview server, a bare Vite server, ...) closed at the end of the block that holds it with `await using`. */
export function closing<T extends { close(): Promise<unknown> }>(closeable: T): T & AsyncDisposable {
  return Object.assign(closeable, { [Symbol.asyncDispose]: async () => void (await closeable.close()) })
}
