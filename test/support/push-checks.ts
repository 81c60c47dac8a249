import http2 from 'node:http2'
import { expect } from 'vitest'
import { plainGet, type FetchedResponse, type ReceivedPush } from './http2-clients.js'

/** Headers that must match byte for byte between a push and a GET (all but the clock). */
export function comparableHeaders(response: FetchedResponse): Record<string, string | string[]> {
  const { date: _date, ...rest } = response.headers
  return rest
}

/** The request headers a push promised, to repeat them in a GET (the form Vite serves depends on them). */
export function promisedRequestHeaders(push: ReceivedPush): http2.OutgoingHttpHeaders {
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
    expect(pushed!.status, push.key).toBe(got.status)
    expect(comparableHeaders(pushed!), push.key).toEqual(comparableHeaders(got))
    expect(pushed!.body.equals(got.body), `body of ${push.key}`).toBe(true)
  }
}

/** Resolves once `check()` is true, polling every `intervalMs`; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
