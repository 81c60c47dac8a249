import http2 from 'node:http2'
import { expect } from 'vitest'
import { plainGet, TestClient, type FetchedResponse, type PageLoad, type ReceivedPush } from './http2-clients.js'

/** The Cache-Control of a versioned URL (the page's import map names these) answered at its current version. */
const IMMUTABLE = 'max-age=31536000, immutable'

/**
 * Headers that must match byte for byte between a push and a GET (all but the clock). A response
 * fetched at a versioned URL must carry {@link IMMUTABLE}, in place of the `no-cache` Vite gives
 * every source module it versions: it is compared as that.
 */
export function comparableHeaders(response: FetchedResponse): Record<string, string | string[]> {
  const { date: _date, ...rest } = response.headers
  if (response.requested === undefined || !/[?&]__h2v=/.test(response.requested)) return rest
  expect(rest['cache-control'], `Cache-Control of ${response.requested}`).toBe(IMMUTABLE)
  return { ...rest, 'cache-control': 'no-cache' }
}

/** The request headers a push promised, to repeat them in a GET (the form Vite serves depends on them). */
function promisedRequestHeaders(push: ReceivedPush): http2.OutgoingHttpHeaders {
  const { accept, 'sec-fetch-dest': dest } = push.requestHeaders
  return {
    ...(accept !== undefined ? { accept: String(accept) } : {}),
    ...(dest !== undefined ? { 'sec-fetch-dest': String(dest) } : {}),
  }
}

/**
 * Checks that each push carries exactly what a plain GET of its URL (with the promised request
 * headers) returns now: status 200 both ways, same headers but `date`, same bytes.
 */
export async function expectPushesIdenticalToGets(origin: string, pushes: readonly ReceivedPush[]): Promise<void> {
  for (const push of pushes) {
    const pushed = await push.response
    expect(pushed, `push of ${push.key} arrived`).toBeDefined()
    const got = await plainGet(origin, push.path, promisedRequestHeaders(push))
    expect(got.status, `GET status of pushed ${push.key}`).toBe(200)
    expectSameResponse(push.key, pushed, got)
  }
}

/**
 * The full-push check: everything `load` needed came from push (none of it requested), `client`
 * was pushed nothing it did not use, and each push equals a plain GET of its URL.
 */
export async function expectFullPush(origin: string, client: TestClient, load: PageLoad): Promise<void> {
  expect([...load.fromPush].sort()).toEqual([...load.closure.keys()].sort())
  expect(load.requested.size).toBe(0)
  expect(client.unusedPushKeys()).toEqual([])
  await expectPushesIdenticalToGets(origin, load.pushesReceived)
}

/** A response equals the expected one (e.g. what a GET returned): status, headers but `date` (see {@link comparableHeaders}), bytes. */
export function expectSameResponse(
  key: string,
  actual: FetchedResponse | undefined,
  expected: FetchedResponse | undefined,
): void {
  expect(expected, `${key} is part of the page`).toBeDefined()
  expect(actual, `${key} arrived`).toBeDefined()
  expect(actual!.status, key).toBe(expected!.status)
  expect(comparableHeaders(actual!), key).toEqual(comparableHeaders(expected!))
  expect(actual!.body.equals(expected!.body), `body of ${key}`).toBe(true)
}

/** What a client that refuses push discovers for a page: key → response. */
export async function crawl(origin: string, page: string): Promise<Map<string, FetchedResponse>> {
  await using client = new TestClient(origin, { enablePush: false })
  return (await client.loadPage(page)).closure
}

/** Resolves once `check()` is true, polling every `intervalMs`; rejects after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
