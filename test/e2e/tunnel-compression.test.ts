import { describe, expect, it } from 'vitest'
import { SCRIPT_REQUEST } from '../support/browser-headers.mjs'
import { startDelayProxy } from '../support/delay-proxy.js'
import { TestClient } from '../support/http2-clients.js'
import { waitFor } from '../support/push-checks.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'
import { startTestServer, type TestServer } from '../support/vite-server.js'

// compression: 'auto' decides by the connection's round trip (HTTP/2 PING), not by its address:
// a client through a tunnel arrives from 127.0.0.1 too, and is the one compression is for.

const BROWSER_SCRIPT = { ...SCRIPT_REQUEST, 'sec-fetch-mode': 'cors', 'accept-encoding': 'gzip, deflate, br' }
const ONE_WAY_MS = 20

function bigModulesApp(): TempDir {
  const lines = Array.from({ length: 150 }, (_, i) => `export const big${i}: string = 'value number ${i}'`).join('\n')
  return tempDir('tunnel-compression', {
    'index.html': `<!doctype html><html><body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n`,
    'src/main.ts': `import { big0 } from './big.ts'\ndocument.querySelector('#app')!.textContent = big0\n`,
    'src/big.ts': `${lines}\n`,
  })
}

/** The page's log line for `/` printed after `before` lines. */
async function pageLine(t: TestServer, before: number): Promise<string> {
  const line = () => t.logs.slice(before).find((l) => l.includes('[vite-plugin-http2-push] /:'))
  await waitFor(() => line() !== undefined, 10_000, 'the log line')
  return line()!
}

describe("compression: 'auto' by round trip", () => {
  it(`a client through a loopback tunnel (${ONE_WAY_MS} ms each way) gets compressed modules, and the log says why`, async () => {
    using app = bigModulesApp()
    await using t = await startTestServer(app.path)
    await using proxy = await startDelayProxy(t.origin, ONE_WAY_MS)
    await using client = new TestClient(proxy.origin, { enablePush: false, useResponseCache: true })
    const before = t.logs.length
    await client.loadPage('/')
    // the line is printed once the connection's round trip is settled (two PINGs through the tunnel)
    const line = await pageLine(t, before)
    const got = await client.get('/src/big.ts', BROWSER_SCRIPT)
    expect(got.status).toBe(200)
    expect(got.headers['content-encoding']).toBe('br')
    expect(t.plugin.api!.encodedBytes).toBeGreaterThan(0)
    const rtt = /; compressed: RTT (\d+) ms; \d+ modules/.exec(line)
    expect(rtt, line).not.toBeNull()
    // the wire's share of the round trip: the event loop's longest block during the PING is taken off
    expect(Number(rtt![1])).toBeGreaterThanOrEqual(ONE_WAY_MS)
  })

  it('a client directly on loopback gets none, and costs no compression', async () => {
    using app = bigModulesApp()
    await using t = await startTestServer(app.path)
    await using client = new TestClient(t.origin, { enablePush: false, useResponseCache: true })
    const before = t.logs.length
    await client.loadPage('/')
    const line = await pageLine(t, before)
    // the round trip is known, or (on a busy start) not yet: either way the address keeps it uncompressed
    expect(line).toMatch(/; not compressed: loopback, RTT (\d+\.\d ms|not known yet); \d+ modules/)
    const got = await client.get('/src/big.ts', BROWSER_SCRIPT)
    expect(got.status).toBe(200)
    expect(got.headers['content-encoding']).toBeUndefined()
    expect(t.plugin.api!.encodedBytes).toBe(0)
  })
})
