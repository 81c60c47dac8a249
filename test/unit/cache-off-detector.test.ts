import { describe, expect, it } from 'vitest'
import { cacheOffWarning, createCacheOffDetector, type CacheOffEvidence } from '../../src/serve/cache-off-detector.js'

const CHROME = { 'user-agent': 'Chrome/156' }
const URL = '/node_modules/.vite/deps/react.js?v=abc123'

function detector() {
  const warnings: CacheOffEvidence[] = []
  return { warnings, detector: createCacheOffDetector((evidence) => warnings.push(evidence)) }
}

/** A client's connection (what `connectionOf` returns: an HTTP/2 session or a socket); only its identity counts. */
function connection(): object {
  return {}
}

describe('createCacheOffDetector', () => {
  it('warns when a client asks again, on the same connection, for an immutable URL it was served', () => {
    const { warnings, detector: d } = detector()
    const session = connection()
    d.requested(URL, CHROME, session)
    d.servedImmutable(URL, CHROME, session)
    expect(warnings).toEqual([])
    d.requested(URL, CHROME, session)
    expect(warnings).toEqual([{ url: URL, userAgent: 'Chrome/156' }])
  })

  it('warns once only', () => {
    const { warnings, detector: d } = detector()
    const session = connection()
    for (const url of [URL, '/a.js?v=1']) {
      d.servedImmutable(url, CHROME, session)
      d.requested(url, CHROME, session)
      d.requested(url, CHROME, session)
    }
    expect(warnings).toHaveLength(1)
  })

  it('does not take a first request or a URL served without immutable for evidence', () => {
    const { warnings, detector: d } = detector()
    const session = connection()
    d.requested(URL, CHROME, session)
    d.requested(URL, CHROME, session)
    d.servedImmutable(URL, CHROME, session)
    d.requested('/src/main.ts', CHROME, session)
    expect(warnings).toEqual([])
  })

  // The same browser (same User-Agent) with another cache: each has its own connections.
  it.each(['a second fresh profile', 'a private window', 'a container', 'a second profile'])(
    'stays quiet when %s of the same browser makes its first load',
    () => {
      const { warnings, detector: d } = detector()
      const first = connection()
      d.servedImmutable(URL, CHROME, first)
      d.requested(URL, CHROME, connection())
      expect(warnings).toEqual([])
    },
  )

  it('does not count a hard reload or a revalidation (the cache is on, or the user bypassed it)', () => {
    const { warnings, detector: d } = detector()
    const session = connection()
    d.servedImmutable(URL, CHROME, session)
    d.requested(URL, { ...CHROME, 'cache-control': 'no-cache' }, session)
    d.requested(URL, { ...CHROME, pragma: 'no-cache' }, session)
    d.requested(URL, { ...CHROME, 'if-none-match': '"abc"' }, session)
    d.requested(URL, { ...CHROME, 'if-modified-since': 'Wed, 02 Dec 2026 17:00:00 GMT' }, session)
    expect(warnings).toEqual([])
  })

  it('says what to do', () => {
    const evidence = { url: URL, userAgent: 'Chrome/156' }
    expect(cacheOffWarning(evidence, 'npx vite-plugin-http2-push trust')).toMatch(
      /fetched .*react\.js\?v=abc123 again .* immutable: its HTTP cache is off\. .*not trusted.* Fix: npx vite-plugin-http2-push trust$/,
    )
    expect(cacheOffWarning(evidence, undefined)).toContain('"Disable cache"')
  })
})
