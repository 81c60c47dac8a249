import { describe, expect, it } from 'vitest'
import { parseSourceMapUrl, splitInlineSourceMap } from '../../src/serve/external-source-map.js'

describe('splitInlineSourceMap', () => {
  const map = JSON.stringify({ version: 3, sources: ['a.ts'], mappings: 'AAAA' })
  const comment = `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(map).toString('base64')}`

  it('splits the code from the inline map Vite appends as the last line', () => {
    const split = splitInlineSourceMap(Buffer.from(`export const a = 1${comment}`))
    expect(split?.code.toString()).toBe('export const a = 1')
    expect(split?.map.toString()).toBe(map)
  })

  it('leaves a body without one, or with more code after it, alone', () => {
    expect(splitInlineSourceMap(Buffer.from('export const a = 1\n'))).toBeUndefined()
    expect(splitInlineSourceMap(Buffer.from(`const a = 1${comment}\nconst b = 2`))).toBeUndefined()
    expect(splitInlineSourceMap(Buffer.from(`//# sourceMappingURL=a.js.map`))).toBeUndefined()
  })

  it('takes the last comment when the code holds one in a string', () => {
    const body = `const s = "${comment.replace('\n', '\\n')}"${comment}`
    expect(splitInlineSourceMap(Buffer.from(body))?.code.toString()).toBe(`const s = "${comment.replace('\n', '\\n')}"`)
  })
})

/** A token of the plugin's own form: 16 characters of base64url. */
const TOKEN = 'Ab0_-cdefghijklm'

describe('parseSourceMapUrl', () => {
  it.each([
    [`/src/a.ts?__h2map=${TOKEN}`, '/src/a.ts', TOKEN],
    [`/src/a.ts?t=1&__h2map=${TOKEN}`, '/src/a.ts?t=1', TOKEN],
    [`/src/a.ts?__h2map=${TOKEN}&t=1`, '/src/a.ts?t=1', TOKEN],
  ])('%s -> %s at %s', (url, own, version) => {
    expect(parseSourceMapUrl(url)).toEqual({ url: own, version })
  })

  it('is undefined for any other URL', () => {
    expect(parseSourceMapUrl(`/src/a.ts?x__h2map=${TOKEN}`)).toBeUndefined()
    expect(parseSourceMapUrl('/src/a.ts')).toBeUndefined()
  })

  // a marker in any form the plugin never hands out stays in the URL, for Vite to answer as it would without the plugin
  it.each([
    ['repeated', `/src/a.ts?__h2map=${TOKEN}&__h2map=${TOKEN}`],
    ['repeated, once without a value', `/src/a.ts?__h2map=${TOKEN}&__h2map`],
    ['repeated, once empty', `/src/a.ts?__h2map=&__h2map=${TOKEN}`],
    ['short', '/src/a.ts?__h2map=abc'],
    ['over-long', `/src/a.ts?__h2map=${TOKEN}x`],
    ['empty', '/src/a.ts?__h2map='],
    ['outside base64url', `/src/a.ts?__h2map=${TOKEN.slice(1)}.`],
    ['in another case', `/src/a.ts?__H2MAP=${TOKEN}`],
    ['percent-encoded', `/src/a.ts?%5F%5Fh2map=${TOKEN}`],
  ])('is undefined for a marker %s', (_form, url) => {
    expect(parseSourceMapUrl(url)).toBeUndefined()
  })
})
