import { describe, expect, it } from 'vitest'
import { filesForUrl } from '../../src/guard/url-files.js'

const paths = { root: '/app', base: '/', publicDir: '/app/public' }

describe('filesForUrl: the files a request URL can name, as Vite maps it', () => {
  it.each([
    ['/src/a.ts', ['/app/src/a.ts', '/app/public/src/a.ts']],
    ['/src/a.ts?import&t=1700000000000', ['/app/src/a.ts', '/app/public/src/a.ts']],
    ['/@fs/etc/passwd', ['/etc/passwd']],
    ['/@fs/etc/passwd?import', ['/etc/passwd']],
    ['/@fs/app/x.txt?raw??', ['/app/x.txt']],
    ['/@fs/app/src/%2e%2e/%2e%2e/etc/passwd?raw', ['/app/src/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd']],
    ['/..%2f..%2fetc/passwd', ['/app/..%2f..%2fetc/passwd', '/app/public/..%2f..%2fetc/passwd', '/etc/passwd']],
    ['/@id//etc/passwd', ['/etc/passwd', '/app/etc/passwd']],
    ['/@id/react', []],
    ['/@id/__x00__virtual:x', []],
  ])('%s names %j', (url, files) => {
    expect(filesForUrl(url, paths)).toEqual(expect.arrayContaining(files))
  })

  it.each(['/@fs/etc/passwd%00', '/@fs/x%E0%A4%A', '/other/src/a.ts'])('%s names nothing deliverable', (url) => {
    expect(filesForUrl(url, { ...paths, base: url.startsWith('/other') ? '/app/' : '/' })).toBe('invalid')
  })

  it('strips base', () => {
    expect(filesForUrl('/app/@fs/etc/passwd', { ...paths, base: '/app/' })).toEqual(['/etc/passwd'])
    expect(filesForUrl('/app/src/a.ts', { ...paths, base: '/app/', publicDir: '' })).toEqual(['/app/src/a.ts'])
  })
})
