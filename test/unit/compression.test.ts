import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { EncodedBodies, isLoopback, negotiateEncoding } from '../../src/serve/compression.js'

describe('negotiateEncoding', () => {
  it.each([
    ['gzip, deflate, br, zstd', ['br', 'zstd', 'gzip'], 'br'],
    ['gzip, deflate, br, zstd', ['br', 'gzip'], 'br'],
    ['gzip, deflate', ['br', 'gzip'], 'gzip'],
    ['br;q=0.5, gzip', ['br', 'gzip'], 'gzip'],
    ['br;q=0, *', ['br', 'gzip'], 'gzip'],
    ['*', ['br', 'gzip'], 'br'],
    ['*;q=0', ['br', 'gzip'], undefined],
    ['identity', ['br', 'gzip'], undefined],
    ['BR', ['br', 'gzip'], 'br'],
    [' gzip ; q=1.0 , br ; q=0.9', ['br', 'gzip'], 'gzip'],
    ['', ['br', 'gzip'], undefined],
    [undefined, ['br', 'gzip'], undefined],
  ] as const)('%j of %j -> %s', (header, available, expected) => {
    expect(negotiateEncoding(header, available)).toBe(expected)
  })
})

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.2', false],
    ['::ffff:192.168.1.2', false],
    ['fe80::1', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected)
  })
})

describe('EncodedBodies', () => {
  const body = (seed: number) =>
    Buffer.from(Array.from({ length: 400 }, (_, i) => `line ${i} of body ${seed}: ${(i * seed) % 97}`).join('\n'))

  it('compresses a body once per encoding and returns the same bytes after', async () => {
    const bodies = new EncodedBodies(1024 * 1024)
    const source = body(1)
    const first = await bodies.encode(source, 'br')
    expect(zlib.brotliDecompressSync(first!).equals(source)).toBe(true)
    expect(await bodies.encode(source, 'br')).toBe(first) // the very same Buffer: not compressed again
    expect(zlib.gunzipSync((await bodies.encode(source, 'gzip'))!).equals(source)).toBe(true)
  })

  it('keeps at most its byte budget, dropping the least recently used', async () => {
    const bodies = new EncodedBodies(3000)
    const sources = Array.from({ length: 10 }, (_, i) => body(i + 2))
    const encoded = []
    for (const source of sources) encoded.push(await bodies.encode(source, 'br'))
    expect(bodies.size).toBeLessThanOrEqual(3000)
    expect(await bodies.encode(sources.at(-1)!, 'br')).toBe(encoded.at(-1)) // recent: kept
    const again = await bodies.encode(sources[0]!, 'br') // dropped: made again, equal bytes
    expect(again).not.toBe(encoded[0])
    expect(again!.equals(encoded[0]!)).toBe(true)
  })

  it('sends small or incompressible bodies as they are', async () => {
    const bodies = new EncodedBodies(1024 * 1024)
    expect(await bodies.encode(Buffer.from('x'.repeat(200)), 'br')).toBeUndefined()
    const random = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)))
    expect(await bodies.encode(random, 'gzip')).toBeUndefined()
  })
})
