import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { isAllowedHost } from '../../src/report/allowed-host.js'
import { withLoadNote } from '../../src/report/load-note.js'
import { LoadRecord } from '../../src/report/load-record.js'

const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }

function request(headers: Record<string, string>, httpVersion = '2.0'): IncomingMessage {
  return { headers, httpVersion, httpVersionMajor: Number(httpVersion[0]) } as unknown as IncomingMessage
}

function record(headers: Record<string, string>, httpVersion?: string): LoadRecord {
  return new LoadRecord(
    1,
    '/',
    'Chromium · connection 1',
    request(headers, httpVersion),
    new EventEmitter() as ServerResponse,
  )
}

describe('withLoadNote', () => {
  const html = '<!doctype html><html><head><title>x</title></head><body></body></html>'

  it('adds one console.info line before </head> for a navigation that bypassed the cache', () => {
    const noted = withLoadNote(html, record({ ...NAVIGATION, 'cache-control': 'no-cache' }), '/', undefined)
    expect(noted).toMatch(
      /<script type="module">console\.info\(".*Disable cache.*\/__http2-push\/loads"\)<\/script><\/head>/,
    )
  })

  it('leaves the HTML as it is when nothing is known yet, or for a request that is not a navigation', () => {
    expect(withLoadNote(html, record(NAVIGATION), '/', undefined)).toBe(html)
    expect(withLoadNote(html, record({ 'cache-control': 'no-cache' }, '1.1'), '/', undefined)).toBe(html)
  })

  it('cannot close its script: `<` in the text is escaped', () => {
    const noted = withLoadNote(html, record({ ...NAVIGATION, pragma: 'no-cache' }), '/</script><img src=x>/', undefined)
    expect(noted.match(/<\/script>/g)).toHaveLength(1)
    expect(noted).toContain('\\u003c/script>\\u003cimg src=x>')
  })
})

describe('isAllowedHost (as Vite decides over HTTP)', () => {
  const host = (authority: string) => request({ host: authority })
  it('allows localhost, *.localhost and IP addresses, and what server.allowedHosts lists', () => {
    for (const authority of ['localhost:5173', 'app.localhost', '127.0.0.1:5173', '[::1]:5173'])
      expect(isAllowedHost(host(authority), []), authority).toBe(true)
    expect(isAllowedHost(host('dev.example:5173'), ['dev.example'])).toBe(true)
    expect(isAllowedHost(host('a.dev.example'), ['.dev.example'])).toBe(true)
    expect(isAllowedHost(host('anything.example'), true)).toBe(true)
  })
  it('rejects any other name (a DNS-rebound one)', () => {
    for (const authority of [
      'attacker.example:5173',
      'localhost.attacker.example',
      'dev.example.attacker',
      'a@localhost',
    ])
      expect(isAllowedHost(host(authority), ['dev.example']), authority).toBe(false)
  })
})
