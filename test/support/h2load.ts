import { execFile } from 'node:child_process'
import { findExecutable, isCi } from './chromium.js'

/**
 * h2load (nghttp2's HTTP/2 benchmarking tool, Debian package nghttp2-client), with the same
 * policy as the Chromium and nghttp tests: missing locally → those tests are SKIPPED with a note on
 * stderr; missing with `CI` set → they FAIL. Note that h2load always sends SETTINGS_ENABLE_PUSH=0:
 * it is a client that refuses push (the plugin gives it modulepreload links instead).
 */

/** The h2load executable: `$H2LOAD_PATH`, else the first `h2load` on `$PATH`; undefined when there is none. */
function h2loadPath(): string | undefined {
  return findExecutable('h2load', process.env.H2LOAD_PATH)
}

/**
 * True when h2load is available. Otherwise false (the caller skips) unless `CI` is set, in which
 * case it throws an Error saying what is missing and how to install it.
 */
export function requireH2loadOrSkip(): boolean {
  if (h2loadPath() !== undefined) return true
  const what =
    process.env.H2LOAD_PATH !== undefined
      ? `h2load (looked for ${process.env.H2LOAD_PATH} from H2LOAD_PATH)`
      : 'h2load (not found on PATH; set H2LOAD_PATH to use another executable)'
  const message = `${what} is missing; install it with: apt-get install -y nghttp2-client`
  if (isCi()) throw new Error(`${message}. CI is set, so the h2load tests fail instead of being skipped.`)
  process.stderr.write(`[skip] ${message}. Skipping the h2load tests (they fail instead when CI is set).\n`)
  return false
}

/** What h2load reported. */
export interface H2loadResult {
  output: string
  exitCode: number
  requests: {
    total: number
    started: number
    done: number
    succeeded: number
    failed: number
    errored: number
    timeout: number
  }
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number }
  /** The `finished in …` line. */
  summary: string
  /** Negotiated application protocol (`h2` expected). */
  protocol: string | undefined
}

/** Runs h2load with `args` and parses its report; never rejects on a non-zero exit (the result says). */
export function runH2load(args: string[], timeoutMs: number): Promise<H2loadResult> {
  const executable = h2loadPath()
  if (!executable) return Promise.reject(new Error('h2load is not available'))
  return new Promise((resolve, reject) => {
    execFile(executable, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`
      const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      const requests =
        /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
          output,
        )
      const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output)
      if (!requests || !status) {
        reject(new Error(`could not read h2load's report (exit ${exitCode}):\n${output}`))
        return
      }
      const n = (match: RegExpExecArray, i: number) => Number(match[i])
      resolve({
        output,
        exitCode,
        requests: {
          total: n(requests, 1),
          started: n(requests, 2),
          done: n(requests, 3),
          succeeded: n(requests, 4),
          failed: n(requests, 5),
          errored: n(requests, 6),
          timeout: n(requests, 7),
        },
        status: { '2xx': n(status, 1), '3xx': n(status, 2), '4xx': n(status, 3), '5xx': n(status, 4) },
        summary: /finished in .*/.exec(output)?.[0] ?? '',
        protocol: /Application protocol: (\S+)/.exec(output)?.[1],
      })
    })
  })
}
