import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import type { ServedResource } from '../graph/served-resource.js'
import type { Debug } from '../debug.js'
import type { ConnectionPushState } from './connection-push-state.js'
import { requestHeadersFor } from '../graph/resource-request.js'

/** Limits for one page's pushes. */
export interface PushBudget {
  maxPushes: number
  maxPushBytes: number
}

/** What happened to one page's closure. */
export interface PushStats {
  /** PUSH_PROMISEs sent. */
  pushed: number
  /** Body bytes of the promised responses. */
  bytes: number
  /** Skipped because this connection already got that version. */
  alreadyPushed: number
  /** Not pushed because the budget ran out (or the client allows too few streams to push). */
  overBudget: number
  /** Not pushed because the response is not a 200 (a GET will show the error itself). */
  notOk: number
  /** Push streams the client reset or that failed. */
  failed: number
  /** True when pushing stopped early: the connection or the page's stream went away, or the client stalled. */
  interrupted: boolean
}

/** Most push streams kept open at once: below the reserved-stream limit of nghttp2 clients (200). */
const MAX_PUSH_WINDOW = 100

/**
 * How many pushes may be in flight for a client that allows `peerMaxStreams` concurrent streams.
 * nghttp2 clients (Node, nghttp) refuse a push that would reach their limit while the page's own
 * stream is open, so one slot stays free; a client allowing a single stream gets no push.
 */
export function pushWindow(peerMaxStreams: number | undefined): number {
  return Math.min((peerMaxStreams ?? MAX_PUSH_WINDOW + 1) - 1, MAX_PUSH_WINDOW)
}
/** Stop promising more when no push stream finished for this long (a client that stopped reading). */
const PUSH_STALL_MS = 2000

/**
 * Sends a PUSH_PROMISE and the rendered response for each resource, in order, on the page's
 * stream. At most `window` pushes are in flight at once (the client's `maxConcurrentStreams`,
 * capped at {@link MAX_PUSH_WINDOW}); more are promised as earlier ones finish. Resolves once
 * every promise is out (the HTML response may end then) or pushing had to stop. Never throws.
 */
export function pushResources(
  stream: ServerHttp2Stream,
  resources: readonly ServedResource[],
  state: ConnectionPushState,
  context: { budget: PushBudget; authority: string | undefined; debug: Debug },
): Promise<PushStats> {
  const { budget, authority, debug } = context
  const stats: PushStats = {
    pushed: 0,
    bytes: 0,
    alreadyPushed: 0,
    overBudget: 0,
    notOk: 0,
    failed: 0,
    interrupted: false,
  }
  const queue: ServedResource[] = []
  for (const resource of resources) {
    if (resource.response.status !== 200) stats.notOk++
    else if (state.has(resource.key, resource.version)) stats.alreadyPushed++
    else if (queue.length >= budget.maxPushes || stats.bytes + resource.response.body.length > budget.maxPushBytes) {
      stats.overBudget++
    } else {
      queue.push(resource)
      stats.bytes += resource.response.body.length
    }
  }
  if (queue.length === 0 || state.refusesPush) return Promise.resolve(stats)

  const window = pushWindow(stream.session?.remoteSettings.maxConcurrentStreams)
  if (window < 1) {
    stats.overBudget += queue.length
    stats.bytes = 0
    return Promise.resolve(stats)
  }

  return new Promise<PushStats>((resolve) => {
    let next = 0
    let inFlight = 0
    let settled = false
    let stallTimer: NodeJS.Timeout | undefined

    const finish = (interrupted: boolean) => {
      if (settled) return
      settled = true
      if (stallTimer) clearTimeout(stallTimer)
      stream.off('close', onParentClose)
      if (interrupted) {
        stats.interrupted = true
        const unsent = queue.length - next
        for (let i = next; i < queue.length; i++) stats.bytes -= queue[i]!.response.body.length
        debug?.(`pushing stopped with ${unsent} of ${queue.length} not promised`)
      }
      resolve(stats)
    }
    const onParentClose = () => finish(true)
    stream.once('close', onParentClose)

    const armStallTimer = () => {
      if (stallTimer) clearTimeout(stallTimer)
      stallTimer = setTimeout(() => finish(true), PUSH_STALL_MS)
      stallTimer.unref()
    }

    const onPushDone = (resource: ServedResource, completed: boolean) => {
      inFlight--
      if (!completed) {
        stats.failed++
        state.recordReset(resource.key, resource.version)
      }
      if (!settled) {
        armStallTimer()
        pump()
      }
    }

    const pump = () => {
      while (!settled && inFlight < window && next < queue.length) {
        if (
          stream.closed ||
          stream.destroyed ||
          !stream.pushAllowed ||
          stream.session?.destroyed ||
          state.refusesPush
        ) {
          finish(true)
          return
        }
        const resource = queue[next]!
        if (state.has(resource.key, resource.version)) {
          // another page on this connection pushed it meanwhile (two HTML requests at once)
          stats.alreadyPushed++
          stats.bytes -= resource.response.body.length
          next++
          continue
        }
        inFlight++
        try {
          stream.pushStream(promiseHeaders(resource, authority), (error, pushed) => {
            if (error) {
              debug?.(`push of ${resource.url} failed: ${error.message}`)
              return onPushDone(resource, false)
            }
            sendPushedResponse(pushed, resource, (completed) => onPushDone(resource, completed))
          })
        } catch (error) {
          inFlight--
          debug?.(`could not promise ${resource.url}: ${(error as Error).message}`)
          finish(true)
          return
        }
        state.remember(resource.key, resource.version)
        stats.pushed++
        next++
      }
      if (next >= queue.length) finish(false)
    }

    armStallTimer()
    pump()
  })
}

/** The request a push promises: what the browser would send for this resource. */
function promiseHeaders(resource: ServedResource, authority: string | undefined): OutgoingHttpHeaders {
  return {
    [constants.HTTP2_HEADER_METHOD]: 'GET',
    [constants.HTTP2_HEADER_PATH]: resource.url,
    [constants.HTTP2_HEADER_SCHEME]: 'https',
    ...(authority ? { [constants.HTTP2_HEADER_AUTHORITY]: authority } : {}),
    ...requestHeadersFor(resource.as),
  }
}

function sendPushedResponse(
  pushed: ServerHttp2Stream,
  resource: ServedResource,
  done: (completed: boolean) => void,
): void {
  let completed = false
  pushed.on('error', () => {}) // a reset by the client surfaces here; 'close' reports it
  pushed.once('close', () => done(completed && pushed.rstCode === constants.NGHTTP2_NO_ERROR))
  pushed.once('finish', () => {
    completed = true
  })
  try {
    const { status, headers, body } = resource.response
    pushed.respond({ ...headers, [constants.HTTP2_HEADER_STATUS]: status })
    pushed.end(body)
  } catch {
    pushed.destroy()
  }
}
