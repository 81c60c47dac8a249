import fs from 'node:fs'
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer, type ViteDevServer } from 'vite'
import type { Http2PushApi } from 'vite-plugin-http2-push'
import { capturingLogger } from './capturing-logger.js'

/** The repo's playground app. */
const PLAYGROUND = fileURLToPath(new URL('../../playground', import.meta.url))

export interface Playground {
  server: ViteDevServer
  origin: string
  logs: string[]
  api: Http2PushApi
  /** HTTP/2 sessions the server accepted, in order. */
  sessions: ServerHttp2Session[]
}

/** Starts the playground exactly as `vite` would, from its own config file, on an ephemeral port. */
export async function startPlayground(): Promise<Playground> {
  const logs: string[] = []
  // every start here is a first start: no restart record left by an earlier test's server
  fs.rmSync(path.join(PLAYGROUND, 'node_modules/.vite/http2-push-record.json'), { force: true })
  const server = await createServer({
    configFile: path.join(PLAYGROUND, 'vite.config.ts'),
    root: PLAYGROUND,
    server: { port: 0 },
    logLevel: 'silent',
    customLogger: capturingLogger(logs),
  })
  await server.listen()
  const local = server.resolvedUrls?.local[0]
  if (!local) throw new Error('the playground dev server printed no local URL')
  const plugin = server.config.plugins.find((p) => p.name === 'vite-plugin-http2-push')
  if (!plugin?.api) throw new Error('vite-plugin-http2-push is not among the playground plugins')
  const sessions: ServerHttp2Session[] = []
  ;(server.httpServer as unknown as Http2SecureServer).on('session', (session) => sessions.push(session))
  return { server, origin: new URL(local).origin, logs, api: plugin.api as Http2PushApi, sessions }
}
