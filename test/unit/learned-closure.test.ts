import { describe, expect, it } from 'vitest'
import { DEFAULT_LEARNING_LIMITS, LearnedClosure, type LearningLimits } from '../../src/learn/learned-closure.js'

/** A clock the test moves by hand. */
function clock() {
  let time = 0
  return { now: () => time, advance: (ms: number) => (time += ms) }
}

function learner(limits: Partial<LearningLimits> = {}) {
  const time = clock()
  const learned = new LearnedClosure({ ...DEFAULT_LEARNING_LIMITS, ...limits }, time.now)
  /** One page load on a new connection requesting `urls` (all referred by the page), answered `status`. */
  const load = (pageUrl: string, urls: string[], status = 200) => {
    const connection = {}
    const window = learned.beginLoad(pageUrl, connection)
    learned.htmlEnded(window)
    for (const url of urls) {
      const found = learned.windowFor(connection, pageUrl)
      if (found) learned.record(found, { url, as: 'script' }, status)
    }
    time.advance(60_000)
  }
  const urls = (pageUrl: string) => learned.entriesFor(pageUrl).map((entry) => entry.url)
  return { learned, time, load, urls }
}

describe('LearnedClosure', () => {
  it('learns what a load requested on its connection, by Referer of the page or of a module it loaded', () => {
    const { learned, time } = learner()
    const connection = {}
    const other = {}
    const window = learned.beginLoad('/', connection)
    // while the HTML is still being sent, the window stays open however long it takes
    time.advance(10_000)
    learned.record(learned.windowFor(connection, '/')!, { url: '/entry.js', as: 'script' }, 200)
    learned.htmlEnded(window)
    learned.record(learned.windowFor(connection, '/entry.js')!, { url: '/lazy.js', as: 'script' }, 304)
    learned.record(learned.windowFor(connection, '/')!, { url: '/app.css', as: 'style' }, 200)
    // another connection, another page's referrer, an unknown referrer: not this load
    expect(learned.windowFor(other, '/')).toBeUndefined()
    expect(learned.windowFor(connection, '/about')).toBeUndefined()
    expect(learned.windowFor(connection, '/unrelated.js')).toBeUndefined()
    expect(learned.entriesFor('/')).toEqual([
      { url: '/entry.js', as: 'script' },
      { url: '/lazy.js', as: 'script' },
      { url: '/app.css', as: 'style' },
    ])
    expect(learned.entriesFor('/about')).toEqual([])
  })

  it('closes the window after a quiet period, and at most maxWindowMs after the HTML ended', () => {
    const { learned, time } = learner({ quietMs: 1000, maxWindowMs: 5000 })
    const connection = {}
    learned.htmlEnded(learned.beginLoad('/', connection))
    for (let i = 0; i < 8; i++) {
      time.advance(900)
      const window = learned.windowFor(connection, '/')
      if (window) learned.record(window, { url: `/m${i}.js`, as: 'script' }, 200)
    }
    // 900 ms apart keeps it open, but not past 5 s
    expect(learned.entriesFor('/').map((entry) => entry.url)).toEqual([
      '/m0.js',
      '/m1.js',
      '/m2.js',
      '/m3.js',
      '/m4.js',
    ])
    learned.htmlEnded(learned.beginLoad('/x', connection))
    time.advance(1001)
    expect(learned.windowFor(connection, '/x')).toBeUndefined()
  })

  it('forgets a URL that answers 404 (or anything but 200/304), and on request', () => {
    const { learned, load, urls } = learner()
    load('/', ['/a.js', '/b.js', '/c.js'])
    load('/', ['/a.js', '/b.js'], 404)
    expect(urls('/')).toEqual(['/c.js'])
    learned.forget('/', { url: '/c.js', as: 'script' })
    expect(urls('/')).toEqual([])
    expect(learned.pageCount).toBe(0)
    expect(learned.urlCount).toBe(0)
  })

  it('learns a URL with an HMR timestamp only once a second load requested it', () => {
    const { learned, load, urls } = learner()
    // VitePress stamps its page module anew on every load: never learned
    load('/', ['/index.md?import&t=1700000000001', '/a.js'])
    load('/', ['/index.md?import&t=1700000000002', '/a.js'])
    expect(urls('/')).toEqual(['/a.js'])
    // a module re-stamped after an edit, that every load now imports: learned from the second
    load('/', ['/b.vue?t=1700000000005'])
    expect(urls('/')).toEqual(['/a.js'])
    load('/', ['/b.vue?t=1700000000005'])
    expect(urls('/')).toEqual(['/a.js', '/b.vue?t=1700000000005'])
    expect(learned.urlCount).toBe(2)
  })

  it('drops what the last forgetAfterLoads loads did not request', () => {
    const { load, urls } = learner({ forgetAfterLoads: 2 })
    load('/', ['/a.js', '/old.js'])
    load('/', ['/a.js'])
    load('/', ['/a.js'])
    expect(urls('/')).toEqual(['/a.js', '/old.js']) // missed 2 loads: still there
    load('/', ['/a.js'])
    expect(urls('/')).toEqual(['/a.js']) // missed 3
    // a load that requested nothing (a push client, everything cached) does not count
    load('/', [])
    load('/', [])
    load('/', [])
    expect(urls('/')).toEqual(['/a.js'])
  })

  it('is bounded per page, in pages and in URLs overall (least recently loaded pages go first)', () => {
    const { learned, load, urls } = learner({ maxUrlsPerPage: 3, maxPages: 2, maxUrls: 5 })
    load('/p1', ['/1.js', '/2.js', '/3.js', '/4.js'])
    expect(urls('/p1')).toEqual(['/1.js', '/2.js', '/3.js'])
    load('/p2', ['/a.js'])
    load('/p3', ['/x.js'])
    expect(learned.pageCount).toBe(2)
    expect(urls('/p1')).toEqual([]) // the least recently loaded
    load('/p2', ['/a.js', '/b.js', '/c.js'])
    load('/p3', ['/x.js', '/y.js', '/z.js'])
    expect(learned.urlCount).toBeLessThanOrEqual(5)
    expect(urls('/p3')).toEqual(['/x.js', '/y.js', '/z.js'])
  })

  it('learns one form of a file (per way it is fetched), besides its newer ?t= form', () => {
    const { learned, time, load, urls } = learner()
    load('/', ['/src/a.ts', '/src/a.ts?v=1', '/src/a.ts?import', '/src/b.ts?v=1', '/src/b.ts?v=2'])
    expect(urls('/')).toEqual(['/src/a.ts', '/src/b.ts?v=1'])
    // another URL of the same file (the middleware names the file; by default the URL's path): still the one form
    const connection = {}
    learned.htmlEnded(learned.beginLoad('/', connection))
    const record = (url: string, as: 'script' | 'style') =>
      learned.record(learned.windowFor(connection, '/')!, { url, as }, 200, '/src/a.ts')
    record('/@fs/root/src/a.ts', 'script')
    record('/src/a.ts?v=9', 'script')
    // its stylesheet form is another way of fetching it: learned too
    record('/src/a.ts?direct', 'style')
    record('/src/a.ts?used', 'style')
    time.advance(60_000)
    expect(learned.entriesFor('/')).toEqual([
      { url: '/src/a.ts', as: 'script' },
      { url: '/src/b.ts?v=1', as: 'script' },
      { url: '/src/a.ts?direct', as: 'style' },
    ])
    // its ?t= form after an edit (learned from the second load that requests it), and a newer one replaces it
    load('/', ['/src/a.ts', '/src/a.ts?t=1700000000001'])
    load('/', ['/src/a.ts', '/src/a.ts?t=1700000000001'])
    expect(urls('/')).toContain('/src/a.ts?t=1700000000001')
    load('/', ['/src/a.ts', '/src/a.ts?t=1700000000002', '/src/a.ts?t=1700000000001'])
    load('/', ['/src/a.ts', '/src/a.ts?t=1700000000002', '/src/a.ts?import&t=1700000000002'])
    const forms = urls('/').filter((url) => url.startsWith('/src/a.ts'))
    expect(forms).toEqual(['/src/a.ts', '/src/a.ts?t=1700000000002'])
    expect(learned.urlCount).toBe(learned.entriesFor('/').length)
  })

  it('is bounded in what the learned URLs add to the HTML: 3 bytes per URL byte + 128 each', () => {
    const { learned, load, urls } = learner({ maxHtmlBytesPerPage: 10_000 })
    const long = Array.from({ length: 20 }, (_, i) => `/src/${'x'.repeat(990)}/${String(i).padStart(2, '0')}.ts`)
    load('/', long)
    // 3 * 1000 + 128 = 3128 bytes each: 3 fit in 10,000
    expect(urls('/')).toEqual(long.slice(0, 3))
    // short ones still fit in what is left
    load('/', [...long.slice(0, 3), '/src/a.ts', '/src/b.ts'])
    expect(urls('/')).toEqual([...long.slice(0, 3), '/src/a.ts', '/src/b.ts'])
    // forgetting gives the bytes back
    for (const url of long) learned.forget('/', { url, as: 'script' })
    load('/', long.slice(5, 10))
    expect(urls('/')).toEqual(['/src/a.ts', '/src/b.ts', ...long.slice(5, 8)])
  })

  it('a page load that reloads keeps the page recent', () => {
    const { learned, load, urls } = learner({ maxPages: 2 })
    load('/p1', ['/1.js'])
    load('/p2', ['/2.js'])
    learned.htmlEnded(learned.beginLoad('/p1', {})) // p1 loaded again (everything cached)
    load('/p3', ['/3.js'])
    expect(urls('/p1')).toEqual(['/1.js'])
    expect(urls('/p2')).toEqual([])
  })
})
