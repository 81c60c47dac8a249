import { describe, expect, it } from 'vitest'
import { REMOTE_RTT_MS, remoteBySamples } from '../../src/serve/connection-rtt.js'

describe('remoteBySamples', () => {
  it('is unknown before the first answer', () => {
    expect(remoteBySamples({ minMs: undefined, count: 0 })).toBeUndefined()
  })

  it('one low sample settles local (a sample can only err high)', () => {
    expect(remoteBySamples({ minMs: 0.1, count: 1 })).toBe(false)
    expect(remoteBySamples({ minMs: REMOTE_RTT_MS, count: 1 })).toBe(false)
  })

  it('a high sample waits for a second to confirm it (a busy event loop delays a PING answer)', () => {
    expect(remoteBySamples({ minMs: 41, count: 1 })).toBeUndefined()
    expect(remoteBySamples({ minMs: 41, count: 2 })).toBe(true)
  })
})
