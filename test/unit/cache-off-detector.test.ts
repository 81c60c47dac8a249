import { describe, expect, it } from 'vitest'
import { cacheOffWarning, createCacheOffDetector, type CacheOffEvidence } from '../../src/serve/cache-off-detector.js'

const CHROME = { 'user-agent': 'Chrome/156' }
const FIREFOX = { 'user-agent': 'Firefox/140' }
const URL = '/node_modules/.vite/deps/react.js?v=abc123'

function detector() {
  const warnings: CacheOffEvidence[] = []
  return { warnings, detector: createCacheOffDetector((evidence) => warnings.push(evidence)) }
}

describe('createCacheOffDetector', () => {
  it('warns when the same browser asks again for an immutable URL it was served', () => {
    const { warnings, detector: d } = detector()
    d.requested(URL, CHROME)
    d.servedImmutable(URL, CHROME)
    expect(warnings).toEqual([])
    d.requested(URL, CHROME)
    expect(warnings).toEqual([{ url: URL, userAgent: 'Chrome/156' }])
  })

  it('warns once only', () => {
    const { warnings, detector: d } = detector()
    for (const url of [URL, '/a.js?v=1']) {
      d.servedImmutable(url, CHROME)
      d.requested(url, CHROME)
      d.requested(url, CHROME)
    }
    expect(warnings).toHaveLength(1)
  })

  it('does not take a first request, another browser, or a URL served without immutable for evidence', () => {
    const { warnings, detector: d } = detector()
    d.requested(URL, CHROME)
    d.requested(URL, CHROME)
    d.servedImmutable(URL, CHROME)
    d.requested(URL, FIREFOX)
    d.requested('/src/main.ts', CHROME)
    expect(warnings).toEqual([])
  })

  it('does not count a hard reload or a revalidation (the cache is on, or the user bypassed it)', () => {
    const { warnings, detector: d } = detector()
    d.servedImmutable(URL, CHROME)
    d.requested(URL, { ...CHROME, 'cache-control': 'no-cache' })
    d.requested(URL, { ...CHROME, pragma: 'no-cache' })
    d.requested(URL, { ...CHROME, 'if-none-match': '"abc"' })
    d.requested(URL, { ...CHROME, 'if-modified-since': 'Wed, 02 Dec 2026 17:00:00 GMT' })
    expect(warnings).toEqual([])
  })

  it('without the request headers of the serving, any client asking again is evidence', () => {
    const { warnings, detector: d } = detector()
    d.servedImmutable(URL)
    d.requested(URL, FIREFOX)
    expect(warnings).toEqual([{ url: URL, userAgent: 'Firefox/140' }])
  })

  it('says what to do', () => {
    const evidence = { url: URL, userAgent: 'Chrome/156' }
    expect(cacheOffWarning(evidence, 'npx vite-plugin-http2-push trust')).toMatch(
      /fetched .*react\.js\?v=abc123 again .* immutable: its HTTP cache is off\. .*not trusted.* Fix: npx vite-plugin-http2-push trust$/,
    )
    expect(cacheOffWarning(evidence, undefined)).toContain('"Disable cache"')
  })
})
