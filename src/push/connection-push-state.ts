import type { Http2Session } from 'node:http2'

/**
 * After this many reset pushes a connection is treated as one that refuses push. A client that
 * cancels what it is pushed gains nothing from more, and nghttp2 ends the whole session (GOAWAY
 * INTERNAL_ERROR) once a client has reset about 1,000 streams in a burst.
 */
export const MAX_RESET_PUSHES = 200

/** What one HTTP/2 connection has already been pushed: resource key → version (ETag). */
export class ConnectionPushState {
  private readonly pushed = new Map<string, string>()
  private resets = 0

  /** True once the client reset so many pushes that pushing more would only cost it (and risk the session). */
  get refusesPush(): boolean {
    return this.resets >= MAX_RESET_PUSHES
  }

  /** True when this exact version of the resource was already pushed on this connection. */
  has(key: string, version: string): boolean {
    return this.pushed.get(key) === version
  }

  /** Records a push (a newer version replaces the older one). */
  remember(key: string, version: string): void {
    this.pushed.set(key, version)
  }

  /** Counts a push the client reset (or that failed) and forgets it, so a later page may push it again. */
  recordReset(key: string, version: string): void {
    if (this.pushed.get(key) === version) this.pushed.delete(key)
    this.resets++
  }

  /** Number of resources remembered. */
  get size(): number {
    return this.pushed.size
  }
}

/** The push state of every open HTTP/2 connection; each is freed when its session closes. */
export class ConnectionPushRegistry {
  private readonly states = new Map<Http2Session, ConnectionPushState>()

  /** The state of this connection, created on first use; undefined for a session already closing. */
  forSession(session: Http2Session): ConnectionPushState | undefined {
    let state = this.states.get(session)
    if (state) return state
    if (session.closed || session.destroyed) return undefined
    state = new ConnectionPushState()
    this.states.set(session, state)
    session.once('close', () => this.states.delete(session))
    return state
  }

  /** Number of connections with push state held (zero once every connection has closed). */
  get connectionCount(): number {
    return this.states.size
  }

  /** Total remembered pushes over all open connections. */
  get rememberedCount(): number {
    let total = 0
    for (const state of this.states.values()) total += state.size
    return total
  }
}
