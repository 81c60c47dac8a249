import type { Closure, ServedGraph } from '../graph/served-graph.js'
import { resourceKey } from '../graph/served-resource.js'
import type { ResourceRequest } from '../graph/resource-request.js'

/** What one page load delivers: the entries it was planned from and their closure (guarded, in push order). */
export interface PagePlan {
  entries: readonly ResourceRequest[]
  closure: Closure
  /** Scripts of the page the closure cannot name by a version (after a restart): linked first, at their own URL. */
  fetchFirst?: readonly string[]
}

/** The final plan, and whether it is the plan known at request time (so what was done early stands). */
export interface FinalPagePlan extends PagePlan {
  asKnown: boolean
}

/**
 * The plan known as the request arrives, before Vite has transformed the HTML: the entries the
 * page had at its last load, if every response of their closure is cached and current.
 * Undefined otherwise; it never renders or waits.
 */
export function knownPlan(
  graph: ServedGraph,
  entries: readonly ResourceRequest[] | undefined,
  dynamicImports: boolean,
): PagePlan | undefined {
  if (!entries) return undefined
  const closure = graph.cachedClosure(entries, dynamicImports)
  return closure && { entries, closure }
}

/**
 * The plan for the final HTML's entries. On the usual reload (the same entries, and nothing in
 * the known closure changed meanwhile) it is the known plan, whose edges come from those very
 * responses; otherwise the closure is walked again, rendering what is missing.
 */
export async function finalPlan(
  graph: ServedGraph,
  entries: readonly ResourceRequest[],
  known: PagePlan | undefined,
  dynamicImports: boolean,
): Promise<FinalPagePlan> {
  if (known && sameEntries(known.entries, entries) && graph.allCurrent(known.closure.resources))
    return { ...known, asKnown: true }
  return { entries, closure: await graph.closure(entries, dynamicImports), asKnown: false }
}

/** True when two entry lists request the same URLs the same way, in the same order. */
function sameEntries(known: readonly ResourceRequest[], current: readonly ResourceRequest[]): boolean {
  return (
    known.length === current.length &&
    known.every((entry, index) => entry.url === current[index]!.url && entry.as === current[index]!.as)
  )
}

/** `first`, then what `more` adds (by URL and kind), in order. */
export function mergeEntries(first: readonly ResourceRequest[], more: readonly ResourceRequest[]): ResourceRequest[] {
  if (more.length === 0) return [...first]
  const seen = new Set(first.map(resourceKey))
  const merged = [...first]
  for (const entry of more) {
    const key = resourceKey(entry)
    if (seen.has(key)) continue
    seen.add(key)
    merged.push(entry)
  }
  return merged
}
