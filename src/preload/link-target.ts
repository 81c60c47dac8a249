/**
 * What a URL may not hold as is inside the `<…>` of a `Link` header: controls (CR and LF above
 * all), space, `"`, `<`, `>`, DEL and non-ASCII. The browser's URL parser percent-encodes each of
 * these in a path and a query, so encoding them names the very same URL.
 */
const UNSAFE_IN_TARGET = /[\0-\x20"<>\x7f-\u{10ffff}]/u

/**
 * `,` and `;` separate links and their parameters: RFC 8288 allows them inside `<…>`, but
 * parsers that split on them first break the header there. Encoding them would name another URL
 * (the browser does not, so the hint would fetch a URL the page never imports).
 */
const SEPARATORS = /[,;]/

/**
 * The target to write between `<` and `>` in a `Link` header for `url`: the URL with every
 * character of UNSAFE_IN_TARGET percent-encoded (UTF-8). Undefined for a URL with `,` or `;`:
 * such a link is left out (the page's own HTML still preloads it).
 */
export function linkTarget(url: string): string | undefined {
  if (SEPARATORS.test(url)) return undefined
  if (!UNSAFE_IN_TARGET.test(url)) return url
  let target = ''
  for (const character of url) target += UNSAFE_IN_TARGET.test(character) ? percentEncode(character) : character
  return target
}

function percentEncode(character: string): string {
  return [...Buffer.from(character, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('')
}
