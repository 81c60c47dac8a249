import { describe, expect, it } from 'vitest'
import { RenderSlots, runAsRenderOwner, type ReleaseSlot } from '../../src/graph/render-slots.js'

/** Resolves after the microtasks queued so far (a granted slot's promise has settled by then). */
const settle = () => new Promise((resolve) => setImmediate(resolve))

/** Asks for `count` slots as `owner`; returns the granted releases, filled in as they are granted. */
function ask(slots: RenderSlots, owner: object | undefined, count: number): ReleaseSlot[] {
  const granted: ReleaseSlot[] = []
  const acquire = () => slots.acquire().then((release) => void granted.push(release))
  for (let i = 0; i < count; i++) void (owner ? runAsRenderOwner(owner, acquire) : acquire())
  return granted
}

describe('RenderSlots', () => {
  it('grants one client at most its share, and the rest to another client that comes later', async () => {
    const slots = new RenderSlots(4, 2, 60_000)
    const attacker = ask(slots, {}, 10)
    const victim = ask(slots, {}, 2)
    await settle()
    expect([attacker.length, victim.length]).toEqual([2, 2])
    attacker[0]!()
    await settle()
    expect([attacker.length, victim.length]).toEqual([3, 2])
  })

  it('bounds the server’s own renders only by the total', async () => {
    const slots = new RenderSlots(4, 1, 60_000)
    const own = ask(slots, undefined, 6)
    await settle()
    expect(own.length).toBe(4)
  })

  it('takes a slot back from a render that holds it too long, and gives it to the next', async () => {
    const slots = new RenderSlots(1, 1, 20)
    const first = ask(slots, {}, 1)
    const second = ask(slots, {}, 1)
    await settle()
    expect([first.length, second.length]).toEqual([1, 0])
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(second.length).toBe(1)
    first[0]!() // released late: nothing happens twice
    second[0]!()
    const third = ask(slots, {}, 2)
    await settle()
    expect(third.length).toBe(1)
  })
})
