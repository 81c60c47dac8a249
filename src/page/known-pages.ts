import type { ResourceRequest } from '../graph/resource-request.js'

const MAX_REMEMBERED_PAGES = 100

/**
 * The entries each recently loaded page had in its final HTML (at its last load, or from the
 * warm-up): what the next request for that page can promise or hint before Vite has transformed
 * its HTML again. Holds the most recent {@link MAX_REMEMBERED_PAGES} pages.
 */
export class KnownPages {
  private readonly entries = new Map<string, readonly ResourceRequest[]>()

  remember(pageUrl: string, entries: readonly ResourceRequest[]): void {
    this.entries.delete(pageUrl)
    this.entries.set(pageUrl, entries)
    if (this.entries.size > MAX_REMEMBERED_PAGES) this.entries.delete(this.entries.keys().next().value!)
  }

  get(pageUrl: string): readonly ResourceRequest[] | undefined {
    return this.entries.get(pageUrl)
  }
}
