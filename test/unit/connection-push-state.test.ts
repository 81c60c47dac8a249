import { describe, expect, it } from 'vitest'
import { ConnectionPushState, MAX_RESET_PUSHES } from '../../src/push/connection-push-state.js'
import { pushWindow } from '../../src/push/push-resources.js'

describe('ConnectionPushState', () => {
  it('remembers url -> version, replaces on change and forgets only the version it was told', () => {
    const state = new ConnectionPushState()
    state.remember('/a.js', 'W/"1"')
    expect(state.has('/a.js', 'W/"1"')).toBe(true)
    expect(state.has('/a.js', 'W/"2"')).toBe(false)
    state.remember('/a.js', 'W/"2"')
    expect(state.has('/a.js', 'W/"1"')).toBe(false)
    state.recordReset('/a.js', 'W/"1"')
    expect(state.has('/a.js', 'W/"2"')).toBe(true)
    state.recordReset('/a.js', 'W/"2"')
    expect(state.size).toBe(0)
  })
})

describe('pushWindow', () => {
  it('keeps one stream free under the client limit and caps the window', () => {
    expect(pushWindow(undefined)).toBe(100)
    expect(pushWindow(4294967295)).toBe(100)
    expect(pushWindow(100)).toBe(99)
    expect(pushWindow(2)).toBe(1)
    expect(pushWindow(1)).toBe(0)
  })
})

describe('a client that keeps resetting pushes', () => {
  it('counts as refusing push after MAX_RESET_PUSHES resets', () => {
    const state = new ConnectionPushState()
    for (let i = 0; i < MAX_RESET_PUSHES - 1; i++) {
      state.remember(`/m${i}.js`, 'W/"1"')
      state.recordReset(`/m${i}.js`, 'W/"1"')
    }
    expect(state.refusesPush).toBe(false)
    state.recordReset('/last.js', 'W/"1"')
    expect(state.refusesPush).toBe(true)
  })
})
