import type { IncomingMessage } from 'node:http'
import type { CompressionMode } from '../options.js'
import type { Http2Session } from 'node:http2'
import { http2SessionOf } from '../graph/request-url.js'
import { remoteBySamples, rttOf } from './connection-rtt.js'

/**
 * What a request's connection is. Read while its stream is open: once an HTTP/2 stream has
 * closed, its request's socket no longer names the session or the address.
 */
export interface ClientConnection {
  address: string | undefined
  /** The HTTP/2 session, or undefined for HTTP/1.1. */
  session: Http2Session | undefined
}

/** The connection `req` came on (see {@link ClientConnection}). */
export function clientOf(req: IncomingMessage): ClientConnection {
  return { address: req.socket?.remoteAddress, session: http2SessionOf(req) }
}

/** Whether a client's responses are compressed, and why, in the words of the page's log line. */
export interface CompressionChoice {
  compress: boolean
  /** E.g. `RTT 41 ms`, `loopback, RTT 0.1 ms`, `not on loopback`. */
  why: string
}

/** True for an address on the loopback interface (127.0.0.0/8, ::1, and IPv4-mapped 127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false
  return address === '::1' || /^(?:::ffff:)?127\./i.test(address)
}

/**
 * Whether `mode` compresses for `client`. `'auto'` decides by what the connection is:
 * a client not on loopback is compressed; one on loopback (a browser on this machine, or one
 * through an SSH tunnel, a port forward, a codespace) is compressed when its HTTP/2 PING round
 * trip says it is remote (see {@link remoteBySamples}). Until that is known, and for HTTP/1.1
 * (no PING; its TLS handshake times are dominated by CPU, 7–30 ms at loopback), by the address.
 */
export function compressionChoice(client: ClientConnection, mode: CompressionMode): CompressionChoice {
  if (mode === 'off') return { compress: false, why: "compression: 'off'" }
  if (mode === 'always') return { compress: true, why: "compression: 'always'" }
  if (!isLoopback(client.address)) return { compress: true, why: 'not on loopback' }
  const samples = rttOf(client.session)
  if (!samples) return { compress: false, why: 'loopback, HTTP/1.1' }
  const remote = remoteBySamples(samples)
  if (remote === undefined || samples.minMs === undefined)
    return { compress: false, why: 'loopback, RTT not known yet' }
  const rtt = `RTT ${formatMs(samples.minMs)}`
  return remote ? { compress: true, why: rtt } : { compress: false, why: `loopback, ${rtt}` }
}

/** The log line's words for a choice: `compressed: RTT 41 ms`, `not compressed: loopback, RTT 0.1 ms`. */
export function describeChoice(choice: CompressionChoice): string {
  return `${choice.compress ? 'compressed' : 'not compressed'}: ${choice.why}`
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}
