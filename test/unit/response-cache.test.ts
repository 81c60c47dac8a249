import { describe, expect, it } from 'vitest'
import { ResponseCache, type CacheEntry } from '../../src/graph/response-cache.js'
import type { ServedResource } from '../../src/graph/served-resource.js'

const entry = (url: string, bytes: number): CacheEntry => ({
  resource: { url, as: 'script', key: url } as ServedResource,
  token: url,
  bytes,
})

describe('ResponseCache', () => {
  it('evicts the least recently used entry first: a hit keeps a module every load reads', () => {
    const cache = new ResponseCache(300)
    cache.store('/hot.js', entry('/hot.js', 100))
    cache.store('/a.js', entry('/a.js', 100))
    cache.store('/b.js', entry('/b.js', 100))
    expect(cache.get('/hot.js')).toBeDefined() // read by the next page load
    cache.store('/c.js', entry('/c.js', 100)) // over the bound: one entry must go
    expect(cache.get('/hot.js')).toBeDefined()
    expect(cache.get('/a.js')).toBeUndefined()
    expect(cache.size).toBe(3)
  })

  it('keeps an entry larger than the bound only until the next store', () => {
    const cache = new ResponseCache(100)
    cache.store('/big.js', entry('/big.js', 500))
    expect(cache.get('/big.js')).toBeDefined()
    cache.store('/small.js', entry('/small.js', 10))
    expect(cache.get('/big.js')).toBeUndefined()
    expect(cache.get('/small.js')).toBeDefined()
  })
})
