/**
 * A URL (or request key) without Vite's HMR timestamp query (`t=<digits>`): the same module before
 * and after Vite re-stamped it for an edit.
 */
export function withoutHmrTimestamp(url: string): string {
  return url
    .replace(/([?&])t=\d+(&|$)/, (_, separator: string, after: string) => (after ? separator : ''))
    .replace(/\?$/, '')
}

/** Whether a URL carries Vite's HMR timestamp query (`t=<digits>`). */
export function hasHmrTimestamp(url: string): boolean {
  return /[?&]t=\d+(&|$)/.test(url)
}
