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

/** Escapes text for a double-quoted HTML attribute value. */
export function escapeHtmlAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
