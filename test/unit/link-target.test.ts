import { describe, expect, it } from 'vitest'
import { linkTarget } from '../../src/preload/link-target.js'

// What Node's writeEarlyHints() accepts for one link (lib/internal/validators.js).
const NODE_LINK_VALUE = /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/

describe('linkTarget (the URL inside <…> of a Link header)', () => {
  it('leaves an ordinary URL, and what is percent-encoded already, as it is', () => {
    for (const url of ['/src/main.ts?__h2v=abc-D_1', '/@id/__x00__virtual:x', '/src/a%20b.ts', "/src/it's.ts"])
      expect(linkTarget(url)).toBe(url)
  })

  it('percent-encodes controls, space, quotes and angle brackets, and non-ASCII as UTF-8, as the URL parser does', () => {
    expect(linkTarget('/src/a b<c>"d".js')).toBe('/src/a%20b%3Cc%3E%22d%22.js')
    expect(linkTarget('/src/x\r\nSet-Cookie: a=b\t\0\x7f.js')).toBe('/src/x%0D%0ASet-Cookie:%20a=b%09%00%7F.js')
    expect(linkTarget('/src/ünï/😀.js')).toBe('/src/%C3%BCn%C3%AF/%F0%9F%98%80.js')
    expect(linkTarget('/src/\ud800.js')).toBe('/src/%EF%BF%BD.js')
    // the browser's own encoding of the same characters: the target names the same URL
    expect(new URL('https://h/src/a b<c>"d"/ünï.js?q= <>"').pathname).toBe('/src/a%20b%3Cc%3E%22d%22/%C3%BCn%C3%AF.js')
  })

  it('leaves out a URL with , or ; (encoding them would name another URL)', () => {
    expect(linkTarget('/src/a,b.js')).toBeUndefined()
    expect(linkTarget('/src/a;b.js')).toBeUndefined()
    expect(linkTarget('/src/a.js?x=1,2')).toBeUndefined()
  })

  it('always makes a link Node accepts, of visible ASCII only, that a split at , and ; leaves whole', () => {
    const hostile = ['/a>b', '/a<b', '/"x"', '/a\rb', '/a\nb', '/a b', '/\u2028', '/>; rel=preload', '/x\u0085y']
    for (const url of hostile) {
      const link = `<${linkTarget(url)}>; rel=modulepreload`
      expect(link, url).toMatch(NODE_LINK_VALUE)
      expect(link, url).toMatch(/^<[\x21-\x7e]+>; rel=modulepreload$/)
      expect(link.split(/[,;]/)[0], url).toBe(`<${linkTarget(url)}>`)
    }
  })
})
