import { forEachImport, resourceKey, type ServedResource } from '../graph/served-resource.js'
import type { ResourceRequest } from '../graph/resource-request.js'
import { hmrTimestampOf, withoutHmrTimestamp } from '../learn/hmr-timestamp.js'
import type { FinalPagePlan } from './page-plan.js'

/** Resources of the plan's closure that only the learned entries bring in (not reached from the page's own entries). */
function onlyThroughLearned(
  plan: FinalPagePlan,
  pageEntries: readonly ResourceRequest[],
  dynamicImports: boolean,
): ServedResource[] {
  const byKey = new Map(plan.closure.resources.map((resource) => [resource.key, resource]))
  const reached = new Set<string>()
  const visit = (request: ResourceRequest) => {
    const key = resourceKey(request)
    if (reached.has(key)) return
    reached.add(key)
    const resource = byKey.get(key)
    if (resource) forEachImport(resource, dynamicImports, visit)
  }
  for (const entry of pageEntries) visit(entry)
  return plan.closure.resources.filter((resource) => !reached.has(resource.key))
}

/**
 * The plan without what only the learned entries bring in at an out-of-date `?t=` form of a
 * module: one the page itself reaches at another form (after an edit the page imports
 * `/src/a.ts?t=…`, while its last loads requested `/src/a.ts`), or one the closure also holds at
 * a newer form (a framework page whose whole tree is learned: the learned route module now
 * imports `/src/a.ts?t=…`). Delivering both would make the browser fetch that module twice; one
 * left out is only fetched by the page if it really imports it. Also counts what only the learned
 * entries then bring in (for the log line).
 */
export function withoutStaleForms(
  plan: FinalPagePlan,
  pageEntries: readonly ResourceRequest[],
  dynamicImports: boolean,
): { plan: FinalPagePlan; learnedOnly: number } {
  const learnedOnly = new Set(onlyThroughLearned(plan, pageEntries, dynamicImports))
  if (learnedOnly.size === 0) return { plan, learnedOnly: 0 }
  const own = new Set(
    plan.closure.resources.filter((resource) => !learnedOnly.has(resource)).map((r) => withoutHmrTimestamp(r.key)),
  )
  const newest = new Map<string, number>()
  for (const resource of plan.closure.resources) {
    const module = withoutHmrTimestamp(resource.key)
    newest.set(module, Math.max(newest.get(module) ?? 0, hmrTimestampOf(resource.key)))
  }
  const stale = new Set(
    [...learnedOnly].filter((resource) => {
      const module = withoutHmrTimestamp(resource.key)
      return own.has(module) || hmrTimestampOf(resource.key) < newest.get(module)!
    }),
  )
  if (stale.size === 0) return { plan, learnedOnly: learnedOnly.size }
  const resources = plan.closure.resources.filter((resource) => !stale.has(resource))
  return { plan: { ...plan, closure: { ...plan.closure, resources } }, learnedOnly: learnedOnly.size - stale.size }
}
