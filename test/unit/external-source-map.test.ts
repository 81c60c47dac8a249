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

describe('parseSourceMapUrl', () => {
  it.each([
    ['/src/a.ts?__h2map=abc', '/src/a.ts', 'abc'],
    ['/src/a.ts?t=1&__h2map=abc', '/src/a.ts?t=1', 'abc'],
    ['/src/a.ts?__h2map=abc&t=1', '/src/a.ts?t=1', 'abc'],
  ])('%s -> %s at %s', (url, own, version) => {
    expect(parseSourceMapUrl(url)).toEqual({ url: own, version })
  })

  it('is undefined for any other URL', () => {
    expect(parseSourceMapUrl('/src/a.ts?x__h2map=abc')).toBeUndefined()
    expect(parseSourceMapUrl('/src/a.ts')).toBeUndefined()
  })
})
