import type { Connect } from 'vite'
import { isInProcessRequest } from '../render/in-process-request.js'

const POLL_MS = 100

/**
 * Tells when the dev server is idle: no request from a client in flight (the plugin's own
 * in-process renders do not count) and none for a while. Work that must never delay a page (the
 * record's write, its check against fresh transforms, the deferred warm-up) waits for that.
 */
export class IdleTracker {
  private inFlight = 0
  private lastActivity = performance.now()

  /** Counts the requests of clients; installed first, so it sees all of them. */
  readonly middleware: Connect.NextHandleFunction = (req, res, next) => {
    if (isInProcessRequest(req)) return next()
    this.inFlight++
    this.lastActivity = performance.now()
    res.once('close', () => {
      this.inFlight--
      this.lastActivity = performance.now()
    })
    next()
  }

  /** True when no client request is in flight and none ended in the last `quietMs`. */
  isIdle(quietMs: number): boolean {
    return this.inFlight === 0 && performance.now() - this.lastActivity >= quietMs
  }

  /** Calls `run` once the server has been idle for `quietMs` (polling on an unref'd timer); returns a cancel function. */
  whenIdle(quietMs: number, run: () => void): () => void {
    let timer: NodeJS.Timeout | undefined
    const poll = () => {
      if (this.isIdle(quietMs)) {
        timer = undefined
        run()
        return
      }
      timer = setTimeout(poll, POLL_MS).unref()
    }
    timer = setTimeout(poll, Math.min(quietMs, POLL_MS)).unref()
    return () => {
      if (timer) clearTimeout(timer)
      timer = undefined
    }
  }
}
