import type { Http2Session } from 'node:http2'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

/**
 * Round trip over which a connection counts as remote (a tunnel or port forward that arrives from
 * loopback). An HTTP/2 PING at loopback answers in 0.05–0.3 ms, a forwarder on the same machine
 * (docker-proxy, WSL's localhost relay) adds well under a millisecond, but a busy dev server's
 * first sample of a session read 1.5–2.3 ms at loopback (2 shared cores, a cold load): 5 ms keeps
 * twice that margin. A tunnel to another site (SSH, a codespace, a cloud box) is over 5 ms; one
 * across a LAN may not be, and there bandwidth is rarely what a load waits for.
 */
export const REMOTE_RTT_MS = 5

/** A session's samples are taken again after this long, on its next request. */
const RESAMPLE_AFTER_MS = 30_000
/** An unsettled session is sampled again after this long, on its next request. */
const RETRY_AFTER_MS = 1000

/** What is known of one HTTP/2 connection's round trip. */
export interface RttSamples {
  /** The lowest round trip seen, in ms (undefined before the first answer). */
  minMs: number | undefined
  /** Answered PINGs. */
  count: number
}

/**
 * Whether `samples` say the connection is remote. A sample can only err high (the PING's answer
 * waits while the event loop is busy), never low: one low sample settles "local", a high one
 * needs a second to confirm it, and a high one taken while the loop was busy is not counted.
 * Undefined while that is not settled (the address decides meanwhile).
 */
export function remoteBySamples(samples: RttSamples): boolean | undefined {
  if (samples.minMs === undefined) return undefined
  if (samples.minMs <= REMOTE_RTT_MS) return false
  return samples.count >= 2 ? true : undefined
}

interface SessionRtt extends RttSamples {
  pinging: boolean
  /** performance.now() of the last PING sent. */
  sentAt: number
  settled: Array<() => void>
  /** Samples in a row that told nothing (taken while the loop was blocked). */
  unclear: number
}

/** Samples in a row that may tell nothing before the session waits for a later request. */
const MAX_UNCLEAR = 3

const bySession = new WeakMap<Http2Session, SessionRtt>()

/** Starts sampling each HTTP/2 session's round trip as it opens (a server without sessions is left alone). */
export function sampleSessionsOf(server: { on(event: string, listener: (...args: never[]) => void): unknown } | null) {
  server?.on('session', (session: Http2Session) => void sessionRtt(session))
}

/**
 * The round-trip samples of an HTTP/2 session (undefined for none: HTTP/1.1 has no PING),
 * sampling again when the last PING is old.
 */
export function rttOf(session: Http2Session | undefined): RttSamples | undefined {
  if (!session) return undefined
  const state = sessionRtt(session)
  const after = remoteBySamples(state) === undefined ? RETRY_AFTER_MS : RESAMPLE_AFTER_MS
  if (!state.pinging && performance.now() - state.sentAt > after) ping(session, state)
  return state
}

/** Resolves once `session` is settled local or remote, or after `timeoutMs`. */
export function rttSettled(session: Http2Session | undefined, timeoutMs: number): Promise<void> {
  const state = session && sessionRtt(session)
  if (!state || remoteBySamples(state) !== undefined || !state.pinging) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs)
    timer.unref?.()
    state.settled.push(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function sessionRtt(session: Http2Session): SessionRtt {
  let state = bySession.get(session)
  if (!state) {
    state = { minMs: undefined, count: 0, pinging: false, sentAt: 0, settled: [], unclear: 0 }
    bySession.set(session, state)
    ping(session, state)
  }
  return state
}

function ping(session: Http2Session, state: SessionRtt): void {
  if (session.destroyed || session.closed) return settle(state)
  state.pinging = true
  state.sentAt = performance.now()
  watchLoop()
  try {
    const sent = session.ping((error, duration) => {
      state.pinging = false
      const blocked = unwatchLoop()
      if (error) return settle(state)
      // The answer may have waited in this process while its event loop was blocked (a cold
      // load's transforms; in a test, the client itself): at most the longest block. What
      // remains is the wire's.
      const wire = duration <= REMOTE_RTT_MS ? duration : duration - blocked
      if (wire <= REMOTE_RTT_MS && duration > REMOTE_RTT_MS) {
        // tells nothing: again now, a few times, then on a later request
        if (++state.unclear < MAX_UNCLEAR) return ping(session, state)
        state.unclear = 0
        return settle(state)
      }
      state.unclear = 0
      state.count++
      state.minMs = Math.min(state.minMs ?? Infinity, wire)
      // a first high sample is confirmed by a second at once
      if (remoteBySamples(state) === undefined) ping(session, state)
      else settle(state)
    })
    if (!sent) state.pinging = false
  } catch {
    state.pinging = false // the session closed meanwhile: no sample, the address decides
  }
  if (!state.pinging) unwatchLoop()
  if (!state.pinging) settle(state)
}

function settle(state: SessionRtt): void {
  for (const resolve of state.settled.splice(0)) resolve()
}

/** How late this process's event loop ran while PINGs were in flight (watched only then). */
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
let watching = 0

function watchLoop(): void {
  if (watching++ > 0) return
  loopDelay.reset()
  loopDelay.enable()
}

/** The longest the loop was blocked since the watch began, in ms (overlapping PINGs share it). */
function unwatchLoop(): number {
  const blockedMs = loopDelay.max / 1e6
  if (--watching === 0) loopDelay.disable()
  return Number.isFinite(blockedMs) ? blockedMs : 0
}
