import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_PUSHES, resolveOptions, type Http2PushOptions } from '../../src/options.js'
import { proxyForcesHttp1 } from '../../src/vite-version.js'

describe('resolveOptions', () => {
  it('fills every default', () => {
    expect(resolveOptions()).toEqual({
      mode: 'auto',
      importMap: true,
      earlyHints: false,
      certDir: undefined,
      certificate: 'auto',
      caDir: undefined,
      dynamicImports: false,
      maxPushes: DEFAULT_MAX_PUSHES,
      maxPushBytes: 100 * 1024 * 1024,
      warmup: true,
      sourceMaps: 'external',
      compression: 'auto',
      restartRecord: true,
      log: true,
    })
    expect(resolveOptions({ maxPushes: Infinity, maxPushBytes: 0 }).maxPushes).toBe(Infinity)
  })

  it.each<[unknown, RegExp]>([
    [{ importMap: 'yes' }, /option `importMap` must be true or false \(got "yes"\)/],
    [{ maxPushes: -1 }, /option `maxPushes` must be a whole number >= 0.*\(got -1\)/],
    [{ maxPushBytes: '10' }, /option `maxPushBytes` must be a whole number >= 0.*\(got "10"\)/],
    [{ maxPushes: 1.5 }, /`maxPushes`/],
    [{ dynamicImports: 'yes' }, /option `dynamicImports` must be true or false \(got "yes"\)/],
    [{ log: 1 }, /option `log` must be true or false/],
    [{ restartRecord: 'no' }, /option `restartRecord` must be true or false \(got "no"\)/],
    [{ certDir: '' }, /option `certDir` must be a non-empty string path/],
    [{ certDir: 42 }, /option `certDir`.*\(got 42\)/],
    [{ caDir: '' }, /option `caDir` must be a non-empty string path/],
    [
      { certificate: 'mkcert' },
      /option `certificate` must be one of 'auto', 'local-ca', 'self-signed' \(or set server.https to use your own\) \(got "mkcert"\)/,
    ],
    [
      { maxPush: 3 },
      /option `maxPush` is not an option; known options: mode, importMap, earlyHints, certDir, certificate, caDir, dynamicImports, maxPushes, maxPushBytes, warmup, sourceMaps, compression, restartRecord, log\b/,
    ],
    [{ mode: 'fast' }, /option `mode` must be one of 'auto', 'push', 'preload', 'off' \(got "fast"\)/],
    [{ earlyHints: 'on' }, /option `earlyHints` must be true or false/],
    ['push', /option `options` must be an object/],
    [
      { sourceMaps: true },
      /option `sourceMaps` must be one of 'external', 'inline' \(use 'inline' to keep Vite's inline maps\) \(got true\)/,
    ],
    [{ compression: 'gzip' }, /option `compression` must be one of 'auto', 'always', 'off' \(use 'off' to turn/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveOptions(options as Http2PushOptions)).toThrow(message)
  })
})

describe('proxyForcesHttp1', () => {
  it.each([
    ['6.4.1', true],
    ['7.0.0', true],
    ['7.1.9', true],
    ['7.2.0', false],
    ['8.3.8', false],
    ['8.0.0-beta.1', false],
  ])('Vite %s -> %s', (version, expected) => {
    expect(proxyForcesHttp1(version)).toBe(expected)
  })
})
