import MagicString from 'magic-string'
import { beforeAll, describe, expect, it } from 'vitest'
import { addImportMap } from '../../src/preload/import-map.js'
import { lexerReady } from '../../src/graph/lex-imports.js'
import { buildResource, type ServedResource } from '../../src/graph/served-resource.js'
import { extractPageEntries, parseAttributes } from '../../src/html/page-entries.js'
import { parseVersionedUrl, versionedUrl } from '../../src/serve/versioned-url.js'

beforeAll(() => lexerReady())

function served(
  url: string,
  options: { as?: 'script' | 'style'; cacheControl?: string; etag?: string } = {},
): ServedResource {
  const as = options.as ?? 'script'
  return buildResource(
    { url, as },
    {
      status: 200,
      headers: {
        'content-type': as === 'style' ? 'text/css' : 'text/javascript',
        'cache-control': options.cacheControl ?? 'no-cache',
        etag: options.etag ?? `W/"${url}"`,
      },
      body: Buffer.from(''),
    },
    undefined,
  )
}

function versionPage(html: string, closure: ServedResource[]) {
  const edit = new MagicString(html)
  const result = addImportMap(edit, extractPageEntries(html, '/'), closure, '/')
  return { html: edit.toString(), result }
}

describe('versioned URLs', () => {
  it.each(['/src/a.ts', '/src/data.json?import', '/src/a.ts?t=1700000000000', '/@id/__x00__virtual:x'])(
    '%s round-trips through its versioned URL',
    (url) => {
      const resource = served(url)
      const versioned = versionedUrl(resource)
      expect(versioned).toMatch(/[?&]__h2v=[\w-]{16}$/)
      expect(parseVersionedUrl(versioned)).toEqual({ url, version: versioned.split('__h2v=')[1] })
    },
  )

  it('a new ETag is a new version; the same ETag the same', () => {
    expect(versionedUrl(served('/a.js', { etag: 'W/"1"' }))).not.toBe(versionedUrl(served('/a.js', { etag: 'W/"2"' })))
    expect(versionedUrl(served('/a.js', { etag: 'W/"1"' }))).toBe(versionedUrl(served('/a.js', { etag: 'W/"1"' })))
  })

  it('takes the version out of the middle of a query', () => {
    const token = 'Ab0_-cdefghijklm'
    expect(parseVersionedUrl(`/a.js?__h2v=${token}&x=1`)).toEqual({ url: '/a.js?x=1', version: token })
    expect(parseVersionedUrl(`/a.js?x=1&__h2v=${token}&y`)).toEqual({ url: '/a.js?x=1&y', version: token })
    expect(parseVersionedUrl(`/a.js?x__h2v=${token}`)).toBeUndefined()
  })

  it('leaves a URL whose version is not in its own form, or not there once', () => {
    const token = 'Ab0_-cdefghijklm'
    expect(parseVersionedUrl('/a.js?__h2v=abc')).toBeUndefined()
    expect(parseVersionedUrl(`/a.js?__h2v=${token}0`)).toBeUndefined()
    expect(parseVersionedUrl(`/a.js?__h2v=${token}&__h2v=${token}`)).toBeUndefined()
    expect(parseVersionedUrl(`/a.js?__h2v&__h2v=${token}`)).toBeUndefined()
    expect(parseVersionedUrl(`/a.js?__H2V=${token}`)).toBeUndefined()
  })
})

describe('addImportMap', () => {
  const closure = [
    served('/@vite/client'),
    served('/src/main.ts'),
    served('/src/page.css', { as: 'style' }),
    served('/node_modules/.vite/deps/react.js?v=1234', { cacheControl: 'max-age=31536000,immutable' }),
  ]
  const page = `<!doctype html><html><head><link rel="stylesheet" href="/src/page.css"><script type="module" src="/@vite/client"></script></head><body><script type="module" src="/src/main.ts"></script></body></html>`

  it('maps modules, not immutable deps, first in the head, and versions the page attributes', () => {
    const { html, result } = versionPage(page, closure)
    expect(result?.mapped).toBe(2)
    const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/.exec(html)![1]!)
    expect(Object.keys(map.imports)).toEqual(['/@vite/client', '/src/main.ts'])
    expect(html.indexOf('importmap')).toBeLessThan(html.indexOf('<link'))
    expect(html).toContain(`href="${versionedUrl(closure[2]!)}"`)
    expect(html).toContain(`src="${versionedUrl(closure[1]!)}"`)
  })

  it("merges into the page's own map, whose entries win", () => {
    const own = page.replace(
      '<head>',
      `<head><script type="importmap">{"imports":{"/src/main.ts":"/mine.js","x":"/x.js"},"scopes":{"/a/":{}}}</script>`,
    )
    const { html } = versionPage(own, closure)
    const maps = [...html.matchAll(/<script type="importmap">(.*?)<\/script>/g)]
    expect(maps).toHaveLength(1)
    const map = JSON.parse(maps[0]![1]!)
    expect(map.imports['/src/main.ts']).toBe('/mine.js')
    expect(map.imports.x).toBe('/x.js')
    expect(map.imports['/@vite/client']).toBe(versionedUrl(closure[0]!))
    expect(map.scopes).toEqual({ '/a/': {} })
  })

  it('leaves a page whose own map is not mergeable unversioned', () => {
    const broken = page.replace('<head>', `<head><script type="importmap">{ not json</script>`)
    const { html, result } = versionPage(broken, closure)
    expect(result).toBeUndefined()
    expect(html).toBe(broken)
  })

  it('keeps a map from closing its script element', () => {
    const { html } = versionPage(page, [served('/src/</script>.js')])
    expect(html).toContain('\\u003c/script>')
  })

  it('keeps a map from opening a comment or closing its script element in any case', () => {
    const url = '/src/<!--</SCRIPT </script\t.js'
    const { html } = versionPage(page, [served(url)])
    const content = /<script type="importmap">([\s\S]*?)<\/script/i.exec(html)![1]!
    expect(content).not.toMatch(/<!--|<\/script/i)
    expect(JSON.parse(content).imports[url]).toBe(versionedUrl(served(url)))
  })

  // issue 18: a quote in a file name ended the attribute, and Chromium ran the handler after it
  it.each([
    [`'`, `<script type=module src='/src/t&#39;onerror=&#39;document.title=1337&#39;x.js'></script>`],
    [`"`, `<script type=module src="/src/t'onerror='document.title=1337'x.js"></script>`],
    ['no', `<script type=module src=/src/t&#39;onerror=&#39;document.title=1337&#39;x.js></script>`],
  ])('rewrites a src with %s quotes for those quotes: a quote in the URL never ends it', (_, script) => {
    const module = served(`/src/t'onerror='document.title=1337'x.js`)
    const { html } = versionPage(`<!doctype html><html><head>${script}</head></html>`, [module])
    const tag = /<script type=module (.*?)><\/script>/.exec(html)![1]!
    const attributes = parseAttributes(tag)
    expect([...attributes.keys()], tag).toEqual(['src'])
    expect(attributes.get('src')).toBe(versionedUrl(module))
  })

  it('rewrites stylesheet and modulepreload hrefs the same way', () => {
    const sheet = served(`/src/s'onload='alert(1)'.css`, { as: 'style' })
    const preload = served(`/src/p'onload='alert(2)'.js`)
    const head = `<link rel=stylesheet href='/src/s&#39;onload=&#39;alert(1)&#39;.css'><link rel=modulepreload href='/src/p&#39;onload=&#39;alert(2)&#39;.js'>`
    const { html } = versionPage(`<html><head>${head}</head></html>`, [sheet, preload])
    const links = [...html.matchAll(/<link (.*?)>/g)].map((match) => parseAttributes(match[1]!))
    expect(links.map((attributes) => [...attributes.keys()])).toEqual([
      ['rel', 'href'],
      ['rel', 'href'],
    ])
    expect(links.map((attributes) => attributes.get('href'))).toEqual([versionedUrl(sheet), versionedUrl(preload)])
  })
})
