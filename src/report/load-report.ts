import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LearningWindow } from '../learn/learned-closure.js'
import { connectionOf } from '../graph/request-url.js'
import { bypassesCache } from '../serve/cache-off-detector.js'
import { versionRequestOf } from '../serve/versioned-request-middleware.js'
import { requestedUrl } from '../graph/request-url.js'
import { LoadRecord } from './load-record.js'
import { withLoadNote } from './load-note.js'

/** Loads kept, over all pages and clients; the oldest go first. */
const MAX_LOADS = 100
/** Versioned URLs remembered per connection (to tell a repeat from a first request). */
const MAX_VERSIONED_PER_CONNECTION = 20_000

interface ConnectionSeen {
  /** Numbered in the order the report first saw each connection: a client in the report. */
  readonly number: number
  /** Versioned URLs this connection requested. */
  readonly versioned: Set<string>
  /** Its latest page load. */
  last: LoadRecord | undefined
}

/**
 * The recent page loads, per page and per client (connection), and what each cost: fed by each
 * PageLoad ({@link begin}) and by the requests that follow it on its connection ({@link observe},
 * associated with the load by its learning window, as {@link LearnedClosure} associates them).
 */
export class LoadReport {
  private readonly loads: LoadRecord[] = []
  private readonly byWindow = new WeakMap<LearningWindow, LoadRecord>()
  private readonly connections = new WeakMap<object, ConnectionSeen>()
  private nextLoad = 1
  private nextConnection = 1

  /**
   * `base` is Vite's; `trustFix` gives the command that makes the certificate trusted, while it is
   * not (for the reasons).
   */
  constructor(
    readonly base: string,
    readonly trustFix: () => string | undefined,
    private readonly maxLoads = MAX_LOADS,
  ) {}

  /** The page's HTML with the load's console note, when the server already knows it will not be free. */
  noted(record: LoadRecord, html: string): string {
    return withLoadNote(html, record, this.base, this.trustFix())
  }

  /** An HTML request began a page load (its learning window is how later requests find it). */
  begin(pageUrl: string, req: IncomingMessage, res: ServerResponse, window: LearningWindow): LoadRecord {
    const seen = this.seen(connectionOf(req))
    const record = new LoadRecord(this.nextLoad++, pageUrl, `${browserOf(req)} · connection ${seen.number}`, req, res)
    record.cacheOffBefore = (seen.last?.versionedAgain ?? 0) > 0
    seen.last?.ended()
    seen.last = record
    this.byWindow.set(window, record)
    this.loads.push(record)
    if (this.loads.length > this.maxLoads) this.loads.shift()
    return record
  }

  /** A module or stylesheet request in `window` (the page load it belongs to, if any). */
  observe(req: IncomingMessage, window: LearningWindow | undefined): void {
    const record = window && this.byWindow.get(window)
    const seen = this.seen(connectionOf(req))
    const versioned = versionRequestOf(req)?.url
    const url = requestedUrl(req)
    if (record) {
      record.requests++
      if (record.planned.has(url)) record.requestedPlanned.add(url)
      else if (record.planned.size > 0) record.missed++
      if (bypassesCache(req.headers)) record.bypassedCache++
      else if (versioned && seen.versioned.has(versioned)) record.versionedAgain++
    }
    if (!versioned) return
    seen.versioned.delete(versioned)
    seen.versioned.add(versioned)
    if (seen.versioned.size > MAX_VERSIONED_PER_CONNECTION) seen.versioned.delete(seen.versioned.values().next().value!)
  }

  /** The recent loads, newest first. */
  newestFirst(): LoadRecord[] {
    return [...this.loads].reverse()
  }

  private seen(connection: object): ConnectionSeen {
    let seen = this.connections.get(connection)
    if (!seen) {
      seen = { number: this.nextConnection++, versioned: new Set(), last: undefined }
      this.connections.set(connection, seen)
    }
    return seen
  }
}

/** The browser's name from its User-Agent, for the report (not for any decision). */
function browserOf(req: IncomingMessage): string {
  const agent = String(req.headers['user-agent'] ?? '')
  if (/Firefox\//.test(agent)) return 'Firefox'
  if (/Edg\//.test(agent)) return 'Edge'
  if (/Chrome\/|Chromium\//.test(agent)) return 'Chromium'
  if (/Safari\//.test(agent)) return 'Safari'
  return agent ? agent.slice(0, 40) : 'a client'
}
