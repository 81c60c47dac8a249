import type { Logger } from 'vite'
import type { Debug } from '../debug.js'
import type { ServedGraph } from '../graph/served-graph.js'
import type { LearnedClosure } from '../learn/learned-closure.js'
import type { ResolvedOptions } from '../options.js'
import type { ConnectionPushRegistry } from '../push/connection-push-state.js'
import type { EncodedBodies } from '../serve/compression.js'
import type { LoadReport } from '../report/load-report.js'
import type { RestartRecord } from '../restart/restart-record.js'
import type { KnownPages } from './known-pages.js'

/** What the page pipeline needs from the plugin. */
export interface PageContext {
  graph: ServedGraph
  connections: ConnectionPushRegistry
  options: ResolvedOptions
  logger: Logger
  debug: Debug
  /** The entries each page had at its last load (or warm-up): what can be promised before the HTML is ready. */
  knownPages: KnownPages
  /** What each page's loads really requested (see {@link LearnedClosure}): extra entries of its plan. */
  learned: LearnedClosure
  /** The compressed bodies of cached responses. */
  bodies: EncodedBodies
  /** What the plugin knew before the last restart (with `restartRecord: true`). */
  record?: RestartRecord
  /** The recent loads' report (dev page and console note), when on. */
  report?: LoadReport
}
