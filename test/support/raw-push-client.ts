import http2 from 'node:http2'
import tls from 'node:tls'
import { DOCUMENT_REQUEST } from './browser-headers.mjs'
import type { FetchedResponse } from './http2-clients.js'

/** A push promise as a raw client saw it: the stream is left alone (paused) until the test reads it. */
export interface RawPush {
  path: string
  requestHeaders: http2.IncomingHttpHeaders
  stream: http2.ClientHttp2Stream
  receivedAt: number
  /** The pushed response's headers, once they arrived (recorded even while the body is left unread). */
  responseHeaders?: http2.IncomingHttpHeaders
}

/**
 * A `node:http2` client that accepts push but does nothing with a pushed stream unless told to,
 * for clients that misbehave on purpose (reset, stall, go away, drop the socket). The TLS socket
 * is kept, so a test can destroy it under the session (`session.socket` refuses that). Closes
 * itself at the end of the block that holds it with `await using`.
 */
export class RawPushClient implements AsyncDisposable {
  readonly session: http2.ClientHttp2Session
  readonly pushes: RawPush[] = []
  socket!: tls.TLSSocket
  /** Called for each push promise, after it was recorded. */
  onPush: ((push: RawPush) => void) | undefined

  constructor(
    origin: string,
    options: { settings?: http2.Settings; maxReservedRemoteStreams?: number; onPush?: (push: RawPush) => void } = {},
  ) {
    const url = new URL(origin)
    this.onPush = options.onPush
    this.session = http2.connect(origin, {
      maxReservedRemoteStreams: options.maxReservedRemoteStreams ?? 2000,
      settings: { enablePush: true, ...options.settings },
      createConnection: () => {
        this.socket = tls.connect({
          host: url.hostname,
          port: Number(url.port),
          servername: url.hostname,
          ALPNProtocols: ['h2'],
          rejectUnauthorized: false,
        })
        return this.socket
      },
    })
    this.session.on('error', () => {})
    this.session.on('stream', (stream, requestHeaders) => {
      stream.on('error', () => {})
      const push: RawPush = {
        path: String(requestHeaders[':path']),
        requestHeaders,
        stream,
        receivedAt: performance.now(),
      }
      stream.once('push', (headers) => (push.responseHeaders = headers))
      this.pushes.push(push)
      this.onPush?.(push)
    })
  }

  /** Requests `path` as a document; the stream is returned unread. */
  requestPage(path: string): http2.ClientHttp2Stream {
    const stream = this.session.request({ ':path': path, ...DOCUMENT_REQUEST })
    stream.on('error', () => {})
    return stream
  }

  /** Closes the session gracefully, or destroys it when it does not close within `timeoutMs`. */
  close(timeoutMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      if (this.session.destroyed) return resolve()
      const timer = setTimeout(() => {
        this.session.destroy()
        resolve()
      }, timeoutMs)
      this.session.close(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  destroy(): void {
    this.session.destroy()
    this.socket?.destroy()
  }
}

/**
 * Reads a response (a request or a pushed stream) to its end; resolves undefined when the stream
 * is reset or fails instead (a cut-off response), never rejects.
 */
export function readToEnd(
  stream: http2.ClientHttp2Stream,
  knownHeaders?: http2.IncomingHttpHeaders,
): Promise<FetchedResponse | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let headers: http2.IncomingHttpHeaders = knownHeaders ?? {}
    let ended = false
    let aborted = false
    stream.once('response', (received) => (headers = received))
    stream.once('push', (received) => (headers = received))
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => (ended = true))
    stream.once('aborted', () => (aborted = true))
    stream.on('error', () => {})
    const settle = () => {
      const { ':status': status, ...rest } = headers
      const complete = ended && !aborted && status !== undefined && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR
      resolve(
        complete
          ? { status: Number(status), headers: rest as Record<string, string | string[]>, body: Buffer.concat(chunks) }
          : undefined,
      )
    }
    if (stream.closed || stream.destroyed) settle()
    else stream.once('close', settle)
    // a paused stream never ends: flowing mode from here on
    stream.resume()
  })
}

/** Reads a push that may have been left paused so far (its headers may have arrived already). */
export function readPush(push: RawPush): Promise<FetchedResponse | undefined> {
  return readToEnd(push.stream, push.responseHeaders)
}
