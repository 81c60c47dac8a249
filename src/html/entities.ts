const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
}

const ENTITY_RE = /&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([a-zA-Z]+));?/g

/** Decodes the HTML character references that occur in URL attributes (`&amp;`, `&#38;`, `&#x26;`, ...). */
export function decodeHtmlEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(
    ENTITY_RE,
    (whole, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (decimal !== undefined || hex !== undefined) {
        const codePoint = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex!, 16)
        return codePoint > 0 && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\ufffd'
      }
      return NAMED_ENTITIES[name!.toLowerCase()] ?? whole
    },
  )
}

/** How an attribute value is delimited in the HTML: by `"`, by `'`, or not at all. */
export type AttributeQuote = '"' | "'" | ''

/**
 * Escapes text for a quoted HTML attribute value. Both quotes are escaped, so the result is safe
 * between `"` and between `'` alike: a value can never end its attribute early.
 */
export function escapeHtmlAttribute(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
}

/**
 * The text to write in place of an attribute's raw value so that the browser reads back exactly
 * `value`: escaped for the quotes around it; an unquoted value is written double-quoted (unquoted,
 * a space ends it and a quote or `=` in it is a parse error).
 */
export function attributeValueText(value: string, quote: AttributeQuote): string {
  return quote === '' ? `"${escapeHtmlAttribute(value)}"` : escapeHtmlAttribute(value)
}
