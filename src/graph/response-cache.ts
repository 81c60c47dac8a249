import type { ServedResource } from './served-resource.js'

/** A cached response, with what tells whether it is still current and its size. */
export interface CacheEntry {
  resource: ServedResource
  token: unknown
  bytes: number
}

/**
 * The rendered responses by request key, bounded in bytes: the least recently used go first (a
 * hit moves an entry to the back), so the modules every page load reads stay while a one-off
 * page's closure makes room.
 */
export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size
  }

  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key)
    if (entry) {
      // a Map iterates in insertion order: re-inserting makes this the most recently used
      this.entries.delete(key)
      this.entries.set(key, entry)
    }
    return entry
  }

  store(key: string, entry: CacheEntry): void {
    const previous = this.entries.get(key)
    if (previous) this.evict(key, previous)
    this.entries.set(key, entry)
    this.bytes += entry.bytes
    for (const [oldKey, oldEntry] of this.entries) {
      if (this.bytes <= this.maxBytes || oldKey === key) break
      this.evict(oldKey, oldEntry)
    }
  }

  /** Drops the entry, unless another one has replaced it meanwhile. */
  evict(key: string, entry: CacheEntry): void {
    if (this.entries.get(key) !== entry) return
    this.entries.delete(key)
    this.bytes -= entry.bytes
  }
}
