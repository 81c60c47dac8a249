import { describe, expect, it } from 'vitest'
import {
  boundRecord,
  MAX_RECORDED_MODULES,
  parseRecord,
  RECORD_FORMAT,
  type RecordedModule,
  type RestartRecordData,
} from '../../src/restart/record-format.js'
import { RecordBuilder } from '../../src/restart/record-builder.js'
import { stableText } from '../../src/restart/record-inputs.js'

function module(url: string, files: number[]): RecordedModule {
  return {
    url,
    as: 'script',
    version: `W/"${url}"`,
    contentType: 'text/javascript',
    cacheControl: 'no-cache',
    pins: [],
    files,
  }
}

function record(): RestartRecordData {
  return {
    format: RECORD_FORMAT,
    plugin: '1.2.3',
    inputs: 'abc',
    pages: [
      {
        url: '/',
        entries: [{ url: '/src/main.ts', as: 'script' }],
        closure: ['/src/main.ts', '/src/a.ts'],
        fetched: ['/@vite/client'],
        loadedAt: 2,
      },
      {
        url: '/old.html',
        entries: [{ url: '/src/old.ts', as: 'script' }],
        closure: ['/src/old.ts'],
        fetched: [],
        loadedAt: 1,
      },
    ],
    modules: {
      '/src/main.ts': module('/src/main.ts', [0]),
      '/src/a.ts': module('/src/a.ts', [1]),
      '/src/old.ts': module('/src/old.ts', [2]),
    },
    files: ['main', 'a', 'old'].map((name) => ({ path: `/app/src/${name}.ts`, size: 1, mtimeMs: 1, sha1: name })),
  }
}

describe('parseRecord', () => {
  it('reads back what was written', () => {
    expect(parseRecord(JSON.stringify(record()), '1.2.3')).toEqual(record())
  })

  it.each<[string, string, RegExp]>([
    ['not JSON', '{"format":1,', /not JSON/],
    ['another format', JSON.stringify({ ...record(), format: RECORD_FORMAT + 1 }), /another format/],
    ['a page without its fetched URLs', JSON.stringify(record()).replace('"fetched":[],', ''), /malformed page/],
    [
      'a page with too many fetched URLs',
      JSON.stringify(record()).replace('"fetched":[]', `"fetched":${JSON.stringify(Array(51).fill('/x'))}`),
      /malformed page/,
    ],
    [
      'another version',
      JSON.stringify(record()).replace('1.2.3', '9.9.9'),
      /written by version 9\.9\.9, this is 1\.2\.3/,
    ],
    [
      'a file index out of range',
      JSON.stringify({ ...record(), modules: { x: module('x', [7]) } }),
      /malformed module/,
    ],
    ['a module without pins', JSON.stringify(record()).replace('"pins":[],', ''), /malformed module/],
    [
      'a page with a bad entry',
      JSON.stringify(record()).replace('"as":"script"}]', '"as":"image"}]'),
      /malformed page/,
    ],
    ['an array', '[]', /another format/],
  ])('refuses %s', (_name, text, reason) => {
    expect(parseRecord(text, '1.2.3')).toMatch(reason)
  })
})

describe('boundRecord', () => {
  it('keeps what fits, the most recently loaded pages first, and only the files they use', () => {
    expect(boundRecord(record())).toEqual(record())
    const big = record()
    big.pages[1]!.loadedAt = 3
    big.pages[1]!.closure = Array.from({ length: MAX_RECORDED_MODULES }, (_, i) => `/m${i}.ts`)
    for (const key of big.pages[1]!.closure) big.modules[key] = module(key, [2])
    const bounded = boundRecord(big)
    expect(bounded.pages.map((page) => page.url)).toEqual(['/old.html'])
    expect(Object.keys(bounded.modules)).toHaveLength(MAX_RECORDED_MODULES)
    expect(bounded.files).toEqual([big.files[2]])
    expect(bounded.modules['/m0.ts']!.files).toEqual([0])
    // the input is left as it was
    expect(big.modules['/m0.ts']!.files).toEqual([2])
  })
})

describe('RecordBuilder', () => {
  const file = (sha1: string) => ({ path: '/app/src/a.ts', size: 1, mtimeMs: 1, sha1 })
  const captured = (url: string, sha1: string) => ({
    module: {
      url,
      as: 'script' as const,
      version: sha1,
      contentType: 'text/javascript',
      cacheControl: 'no-cache',
      pins: [],
    },
    files: [file(sha1)],
  })

  it('keeps an earlier record of the same inputs, and replaces what a new load names', () => {
    const builder = new RecordBuilder('1.2.3', 'abc', record())
    builder.addPage(
      '/',
      [{ url: '/src/main.ts', as: 'script' }],
      [
        ['/src/a.ts', captured('/src/a.ts', 'new')],
        ['/src/main.ts', undefined],
        ['style:/src/a.css', undefined],
      ],
      5,
    )
    const built = builder.build()
    expect(built.pages.map((page) => [page.url, page.closure, page.fetched])).toEqual([
      ['/', ['/src/a.ts'], ['/src/main.ts']],
      ['/old.html', ['/src/old.ts'], []],
    ])
    // a module that could not be captured now is not vouched for by its older entry
    expect(built.modules['/src/main.ts']).toBeUndefined()
    expect(built.files[built.modules['/src/a.ts']!.files[0]!]!.sha1).toBe('new')
    expect(built.files[built.modules['/src/old.ts']!.files[0]!]!.path).toBe('/app/src/old.ts')
  })

  it('drops an earlier record of other inputs, and keeps each snapshot of a file apart', () => {
    const builder = new RecordBuilder('1.2.3', 'other', record())
    builder.addPage(
      '/',
      [],
      [
        ['/x.ts', captured('/x.ts', 'one')],
        ['/y.ts', captured('/y.ts', 'two')],
      ],
      5,
    )
    const built = builder.build()
    expect(built.pages.map((page) => page.url)).toEqual(['/'])
    expect(built.files.map((snapshot) => snapshot.sha1)).toEqual(['one', 'two'])
  })
})

describe('stableText', () => {
  it('ignores key order, shows functions and RegExps, and survives cycles', () => {
    const cyclic: Record<string, unknown> = { b: /x/g, a: () => 1 }
    cyclic.self = cyclic
    expect(stableText({ x: 1, y: [1, 'a'] })).toBe(stableText({ y: [1, 'a'], x: 1 }))
    expect(stableText(cyclic)).toBe('{"a":fn:() => 1,"b":re:/x/g,"self":"[cut]"}')
    expect(stableText({ define: { A: '"1"' } })).not.toBe(stableText({ define: { A: '"2"' } }))
  })
})
