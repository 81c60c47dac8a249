import { beforeAll, describe, expect, it } from 'vitest'
import { lexerReady, lexImports } from '../src/graph/lex-imports.js'
import { resolveRequestUrl } from '../src/graph/resolve-url.js'
import { ServedGraph, type DeliveryGuard, type FreshnessOracle } from '../src/graph/served-graph.js'
import type { ResourceRequest } from '../src/render/resource-request.js'
import type { RenderedResponse } from '../src/render/captured-response.js'

beforeAll(() => lexerReady())

describe('resolveRequestUrl', () => {
  it.each([
    ['/src/a.ts', '/src/main.ts', '/src/a.ts'],
    ['./b.ts', '/src/main.ts', '/src/b.ts'],
    ['../c.ts', '/src/deep/main.ts', '/src/c.ts'],
    ['/node_modules/.vite/deps/x.js?v=abc123', '/src/main.ts', '/node_modules/.vite/deps/x.js?v=abc123'],
    ['/src/a.ts?t=1700000000000', '/src/main.ts', '/src/a.ts?t=1700000000000'],
    ['/@id/__x00__virtual:x', '/src/main.ts', '/@id/__x00__virtual:x'],
    ['/@fs/abs/path/x.js', '/src/main.ts', '/@fs/abs/path/x.js'],
    ['/src/a b.ts', '/src/main.ts', '/src/a%20b.ts'],
    ['/src/ü.ts', '/src/main.ts', '/src/%C3%BC.ts'],
    ['/src/a.ts#frag', '/src/main.ts', '/src/a.ts'],
    ['/src/./x/../a.ts', '/src/main.ts', '/src/a.ts'],
    ['./a.ts', '/app/index.html?html-proxy&index=0.js', '/app/a.ts'],
  ])('%s from %s is %s', (specifier, importer, expected) => {
    expect(resolveRequestUrl(specifier, importer)).toBe(expected)
  })

  it.each(['react', 'https://cdn.example/x.js', '//cdn.example/x.js', 'data:text/javascript,1', '', 'virtual:x'])(
    'leaves %j alone',
    (specifier) => {
      expect(resolveRequestUrl(specifier, '/src/main.ts')).toBeUndefined()
    },
  )
})

describe('lexImports', () => {
  it('splits static and literal dynamic imports', () => {
    const found = lexImports(`import a from '/a.js'; export * from '/b.js'; export { c } from '/c.js'
      import('/d.js'); import(\`/e/\${x}.js\`); const u = import.meta.url`)
    expect(found).toEqual({ static: ['/a.js', '/b.js', '/c.js'], dynamic: ['/d.js'] })
  })

  it('throws on code it cannot parse', () => {
    expect(() => lexImports('import {')).toThrow(/Parse error/)
  })
})

/** A graph over an in-memory app: url -> code. Versions change when code changes. */
function memoryGraph(
  files: Record<string, string>,
  options: { untracked?: string[]; racing?: string[]; denied?: string[]; deniedOnceResolved?: string[] } = {},
) {
  const renders: string[] = []
  /** URLs whose next track fails, as when an invalidation lands while they render. */
  const racing = new Set(options.racing)
  const versions = new Map<string, number>()
  const render = async ({ url }: ResourceRequest): Promise<RenderedResponse> => {
    renders.push(url)
    const code = files[url]
    if (code === undefined) return { status: 404, headers: {}, body: Buffer.alloc(0) }
    return {
      status: 200,
      headers: { 'content-type': 'text/javascript', etag: `W/"${url}@${versions.get(url) ?? 0}"` },
      body: Buffer.from(code),
    }
  }
  const urlOf = (etag: string) => /^W\/"(.*)@\d+"$/.exec(etag)![1]!
  const freshness: FreshnessOracle = {
    track: (etag) => {
      const url = urlOf(etag)
      if (options.untracked?.includes(url) || racing.delete(url)) return undefined
      return etag
    },
    isTrackable: async (url) => !options.untracked?.includes(url),
    isCurrent: (token) => {
      const [, url, version] = /^W\/"(.*)@(\d+)"$/.exec(token as string)!
      return Number(version) === (versions.get(url!) ?? 0)
    },
  }
  const guard: DeliveryGuard = {
    allowsUrl: (url) => !options.denied?.includes(url),
    allowsRendered: async (url) => !options.deniedOnceResolved?.includes(url),
  }
  const graph = new ServedGraph(render, freshness, guard, 1024 * 1024, undefined)
  const edit = (url: string, code: string) => {
    files[url] = code
    versions.set(url, (versions.get(url) ?? 0) + 1)
  }
  return { graph, renders, edit }
}

describe('ServedGraph.closure', () => {
  it('orders entries first, then breadth-first, and visits cycles once', async () => {
    const { graph } = memoryGraph({
      '/main.js': `import '/a.js'; import '/b.js'`,
      '/a.js': `import '/c.js'; import '/main.js'`,
      '/b.js': `import '/c.js'; import './d.js'`,
      '/c.js': `import '/a.js'`,
      '/d.js': ``,
      '/other.js': `import '/d.js'`,
    })
    const closure = await graph.closure(
      [
        { url: '/main.js', as: 'script' },
        { url: '/other.js', as: 'script' },
      ],
      false,
    )
    expect(closure.resources.map((r) => r.url)).toEqual(['/main.js', '/other.js', '/a.js', '/b.js', '/d.js', '/c.js'])
  })

  it('follows dynamic imports only when asked, and skips what does not load', async () => {
    const { graph } = memoryGraph({ '/main.js': `import '/missing.js'; import('/lazy.js')`, '/lazy.js': '' })
    const entries = [{ url: '/main.js', as: 'script' as const }]
    expect((await graph.closure(entries, false)).resources.map((r) => [r.url, r.response.status])).toEqual([
      ['/main.js', 200],
      ['/missing.js', 404],
    ])
    expect((await graph.closure(entries, true)).resources.map((r) => r.url)).toContain('/lazy.js')
  })

  it('renders each response once while it is current, and again after it changed', async () => {
    const { graph, renders, edit } = memoryGraph({ '/main.js': `import '/a.js'`, '/a.js': `export const a = 1` })
    const entries = [{ url: '/main.js', as: 'script' as const }]
    await graph.closure(entries, false)
    await graph.closure(entries, false)
    expect(renders).toEqual(['/main.js', '/a.js'])
    edit('/main.js', `import '/a.js'; import '/b.js'`)
    const after = await graph.closure(entries, false)
    expect(renders).toEqual(['/main.js', '/a.js', '/main.js', '/b.js'])
    expect(after.resources.map((r) => r.url)).toEqual(['/main.js', '/a.js', '/b.js'])
  })

  it('renders once more a module whose render raced an invalidation, so it is cached', async () => {
    const { graph, renders } = memoryGraph({ '/main.js': `import '/a.js'`, '/a.js': `` }, { racing: ['/a.js'] })
    const entries = [{ url: '/main.js', as: 'script' as const }]
    await graph.closure(entries, false)
    expect(renders).toEqual(['/main.js', '/a.js', '/a.js'])
    expect(graph.cachedClosure(entries, false)?.resources.map((r) => r.url)).toEqual(['/main.js', '/a.js'])
  })

  it('renders what it can never track (a static file) once per request, and never caches it', async () => {
    const { graph, renders } = memoryGraph({ '/main.js': `import '/a.js'`, '/a.js': `` }, { untracked: ['/a.js'] })
    const entries = [{ url: '/main.js', as: 'script' as const }]
    await graph.closure(entries, false)
    expect(renders).toEqual(['/main.js', '/a.js'])
    expect(graph.cachedClosure(entries, false)).toBeUndefined()
  })

  it('keeps CSS links and CSS imports apart', async () => {
    const { graph } = memoryGraph({ '/s.css': `export default 1` })
    const closure = await graph.closure(
      [
        { url: '/s.css', as: 'style' },
        { url: '/s.css', as: 'script' },
      ],
      false,
    )
    expect(closure.resources.map((r) => r.key)).toEqual(['style:/s.css', '/s.css'])
  })

  it('never renders, returns or walks through a URL the guard denies, and reports it', async () => {
    const { graph, renders } = memoryGraph(
      { '/main.js': `import '/secret.js'; import '/a.js'`, '/secret.js': `import '/b.js'`, '/a.js': ``, '/b.js': `` },
      { denied: ['/secret.js'] },
    )
    const entries = [{ url: '/main.js', as: 'script' as const }]
    const closure = await graph.closure(entries, false)
    expect(closure.resources.map((r) => r.url)).toEqual(['/main.js', '/a.js'])
    expect(closure.denied).toEqual(['/secret.js'])
    expect(renders).not.toContain('/secret.js')
    expect(graph.cachedClosure(entries, false)?.denied).toEqual(['/secret.js'])
    expect(await graph.get({ url: '/secret.js', as: 'script' })).toBeUndefined()
  })

  it('drops a response whose resolved file the guard denies, without caching it', async () => {
    const { graph } = memoryGraph(
      { '/main.js': `import '/alias.js'`, '/alias.js': `` },
      { deniedOnceResolved: ['/alias.js'] },
    )
    const entries = [{ url: '/main.js', as: 'script' as const }]
    const closure = await graph.closure(entries, false)
    expect(closure.resources.map((r) => r.url)).toEqual(['/main.js'])
    expect(closure.denied).toEqual(['/alias.js'])
    expect(graph.currentOrDrop('/alias.js')).toBeUndefined()
  })
})
