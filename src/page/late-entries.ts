import { resourceKey } from '../graph/served-resource.js'
import { extractPageEntries } from '../html/page-entries.js'
import type { ResourceRequest } from '../graph/resource-request.js'
import { mergeEntries } from './page-plan.js'

/** Most text of a streamed body's rest kept at once while looking for late entries (an unclosed script). */
const MAX_REST_SCAN = 1024 * 1024

/**
 * The entries a streamed page names after its head, found in the text as it passes: complete
 * `<script>` elements and tags are read as they arrive; an unfinished one waits for the next text.
 */
export class LateEntries {
  private head: readonly ResourceRequest[] = []
  /** Everything named after the head, in order (for the next load's known plan). */
  private readonly rest: ResourceRequest[] = []
  /** Keys already planned or reported: not reported again. */
  private readonly planned = new Set<string>()
  private pending = ''

  constructor(private readonly pageUrl: string) {}

  /** The head's own entries, and the entries planned with them (the head's and those assumed from the last load). */
  planWith(head: readonly ResourceRequest[], planned: readonly ResourceRequest[]): void {
    this.head = head
    for (const entry of planned) this.planned.add(resourceKey(entry))
  }

  /** Scans `text` (after what was left unfinished before it); returns the entries not planned yet. */
  scan(text: string, final = false): ResourceRequest[] {
    const scannable = this.pending + text
    let cut = scannable.length
    if (!final) {
      const lower = scannable.toLowerCase()
      const open = lower.lastIndexOf('<script')
      const close = lower.lastIndexOf('</script')
      cut = open > close ? open : scannable.lastIndexOf('>') + 1
    }
    this.pending = scannable.slice(cut)
    if (this.pending.length > MAX_REST_SCAN) this.pending = '' // an endless script: give up on it
    const added: ResourceRequest[] = []
    if (cut === 0) return added
    for (const entry of extractPageEntries(scannable.slice(0, cut), this.pageUrl).entries) {
      this.rest.push(entry)
      const key = resourceKey(entry)
      if (this.planned.has(key)) continue
      this.planned.add(key)
      added.push(entry)
    }
    return added
  }

  /** The head's entries and those named after it. */
  all(): ResourceRequest[] {
    return mergeEntries(this.head, this.rest)
  }
}
