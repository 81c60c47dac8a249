/**
 * A URL (or request key) without Vite's HMR timestamp query (`t=<digits>`): the same module before
 * and after Vite re-stamped it for an edit.
 */
export function withoutHmrTimestamp(url: string): string {
  return url
    .replace(/([?&])t=\d+(&|$)/, (_, separator: string, after: string) => (after ? separator : ''))
    .replace(/\?$/, '')
}

/** Vite's HMR timestamp on a URL (`t=<digits>`), 0 when it has none. */
export function hmrTimestampOf(url: string): number {
  const match = /[?&]t=(\d+)(?:&|$)/.exec(url)
  return match ? Number(match[1]) : 0
}
