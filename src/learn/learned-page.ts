import type { ResourceRequest } from '../graph/resource-request.js'
import { hmrTimestampOf, withoutHmrTimestamp } from './hmr-timestamp.js'

/**
 * What a learned URL can add to the page's HTML, in bytes: the import map's entry (the URL and its
 * versioned form) and a modulepreload link (the versioned form), each with its markup.
 */
function htmlBytesOf(url: string): number {
  return 3 * Buffer.byteLength(url) + 128
}

export interface LearnedUrl {
  request: ResourceRequest
  /** The page's load number that last requested it. */
  lastLoad: number
  /** The file (and way of fetching it) the URL is a form of. */
  form: string
  /** {@link htmlBytesOf} its URL. */
  htmlBytes: number
}

/** Why a URL cannot join a page's learned URLs, or undefined when it can. */
export type Refusal = 'another form' | 'an older ?t= form' | 'bytes'

/**
 * The URLs learned for one page, by request key, with what they cost in the HTML and, per file,
 * the one form learned of it (and its newer `?t=` form): a page never learns two forms of a file
 * (`/src/a.ts?import`, `/src/a.ts?v=1`, `/@fs/<root>/src/a.ts` …) that its loads would then preload both.
 */
export class LearnedPage {
  readonly urls = new Map<string, LearnedUrl>()
  /** `?t=` URLs requested by one load so far: key → that load's number (bounded like `urls`). */
  readonly stampedOnce = new Map<string, number>()
  /** Loads that recorded at least one request. */
  loads = 0
  /** Sum of {@link LearnedUrl.htmlBytes}. */
  htmlBytes = 0
  private readonly byForm = new Map<string, Set<string>>()

  constructor(private readonly maxHtmlBytes: number) {}

  /**
   * Whether `request` may be learned as a form of `form`: no other form of that file is learned
   * (its `?t=` forms aside, of which only a newer one), and its bytes fit.
   */
  refusal(key: string, request: ResourceRequest, form: string): Refusal | undefined {
    const base = withoutHmrTimestamp(key)
    const stamp = hmrTimestampOf(key)
    for (const other of this.byForm.get(form) ?? []) {
      if (withoutHmrTimestamp(other) !== base) return 'another form'
      if (hmrTimestampOf(other) > stamp && stamp > 0) return 'an older ?t= form'
    }
    if (this.htmlBytes + htmlBytesOf(request.url) > this.maxHtmlBytes) return 'bytes'
    return undefined
  }

  /** Adds a URL (see {@link refusal}); a newer `?t=` form replaces older ones. Returns how many URLs it holds more. */
  add(key: string, request: ResourceRequest, form: string, load: number): number {
    const before = this.urls.size
    const stamp = hmrTimestampOf(key)
    if (stamp > 0) {
      // deleting from a Set while iterating it is well defined: the rest are still visited
      for (const other of this.byForm.get(form) ?? []) {
        const otherStamp = hmrTimestampOf(other)
        if (otherStamp > 0 && otherStamp < stamp) this.delete(other)
      }
    }
    const learned = {
      request: { url: request.url, as: request.as },
      lastLoad: load,
      form,
      htmlBytes: htmlBytesOf(request.url),
    }
    this.urls.set(key, learned)
    this.htmlBytes += learned.htmlBytes
    let keys = this.byForm.get(form)
    if (!keys) this.byForm.set(form, (keys = new Set()))
    keys.add(key)
    return this.urls.size - before
  }

  /** Removes a URL; true when it was there. */
  delete(key: string): boolean {
    const learned = this.urls.get(key)
    if (!learned) return false
    this.urls.delete(key)
    this.htmlBytes -= learned.htmlBytes
    const keys = this.byForm.get(learned.form)
    keys?.delete(key)
    if (keys?.size === 0) this.byForm.delete(learned.form)
    return true
  }
}
