import MagicString from 'magic-string'
import { beforeAll, describe, expect, it } from 'vitest'
import { lexerReady } from '../../src/graph/lex-imports.js'
import { extractPageEntries } from '../../src/html/page-entries.js'
import { insertModulePreloads } from '../../src/html/preload-tags.js'

beforeAll(() => lexerReady())

function edit(html: string, urls: string[], page = '/') {
  const edited = new MagicString(html)
  const added = insertModulePreloads(edited, extractPageEntries(html, page), urls)
  return { html: edited.toString(), added }
}

describe('insertModulePreloads', () => {
  it('inserts before the first module script in the head, keeping the page intact', () => {
    const html = `<html><head><meta charset="utf-8"><script type="module" src="/@vite/client"></script></head><body><script type="module" src="/src/main.ts"></script></body></html>`
    const { html: out, added } = edit(html, ['/@vite/client', '/src/main.ts', '/src/a.ts', '/src/b.ts'])
    expect(added).toBe(2)
    expect(out).toBe(
      `<html><head><meta charset="utf-8"><link rel="modulepreload" href="/src/a.ts">\n<link rel="modulepreload" href="/src/b.ts">\n<script type="module" src="/@vite/client"></script></head><body><script type="module" src="/src/main.ts"></script></body></html>`,
    )
  })

  it('goes at the end of the head when the first module script is in the body', () => {
    const html = `<head><title>x</title></head><body><script type="module" src="/m.ts"></script></body>`
    expect(edit(html, ['/a.ts']).html).toBe(
      `<head><title>x</title><link rel="modulepreload" href="/a.ts">\n</head><body><script type="module" src="/m.ts"></script></body>`,
    )
  })

  it('handles a page without a head', () => {
    expect(edit(`<!doctype html><script type="module" src="/m.ts"></script>`, ['/a.ts']).html).toBe(
      `<!doctype html><link rel="modulepreload" href="/a.ts">\n<script type="module" src="/m.ts"></script>`,
    )
    expect(edit(`<!DOCTYPE html><p>no scripts</p>`, ['/a.ts']).html).toBe(
      `<!DOCTYPE html><link rel="modulepreload" href="/a.ts">\n<p>no scripts</p>`,
    )
  })

  it('skips what the page already preloads or loads, and lists each URL once', () => {
    const html = `<head><link rel="modulepreload" href="/src/a.ts"><script type="module" src="/index.html?html-proxy&amp;index=0.js"></script></head>`
    const { html: out, added } = edit(html, [
      '/src/a.ts',
      '/index.html?html-proxy&index=0.js',
      '/src/b.ts',
      '/src/b.ts',
    ])
    expect(added).toBe(1)
    expect(out.match(/modulepreload/g)).toHaveLength(2)
    expect(out).toContain('<link rel="modulepreload" href="/src/b.ts">')
  })

  it('escapes URLs for the attribute and keeps the base', () => {
    const html = `<head><script type="module" src="/app/@vite/client"></script></head>`
    const { html: out } = edit(
      html,
      ['/app/index.html?html-proxy&index=1.js', '/app/src/"q".ts', "/app/src/'q'.ts", '/app/src/<q>.ts'],
      '/app/',
    )
    expect(out).toContain('<link rel="modulepreload" href="/app/index.html?html-proxy&amp;index=1.js">')
    expect(out).toContain('<link rel="modulepreload" href="/app/src/&quot;q&quot;.ts">')
    expect(out).toContain('<link rel="modulepreload" href="/app/src/&#39;q&#39;.ts">')
    expect(out).toContain('<link rel="modulepreload" href="/app/src/&lt;q&gt;.ts">')
    // what the browser reads back is the URL itself
    const reparsed = extractPageEntries(out, '/app/').entries.map((entry) => entry.url)
    expect(reparsed).toContain('/app/index.html?html-proxy&index=1.js')
  })

  it('returns the HTML untouched when there is nothing to add', () => {
    const html = `<head><script type="module" src="/m.ts"></script></head>`
    expect(edit(html, ['/m.ts'])).toEqual({ html, added: 0 })
  })
})
