import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The client a render is made for: the connection whose request started it (a page load, a
 * versioned or source map URL), carried through every await of that request. Undefined for the
 * server's own work (warm-up).
 */
const renderOwners = new AsyncLocalStorage<object>()

/** Runs `work` with `owner` as the client of every render it starts. */
export function runAsRenderOwner<T>(owner: object, work: () => T): T {
  return renderOwners.run(owner, work)
}

/** Gives a render slot back; calling it again does nothing. */
export type ReleaseSlot = () => void

interface Waiting {
  owner: object | undefined
  grant: (release: ReleaseSlot) => void
}

/**
 * The render slots: how many in-process renders run at once. Two bounds keep one client from
 * holding them all, whatever it requests (a URL an app middleware never answers, a slow backend):
 * - per connection: one client holds at most `perOwner` slots at once; its further renders wait
 *   in the queue while other clients' renders are granted the free slots. A bound per connection,
 *   rather than a short deadline on each render, keeps a cold page load of a big app whole: a
 *   render that takes long is still waited for, it just cannot crowd out other clients.
 * - per render: a slot is held at most `holdMs`. A render still running then goes on outside
 *   the bound (it is still ended by the renderer's own timeout), so a render that never ends
 *   blocks no queue for longer than that, even when many connections each send some.
 */
export class RenderSlots {
  private active = 0
  private readonly activeByOwner = new Map<object, number>()
  private readonly queue: Waiting[] = []

  constructor(
    private readonly total: number,
    private readonly perOwner: number,
    private readonly holdMs: number,
  ) {}

  /** Waits for a slot for the current render owner; resolves with the function that gives it back. */
  acquire(): Promise<ReleaseSlot> {
    const owner = renderOwners.getStore()
    return new Promise((grant) => {
      this.queue.push({ owner, grant })
      this.grantWaiting()
    })
  }

  private canRun(owner: object | undefined): boolean {
    return this.active < this.total && (owner === undefined || (this.activeByOwner.get(owner) ?? 0) < this.perOwner)
  }

  /** Grants free slots to the waiting renders, in arrival order, skipping clients at their bound. */
  private grantWaiting(): void {
    for (let i = 0; i < this.queue.length && this.active < this.total;) {
      const waiting = this.queue[i]!
      if (!this.canRun(waiting.owner)) {
        i++
        continue
      }
      this.queue.splice(i, 1)
      waiting.grant(this.take(waiting.owner))
    }
  }

  private take(owner: object | undefined): ReleaseSlot {
    this.active++
    if (owner !== undefined) this.activeByOwner.set(owner, (this.activeByOwner.get(owner) ?? 0) + 1)
    let held = true
    const release = () => {
      if (!held) return
      held = false
      clearTimeout(timer)
      this.active--
      if (owner !== undefined) {
        const count = this.activeByOwner.get(owner)! - 1
        if (count > 0) this.activeByOwner.set(owner, count)
        else this.activeByOwner.delete(owner)
      }
      this.grantWaiting()
    }
    const timer = setTimeout(release, this.holdMs)
    timer.unref()
    return release
  }
}
