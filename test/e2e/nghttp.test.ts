import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nghttpPath, requireNghttpOrSkip } from '../support/chromium.js'
import { startPlayground } from '../support/playground.js'

// nghttp (nghttp2's reference client, which accepts push and caps concurrent streams at 100)
// against the real playground dev server: ~650 modules pushed for one GET of the page.

const NGHTTP_TIMEOUT = 120_000
/** nghttp's SETTINGS_MAX_CONCURRENT_STREAMS. */
const NGHTTP_MAX_CONCURRENT_STREAMS = 100

/** One frame as `nghttp -v` printed it, with the header lines printed just before it. */
interface Frame {
  direction: 'send' | 'recv'
  type: string
  flags: number
  streamId: number
  /** Lines indented under the frame line (flags spelled out, settings, promised stream id). */
  details: string[]
  /** Header fields nghttp printed for this frame's header block (HEADERS, PUSH_PROMISE). */
  headers: Array<[string, string]>
}

const FRAME_LINE = /^\[\s*[\d.]+\] (send|recv) (\w+) frame <length=\d+, flags=0x([0-9a-f]+), stream_id=(\d+)>$/
const HEADER_LINE = /^\[\s*[\d.]+\] recv \(stream_id=(\d+)\) (:?[^:]+): (.*)$/

/** Parses `nghttp -v` output into frames. */
function parseFrames(output: string): Frame[] {
  const frames: Frame[] = []
  let pendingHeaders: Array<[string, string]> = []
  let current: Frame | undefined
  for (const line of output.split('\n')) {
    const header = HEADER_LINE.exec(line)
    if (header) {
      pendingHeaders.push([header[2]!, header[3]!])
      current = undefined
      continue
    }
    const frame = FRAME_LINE.exec(line)
    if (frame) {
      const type = frame[2]!
      const carriesHeaders = frame[1] === 'recv' && (type === 'HEADERS' || type === 'PUSH_PROMISE')
      current = {
        direction: frame[1] as 'send' | 'recv',
        type,
        flags: parseInt(frame[3]!, 16),
        streamId: Number(frame[4]),
        details: [],
        headers: carriesHeaders ? pendingHeaders : [],
      }
      if (carriesHeaders) pendingHeaders = []
      frames.push(current)
      continue
    }
    if (current && /^\s+\S/.test(line)) current.details.push(line.trim())
    else current = undefined
  }
  return frames
}

function headerOf(frame: Frame, name: string): string | undefined {
  return frame.headers.find(([key]) => key === name)?.[1]
}

function promisedStreamId(frame: Frame): number {
  for (const detail of frame.details) {
    const match = /promised_stream_id=(\d+)/.exec(detail)
    if (match) return Number(match[1])
  }
  throw new Error(`PUSH_PROMISE on stream ${frame.streamId} names no promised stream`)
}

const END_STREAM = 0x1

/** Most server-initiated (pushed) streams open at once: from their HEADERS to their END_STREAM. */
function maxConcurrentPushedStreams(frames: Frame[]): number {
  const open = new Set<number>()
  let max = 0
  for (const frame of frames) {
    if (frame.direction !== 'recv' || frame.streamId === 0 || frame.streamId % 2 !== 0) continue
    if (frame.type === 'HEADERS') open.add(frame.streamId)
    max = Math.max(max, open.size)
    if ((frame.type === 'HEADERS' || frame.type === 'DATA') && frame.flags & END_STREAM) open.delete(frame.streamId)
    if (frame.type === 'RST_STREAM') open.delete(frame.streamId)
  }
  return max
}

describe.skipIf(!requireNghttpOrSkip())('the playground through nghttp', () => {
  let server: ViteDevServer
  let origin: string
  let logs: string[] = []

  beforeAll(async () => {
    const playground = await startPlayground()
    server = playground.server
    origin = playground.origin
    logs = playground.logs
  }, NGHTTP_TIMEOUT)
  afterAll(async () => {
    await server?.close()
  })

  it(
    "pushes the whole page closure, within nghttp's 100-stream limit, then sends the page",
    async () => {
      const { stdout } = await promisify(execFile)(nghttpPath()!, ['-nv', `${origin}/`], {
        timeout: NGHTTP_TIMEOUT,
        maxBuffer: 256 * 1024 * 1024,
      })
      expect(stdout).toContain('The negotiated protocol: h2')
      const frames = parseFrames(stdout)
      const request = frames.find((frame) => frame.direction === 'send' && frame.type === 'HEADERS')
      expect(request, 'the GET of the page').toBeDefined()
      const pageStream = request!.streamId

      const promises = frames.filter((frame) => frame.direction === 'recv' && frame.type === 'PUSH_PROMISE')
      const pushedPaths = promises.map((frame) => headerOf(frame, ':path')!)
      console.info(
        `[nghttp] ${promises.length} PUSH_PROMISE frames ` +
          `(${pushedPaths.filter((p) => p.includes('/lodash-es/')).length} lodash-es), ` +
          `max ${maxConcurrentPushedStreams(frames)} pushed streams open at once; ` +
          `plugin log: ${logs.filter((line) => line.includes('[vite-plugin-http2-push]')).join(' | ')}`,
      )
      // sanity check of the parse against the raw text
      expect(promises.length).toBe(stdout.match(/recv PUSH_PROMISE frame/g)?.length ?? 0)
      expect(promises.length).toBeGreaterThan(100)
      // all on the page's stream, each URL once, the app and lodash-es among them
      expect(promises.every((frame) => frame.streamId === pageStream)).toBe(true)
      expect(new Set(pushedPaths).size).toBe(pushedPaths.length)
      expect(pushedPaths).toContain('/@vite/client')
      expect(pushedPaths).toContain('/src/main.ts')
      expect(pushedPaths.filter((p) => p.includes('/lodash-es/')).length).toBeGreaterThan(600)

      // the page itself: 200 text/html, its HEADERS after every promise (pushes go before the HTML ends)
      const pageHeaders = frames.find(
        (frame) => frame.direction === 'recv' && frame.type === 'HEADERS' && frame.streamId === pageStream,
      )
      expect(pageHeaders, 'recv HEADERS frame for the page').toBeDefined()
      expect(headerOf(pageHeaders!, ':status')).toBe('200')
      expect(headerOf(pageHeaders!, 'content-type')).toMatch(/^text\/html/)
      expect(stdout).toMatch(new RegExp(`recv \\(stream_id=${pageStream}\\) :status: 200`))
      expect(frames.indexOf(pageHeaders!)).toBeGreaterThan(frames.indexOf(promises.at(-1)!))

      // every promised stream was answered 200 and completed; nothing reset; never over the stream limit
      const pushedStatuses = new Map<number, string | undefined>()
      for (const frame of frames) {
        if (frame.direction === 'recv' && frame.type === 'HEADERS' && frame.streamId % 2 === 0) {
          pushedStatuses.set(frame.streamId, headerOf(frame, ':status'))
        }
      }
      const promisedIds = promises.map(promisedStreamId)
      expect(promisedIds.filter((id) => pushedStatuses.get(id) !== '200')).toEqual([])
      expect(frames.filter((frame) => frame.type === 'RST_STREAM')).toEqual([])
      expect(frames.filter((frame) => frame.type === 'GOAWAY' && frame.direction === 'recv')).toEqual([])
      expect(maxConcurrentPushedStreams(frames)).toBeLessThanOrEqual(NGHTTP_MAX_CONCURRENT_STREAMS)
    },
    NGHTTP_TIMEOUT + 30_000,
  )
})
