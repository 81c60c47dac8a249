import { Readable } from 'node:stream'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { RenderedResponse } from '../graph/rendered-response.js'
import { CapturedResponse } from './captured-response.js'
import { SocketStandIn } from './socket-stand-in.js'

/** Any Connect-style request handler, such as `server.middlewares`. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

const syntheticRequests = new WeakSet<object>()

/** True for requests this plugin made itself (so its own middleware lets them through untouched). */
export function isInProcessRequest(req: object): boolean {
  return syntheticRequests.has(req)
}

/**
 * Runs a GET for `url` through Vite's own middleware stack in this process and captures the
 * response. Because it is the same code path as a browser's GET, status, headers and body are
 * exactly what that GET would return, without a socket, TLS or HTTP parsing.
 */
export function renderInProcess(
  handler: RequestHandler,
  url: string,
  headers: IncomingHttpHeaders,
  timeoutMs: number,
): Promise<RenderedResponse> {
  const req = createRequest(url, headers)
  const res = new CapturedResponse()
  return new Promise<RenderedResponse>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no response for ${url} within ${timeoutMs} ms`))
    }, timeoutMs)
    timer.unref()
    res.once('finish', () => {
      clearTimeout(timer)
      resolve(res.toRenderedResponse())
    })
    res.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    try {
      handler(req, res as unknown as ServerResponse, (error?: unknown) => {
        // Nothing in the stack answered (or it failed): a GET would get Vite's 404/500.
        clearTimeout(timer)
        if (error) reject(error instanceof Error ? error : new Error(String(error)))
        else resolve({ status: 404, headers: {}, body: Buffer.alloc(0) })
      })
    } catch (error) {
      clearTimeout(timer)
      reject(error)
    }
  })
}

function createRequest(url: string, headers: IncomingHttpHeaders): IncomingMessage {
  const req = new Readable({ read() {} }) as Readable & Record<string, unknown>
  req.push(null)
  const socket = new SocketStandIn()
  Object.assign(req, {
    url,
    originalUrl: url,
    method: 'GET',
    headers: { ...headers },
    rawHeaders: Object.entries(headers).flatMap(([name, value]) => [name, String(value)]),
    httpVersion: '2.0',
    httpVersionMajor: 2,
    httpVersionMinor: 0,
    complete: true,
    aborted: false,
    socket,
    connection: socket,
  })
  syntheticRequests.add(req)
  return req as unknown as IncomingMessage
}
