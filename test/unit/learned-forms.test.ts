import { describe, expect, it } from 'vitest'
import type { ServedResource } from '../../src/graph/served-resource.js'
import { withoutStaleForms } from '../../src/page/learned-forms.js'
import type { FinalPagePlan } from '../../src/page/page-plan.js'

/** A served script at `url` that imports `imports`. */
function resource(url: string, imports: string[] = []): ServedResource {
  return {
    url,
    as: 'script',
    key: url,
    response: { status: 200, headers: {}, body: Buffer.from('') },
    version: 'v',
    staticImports: imports,
    dynamicImports: [],
  } as unknown as ServedResource
}

function plan(resources: ServedResource[]): FinalPagePlan {
  return { entries: [], closure: { resources, denied: [] }, asKnown: false } as unknown as FinalPagePlan
}

const urls = (result: ReturnType<typeof withoutStaleForms>) => result.plan.closure.resources.map((r) => r.url)

describe('withoutStaleForms', () => {
  it("drops a learned form of a module the page's own entries reach re-stamped", () => {
    const found = plan([resource('/main.js', ['/a.js?t=5']), resource('/a.js?t=5'), resource('/a.js')])
    const result = withoutStaleForms(found, [{ url: '/main.js', as: 'script' }], false)
    expect(urls(result)).toEqual(['/main.js', '/a.js?t=5'])
    expect(result.learnedOnly).toBe(0)
  })

  it('drops a learned form older than another form in the closure when only learned entries reach both (a framework page)', () => {
    // the runtime is the page's own entry; the route module and the components were learned
    const found = plan([
      resource('/runtime.js'),
      resource('/route.js', ['/Home.svelte']),
      resource('/Home.svelte', ['/C1.svelte?t=9']),
      resource('/C1.svelte?t=9'),
      resource('/C1.svelte'),
      resource('/C2.svelte?t=3'),
    ])
    const result = withoutStaleForms(found, [{ url: '/runtime.js', as: 'script' }], false)
    expect(urls(result)).toEqual(['/runtime.js', '/route.js', '/Home.svelte', '/C1.svelte?t=9', '/C2.svelte?t=3'])
    expect(result.learnedOnly).toBe(4)
  })

  it('keeps everything when no module is there twice', () => {
    const found = plan([resource('/runtime.js'), resource('/route.js'), resource('/b.js?t=2')])
    const result = withoutStaleForms(found, [{ url: '/runtime.js', as: 'script' }], false)
    expect(result.plan).toBe(found)
    expect(result.learnedOnly).toBe(2)
  })
})
