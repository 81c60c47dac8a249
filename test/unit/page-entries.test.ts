import { beforeAll, describe, expect, it } from 'vitest'
import { lexerReady } from '../../src/graph/lex-imports.js'
import { extractPageEntries, parseAttributes } from '../../src/html/page-entries.js'
import { attributeValueText, decodeHtmlEntities, type AttributeQuote } from '../../src/html/entities.js'

beforeAll(() => lexerReady())

const urls = (html: string, page = '/') => extractPageEntries(html, page).entries.map((e) => `${e.as} ${e.url}`)

describe('extractPageEntries', () => {
  it('finds module scripts, modulepreload and stylesheet links in document order', () => {
    const html = `<html><head>
      <script type="module" src="/@vite/client"></script>
      <link rel="stylesheet" href="/src/a.css">
      <link rel="modulepreload" href="/src/pre.ts">
      <script src="/classic.js"></script>
      <script type="text/javascript" src="/also-classic.js"></script>
      </head><body><script src="/src/main.ts" type="module"></script></body></html>`
    expect(urls(html)).toEqual([
      'script /@vite/client',
      'style /src/a.css',
      'script /src/pre.ts',
      'script /src/main.ts',
    ])
  })

  it('decodes entities in the html-proxy URLs Vite writes', () => {
    const html = `<script type="module" src="/index.html?html-proxy&amp;index=0.js"></script>
      <script type="module" src="/x.html?html-proxy&#38;index=1.js"></script>
      <script type="module" src="/y.html?html-proxy&#x26;index=2.js"></script>`
    expect(urls(html)).toEqual([
      'script /index.html?html-proxy&index=0.js',
      'script /x.html?html-proxy&index=1.js',
      'script /y.html?html-proxy&index=2.js',
    ])
  })

  it('accepts any attribute order and quoting, and case', () => {
    const html = `<SCRIPT SRC=/a.ts TYPE=module></SCRIPT>
      <script
        data-x="1"
        src='/b.ts'
        type=" module "></script>
      <link href="/c.css" data-rel="modulepreload" REL="Stylesheet">
      <link rel="preload stylesheet" href="/d.css">`
    expect(urls(html)).toEqual(['script /a.ts', 'script /b.ts', 'style /c.css', 'style /d.css'])
  })

  it('skips comments, raw text and alternate or disabled stylesheets', () => {
    const html = `<!-- <script type="module" src="/commented.ts"></script> -->
      <script>const s = '<script type="module" src="/in-string.ts"><\\/script>'</script>
      <template><script type="module" src="/in-template.ts"></script></template>
      <textarea><link rel="stylesheet" href="/in-textarea.css"></textarea>
      <link rel="alternate stylesheet" href="/alt.css">
      <link rel="stylesheet" href="/off.css" disabled>
      <script type="module" src="/real.ts"></script>`
    expect(urls(html)).toEqual(['script /real.ts'])
  })

  it('resolves relative URLs against the page and ignores other origins and data URLs', () => {
    const html = `<script type="module" src="./main.ts"></script>
      <script type="module" src="https://cdn.example/x.js"></script>
      <script type="module" src="//cdn.example/y.js"></script>
      <link rel="stylesheet" href="data:text/css,a{}">
      <link rel="modulepreload" href="../up.js">`
    expect(urls(html, '/app/nested/index.html')).toEqual(['script /app/nested/main.ts', 'script /app/up.js'])
  })

  it('takes the static imports (and, since issue 11, literal import() calls) of module scripts that stayed inline', () => {
    const html = `<script type="module">
      import { a } from '/src/a.ts'
      import './rel.ts'
      import('/src/lazy.ts')
    </script>`
    expect(urls(html, '/app/')).toEqual(['script /src/a.ts', 'script /app/rel.ts', 'script /src/lazy.ts'])
  })

  it('reports where the head content and the first module script start', () => {
    const html = `<html><head data-x><title>t</title><script type="module" src="/m.ts"></script></head></html>`
    const found = extractPageEntries(html, '/')
    expect(html.slice(found.headContentStart).startsWith('<title>')).toBe(true)
    expect(html.slice(found.firstModuleScriptStart).startsWith('<script type="module"')).toBe(true)
    expect(extractPageEntries('<body></body>', '/').headContentStart).toBe(-1)
  })

  it('percent-encodes spaces and non-ASCII like the browser', () => {
    expect(urls(`<script type="module" src="/src/dir with space/ü.ts"></script>`)).toEqual([
      'script /src/dir%20with%20space/%C3%BC.ts',
    ])
  })
})

describe('parseAttributes and entities', () => {
  it('keeps the first of duplicate attributes and decodes values', () => {
    const attributes = parseAttributes(` src="/a&amp;b" src="/second" defer`)
    expect(attributes.get('src')).toBe('/a&b')
    expect(attributes.get('defer')).toBe('')
  })

  it('records the quotes around each URL attribute, to rewrite it for the same quotes', () => {
    const html = `<script type=module src="/a.ts"></script><script type=module src='/b.ts'></script>
      <script type=module src=/c.ts></script><link rel=stylesheet href='/d.css'>`
    const found = extractPageEntries(html, '/').urlAttributes
    expect(found.map(({ url, quote }) => `${quote}${url}`)).toEqual(['"/a.ts', "'/b.ts", '/c.ts', "'/d.css"])
    for (const { start, end, url } of found) expect(html.slice(start, end)).toBe(url)
  })

  it.each(['"', "'", ''] as AttributeQuote[])(
    'writes any value back so that it reads the same between quotes %j, and never ends the attribute early',
    (quote) => {
      for (const value of [
        `/src/t'onerror='document.title=1337'x.js`,
        `/src/q" onerror="document.title=1337" x.js`,
        '/src/a b\tc\nd.js',
        '/src/<script>x</script>.js',
        '/src/a=b`c.js',
        '/src/a.ts?x&amp;y&lt;=1',
        '/src/plain.ts?__h2v=abc-DEF_1',
      ]) {
        const written = attributeValueText(value, quote)
        const attributes = parseAttributes(` type=module src=${quote}${written}${quote} data-end=1`)
        expect([...attributes.keys()], written).toEqual(['type', 'src', 'data-end'])
        expect(attributes.get('src'), written).toBe(value)
      }
    },
  )

  it('writes an unquoted value double-quoted', () => {
    expect(attributeValueText('/src/a.ts?__h2v=x', '')).toBe('"/src/a.ts?__h2v=x"')
    expect(attributeValueText("/src/it's.ts", '')).toBe('"/src/it&#39;s.ts"')
  })

  it('reads an unquoted value up to whitespace or >, as browsers do', () => {
    const html = `<script type=module src=/src/a.ts?x=1&amp;y=2 defer></script><link rel=stylesheet href=/b.css?v=1>`
    expect(urls(html)).toEqual(['script /src/a.ts?x=1&y=2', 'style /b.css?v=1'])
  })

  it('decodes named and numeric references and leaves unknown ones', () => {
    expect(decodeHtmlEntities('&lt;&gt;&quot;&apos;&#65;&#x42;&unknown;&amp')).toBe(`<>"'AB&unknown;&`)
  })
})

describe('extractPageEntries: entries frameworks use', () => {
  it('takes literal import("…") in classic inline scripts (SvelteKit) and in inline module scripts (React Router)', () => {
    const html = `<html><head></head><body>
      <script>
        Promise.all([
          import("/node_modules/@sveltejs/kit/src/runtime/client/entry.js"),
          import('/@fs/app/.svelte-kit/generated/client/app.js')
        ]).then(([kit, app]) => kit.start(app))
      </script>
      <script type="text/javascript">import('./rel.js')</script>
      <script type="module" async>import "/@id/__x00__virtual:hmr";
import * as route0 from "/app/root.jsx";
import("/app/entry.client.jsx");</script>
      </body></html>`
    expect(urls(html, '/docs/page')).toEqual([
      'script /node_modules/@sveltejs/kit/src/runtime/client/entry.js',
      'script /@fs/app/.svelte-kit/generated/client/app.js',
      'script /docs/rel.js',
      'script /@id/__x00__virtual:hmr',
      'script /app/root.jsx',
      'script /app/entry.client.jsx',
    ])
  })

  it('leaves non-literal imports, other script types, and scripts it cannot parse', () => {
    const html = `<script>import(someVariable); import("https://cdn.example/x.js"); import(\`/tpl/\${a}.js\`)</script>
      <script type="application/json">{"import": "import('/not-code.js')"}</script>
      <script type="importmap">{"imports": {}}</script>
      <script type="text/template">import("/template.js")</script>
      <script>this is not javascript ((( import("/after-syntax-error.js")</script>`
    expect(urls(html).filter((url) => !url.endsWith('/after-syntax-error.js'))).toEqual([])
  })
})
