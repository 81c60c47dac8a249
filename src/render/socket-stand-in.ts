import { EventEmitter } from 'node:events'

/**
 * What an in-process request has for `req.socket` (and `req.connection`): enough of a TLS socket
 * from loopback for the middlewares that read one (the client's address for `X-Forwarded-For`,
 * `encrypted` for the protocol, `setTimeout` for a proxy's timeout), without any I/O. Nothing is
 * ever sent on it: writing is a no-op, and the response is captured by the request's own response.
 */
export class SocketStandIn extends EventEmitter {
  readonly remoteAddress = '127.0.0.1'
  readonly remoteFamily = 'IPv4'
  readonly remotePort = 0
  readonly localAddress = '127.0.0.1'
  readonly localPort = 0
  readonly encrypted = true
  readonly alpnProtocol = 'h2'
  readonly readable = true
  readonly writable = true
  readonly destroyed = false
  readonly bytesRead = 0
  readonly bytesWritten = 0

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: this.remoteFamily, port: this.localPort }
  }
  setTimeout(): this {
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }
  pause(): this {
    return this
  }
  resume(): this {
    return this
  }
  write(): boolean {
    return true
  }
  end(): this {
    return this
  }
  destroy(): this {
    return this
  }
}
