import { lexImports, type ModuleImports } from '../graph/lex-imports.js'
import { resolveRequestUrl } from '../graph/resolve-url.js'
import type { ResourceKind, ResourceRequest } from '../graph/resource-request.js'
import { decodeHtmlEntities, type AttributeQuote } from './entities.js'

/** What the final HTML of a page asks the browser to load before it can run. */
export interface PageEntries {
  /** The URLs the page loads up front, in document order. */
  entries: ResourceRequest[]
  /** Start offset of the first `<script type="module">` (inline or not), or -1. */
  firstModuleScriptStart: number
  /** Offset just after `<head ...>`, or -1 when the page has no head tag. */
  headContentStart: number
  /** Offset of `</head>`, or -1. */
  headEnd: number
  /** Where each entry named by an attribute (module script `src`, link `href`) has its raw value in the HTML. */
  urlAttributes: UrlAttribute[]
  /** Where the content of the page's first `<script type="importmap">` lies, when it has one. */
  importMap: { start: number; end: number } | undefined
}

/** An entry's URL as written in an attribute: its offsets in the HTML (without quotes) and its quotes. */
interface UrlAttribute extends ResourceRequest {
  start: number
  end: number
  quote: AttributeQuote
}

interface AttributeValue {
  value: string
  /** Offsets of the raw value within the attribute text (-1 for an attribute without one). */
  start: number
  end: number
  quote: AttributeQuote
}

const TAG_RE =
  /<!--[\s\S]*?(?:-->|$)|<(script|link|style|textarea|template|title|head)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/gi
// An unquoted value runs to HTML whitespace or `>`, as in browsers (`"'<=` and backquotes in it are kept).
const ATTRIBUTE_RE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]+)))?/dg
/** The quotes of each value group of ATTRIBUTE_RE. */
const QUOTES: Record<number, AttributeQuote> = { 2: '"', 3: "'", 4: '' }
const RAW_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'template', 'title'])

/**
 * Finds the page's up-front loads in its final HTML: module scripts (including the
 * `?html-proxy` ones Vite makes of inline scripts, and the static imports of module scripts
 * still inline), literal `import("…")` calls in inline scripts, classic or module (how SSR
 * frameworks start their code), `modulepreload` links and stylesheet links. Comments and the contents of
 * raw-text elements are skipped; attribute values have their HTML entities decoded.
 */
export function extractPageEntries(html: string, pageUrl: string): PageEntries {
  const result: PageEntries = {
    entries: [],
    firstModuleScriptStart: -1,
    headContentStart: -1,
    headEnd: -1,
    urlAttributes: [],
    importMap: undefined,
  }
  const add = (url: string | undefined, as: ResourceKind) => {
    if (url !== undefined) result.entries.push({ url, as })
  }
  const addFromAttribute = (attribute: AttributeValue, as: ResourceKind, attributesStart: number) => {
    const url = resolveRequestUrl(attribute.value, pageUrl)
    if (url === undefined) return
    add(url, as)
    if (attribute.start >= 0)
      result.urlAttributes.push({
        url,
        as,
        start: attributesStart + attribute.start,
        end: attributesStart + attribute.end,
        quote: attribute.quote,
      })
  }
  const lowerHtml = html.toLowerCase()
  result.headEnd = findHeadEnd(lowerHtml)
  TAG_RE.lastIndex = 0
  for (let match = TAG_RE.exec(html); match; match = TAG_RE.exec(html)) {
    const tagName = match[1]?.toLowerCase()
    if (tagName === undefined) continue // a comment
    const tagStart = match.index
    const tagEnd = TAG_RE.lastIndex
    const attributeSpans = parseAttributeValues(match[2] ?? '')
    const attributes = new Map([...attributeSpans].map(([name, { value }]) => [name, value]))
    const attributesStart = match.index + 1 + match[1]!.length
    let content = ''
    if (RAW_TEXT_TAGS.has(tagName)) {
      const close = lowerHtml.indexOf(`</${tagName}`, tagEnd)
      const contentEnd = close === -1 ? html.length : close
      content = html.slice(tagEnd, contentEnd)
      TAG_RE.lastIndex = contentEnd
    }
    if (tagName === 'head') {
      if (result.headContentStart === -1) result.headContentStart = tagEnd
    } else if (tagName === 'script' && attributes.get('type')?.trim().toLowerCase() === 'importmap') {
      result.importMap ??= { start: tagEnd, end: tagEnd + content.length }
    } else if (tagName === 'script' && attributes.get('type')?.trim().toLowerCase() === 'module') {
      if (result.firstModuleScriptStart === -1) result.firstModuleScriptStart = tagStart
      const src = attributeSpans.get('src')
      if (src !== undefined) {
        addFromAttribute(src, 'script', attributesStart)
      } else {
        const imports = inlineImports(content)
        for (const specifier of [...imports.static, ...imports.dynamic]) {
          add(resolveRequestUrl(specifier, pageUrl), 'script')
        }
      }
    } else if (tagName === 'script' && attributes.get('src') === undefined && isClassicScript(attributes)) {
      // Frameworks start their code from a classic inline script: `import("/…/entry.js")`.
      for (const specifier of inlineImports(content).dynamic) add(resolveRequestUrl(specifier, pageUrl), 'script')
    } else if (tagName === 'link') {
      const rel = new Set((attributes.get('rel') ?? '').toLowerCase().split(/\s+/).filter(Boolean))
      const href = attributeSpans.get('href')
      if (href === undefined) continue
      if (rel.has('modulepreload')) addFromAttribute(href, 'script', attributesStart)
      else if (rel.has('stylesheet') && !rel.has('alternate') && !attributes.has('disabled')) {
        addFromAttribute(href, 'style', attributesStart)
      }
    }
  }
  return result
}

function findHeadEnd(lowerHtml: string): number {
  const match = /<\/head\s*>/.exec(lowerHtml)
  return match ? match.index : -1
}

/** Parses a tag's attribute text into a map of lowercased names to entity-decoded values. */
export function parseAttributes(text: string): Map<string, string> {
  return new Map([...parseAttributeValues(text)].map(([name, { value }]) => [name, value]))
}

/** Parses a tag's attribute text: lowercased names to entity-decoded values and where each raw value lies. */
function parseAttributeValues(text: string): Map<string, AttributeValue> {
  const attributes = new Map<string, AttributeValue>()
  ATTRIBUTE_RE.lastIndex = 0
  for (let match = ATTRIBUTE_RE.exec(text); match; match = ATTRIBUTE_RE.exec(text)) {
    const name = match[1]!.toLowerCase()
    if (attributes.has(name)) continue // the first occurrence wins, as in browsers
    const group = [2, 3, 4].find((index) => match![index] !== undefined)
    const [start, end] = group === undefined ? [-1, -1] : match.indices![group]!
    const value = decodeHtmlEntities(group === undefined ? '' : match[group]!)
    attributes.set(name, { value, start, end, quote: QUOTES[group ?? 4]! })
  }
  return attributes
}

/** Script types a browser runs as a classic script (the type attribute absent, empty or a JavaScript MIME type). */
function isClassicScript(attributes: Map<string, string>): boolean {
  const type = attributes.get('type')?.trim().toLowerCase()
  return type === undefined || type === '' || /^(text|application)\/(x-)?(java|ecma)script$/.test(type)
}

/** The static imports and literal `import("…")` calls of an inline script. */
function inlineImports(code: string): ModuleImports {
  try {
    return lexImports(code)
  } catch {
    return { static: [], dynamic: [] } // not parsable here: the browser will report it; nothing to push
  }
}
