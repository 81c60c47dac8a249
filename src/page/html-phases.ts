/** The phases of an HTML response, in the order the hook calls them (a `PageLoad` implements them). */
export interface HtmlPhases {
  /**
   * Returns the HTML to send instead of `head`. `head` is the whole body when `complete` is true
   * (one `res.end(html)`), else the start of a streamed body: what was written up to the end of
   * `<head>`, the first module script or {@link MAX_HELD_BYTES}, whichever came first (or what
   * was written before the framework paused, see {@link HOLD_PAUSE_MS}).
   */
  head(head: string, complete: boolean): Promise<string>
  /** Text of the rest of a streamed body, as it passes through (to find late entries). */
  rest?(text: string): void
  /** Awaited before a streamed response ends (pushes must be promised before the stream ends). */
  end?(): Promise<void>
  /** The bytes to send for the final HTML (compressed, say), with the headers that go with them. */
  encode?(html: string | Buffer): Promise<string | Buffer>
  /** Preparing failed: the original bytes go out untouched. */
  failed(error: unknown): void
}

/** Most bytes of a streamed body held back while looking for the end of its head. */
export const MAX_HELD_BYTES = 64 * 1024
/**
 * A streamed body whose head is not complete yet is held at most this long after the last write:
 * a framework that pauses mid-head (an awaited render) would otherwise delay the first byte by
 * its own render time.
 */
export const HOLD_PAUSE_MS = 20

/** True once the held text holds the whole head: its `</head>` or a module script tag. */
export function headIsComplete(text: string): boolean {
  return /<\/head\s*>|<script\b[^>]*\btype\s*=\s*["']?module\b[^>]*>/i.test(text)
}
