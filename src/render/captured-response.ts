import { Writable } from 'node:stream'
import type { RenderedResponse } from '../graph/rendered-response.js'

type HeaderValue = string | number | readonly string[]

/**
 * The response half of an in-process request: enough of `http.ServerResponse` for Connect
 * middlewares (`setHeader`, `writeHead`, `write`, `end`, piping) while capturing status,
 * headers and body in memory instead of writing to a socket.
 */
export class CapturedResponse extends Writable {
  statusCode = 200
  statusMessage = ''
  headersSent = false
  readonly sendDate = false
  private readonly headerMap = new Map<string, string | string[]>()
  private readonly chunks: Buffer[] = []

  setHeader(name: string, value: HeaderValue): this {
    this.headerMap.set(name.toLowerCase(), normalizeHeaderValue(value))
    return this
  }

  appendHeader(name: string, value: HeaderValue): this {
    const key = name.toLowerCase()
    const previous = this.headerMap.get(key)
    const added = normalizeHeaderValue(value)
    if (previous === undefined) this.headerMap.set(key, added)
    else this.headerMap.set(key, [...toArray(previous), ...toArray(added)])
    return this
  }

  getHeader(name: string): string | string[] | undefined {
    return this.headerMap.get(name.toLowerCase())
  }

  getHeaders(): Record<string, string | string[]> {
    return Object.fromEntries(this.headerMap)
  }

  getHeaderNames(): string[] {
    return [...this.headerMap.keys()]
  }

  hasHeader(name: string): boolean {
    return this.headerMap.has(name.toLowerCase())
  }

  removeHeader(name: string): void {
    this.headerMap.delete(name.toLowerCase())
  }

  writeHead(statusCode: number, ...rest: unknown[]): this {
    this.statusCode = statusCode
    const headers = rest.find((value) => value !== null && typeof value === 'object')
    const message = rest.find((value) => typeof value === 'string')
    if (typeof message === 'string') this.statusMessage = message
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(String(headers[i]), headers[i + 1])
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (value !== undefined) this.setHeader(name, value as HeaderValue)
      }
    }
    this.headersSent = true
    return this
  }

  flushHeaders(): void {
    this.headersSent = true
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.headersSent = true
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)
    callback()
  }

  /** The captured response; valid once the middleware chain ended it. */
  toRenderedResponse(): RenderedResponse {
    return { status: this.statusCode, headers: this.getHeaders(), body: Buffer.concat(this.chunks) }
  }
}

function normalizeHeaderValue(value: HeaderValue): string | string[] {
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? value : [...value]
}

function toArray(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value]
}
