import type { ServerHttp2Stream } from 'node:http2'
import type { Debug } from '../debug.js'
import type { ServedResource } from '../graph/served-resource.js'
import type { ConnectionPushState } from './connection-push-state.js'
import { pushResources, type PushBudget, type PushStats } from './push-resources.js'

/** Where one page's pushes go: its HTTP/2 stream, that connection's push state and the authority to promise. */
export interface PushTarget {
  stream: ServerHttp2Stream
  state: ConnectionPushState
  authority: string | undefined
}

/** One page's pushes, in up to two rounds, with one set of stats. */
export interface PagePush {
  /**
   * Promises what the page had at its last load, while Vite still transforms the HTML (the
   * response is held until the final round is done anyway, so this shortens the hold).
   */
  early(resources: readonly ServedResource[]): void
  /**
   * Promises the final closure (what the early round did not) and resolves with the page's
   * stats. With `asEarly` (the final closure is the early one and nothing changed since), a
   * complete early round is final and the second pass is skipped.
   */
  finish(resources: readonly ServedResource[], asEarly: boolean): Promise<PushStats>
  /**
   * Promises more resources after the final round (what a streamed page names after its head
   * went out) and resolves with the page's stats so far. Resources pushed already are skipped.
   */
  more(resources: readonly ServedResource[]): Promise<PushStats>
}

/** Starts the pushes of one page on `target` within `budget`. */
export function startPagePush(target: PushTarget, budget: PushBudget, debug: Debug): PagePush {
  const context = { authority: target.authority, debug }
  let earlyRound: Promise<PushStats> | undefined
  let rounds: Promise<PushStats> | undefined
  return {
    early(resources) {
      if (resources.length === 0 || earlyRound) return
      earlyRound = pushResources(target.stream, resources, target.state, { ...context, budget })
    },
    finish(resources, asEarly) {
      rounds = (async () => {
        const early = await earlyRound
        if (asEarly && early && !early.interrupted && early.failed === 0) return early
        const late = await pushResources(target.stream, resources, target.state, {
          ...context,
          budget: remainingBudget(budget, early),
        })
        return early ? mergePushStats(early, late) : late
      })()
      return rounds
    },
    more(resources) {
      const before = rounds ?? earlyRound ?? Promise.resolve(undefined)
      rounds = before.then(async (spent) => {
        const next = await pushResources(target.stream, resources, target.state, {
          ...context,
          budget: remainingBudget(budget, spent),
        })
        return spent ? addPushStats(spent, next) : next
      })
      return rounds
    },
  }
}

/** Stats of two rounds over different resources. */
function addPushStats(first: PushStats, second: PushStats): PushStats {
  return {
    pushed: first.pushed + second.pushed,
    bytes: first.bytes + second.bytes,
    alreadyPushed: first.alreadyPushed + second.alreadyPushed,
    overBudget: first.overBudget + second.overBudget,
    notOk: first.notOk + second.notOk,
    failed: first.failed + second.failed,
    interrupted: first.interrupted || second.interrupted,
  }
}

function remainingBudget(budget: PushBudget, spent: PushStats | undefined): PushBudget {
  if (!spent) return budget
  return { maxPushes: budget.maxPushes - spent.pushed, maxPushBytes: budget.maxPushBytes - spent.bytes }
}

/** The late round finds the early round's pushes already done: count those once, as pushed. */
function mergePushStats(early: PushStats, late: PushStats): PushStats {
  return {
    pushed: early.pushed + late.pushed,
    bytes: early.bytes + late.bytes,
    alreadyPushed: Math.max(0, late.alreadyPushed - early.pushed),
    overBudget: late.overBudget,
    notOk: late.notOk,
    failed: early.failed + late.failed,
    interrupted: early.interrupted || late.interrupted,
  }
}
