/**
 * Watches the test process for what must never happen while a server is under stress: an
 * unhandled rejection, an uncaught exception, or a process warning such as
 * `MaxListenersExceededWarning`. Install in `beforeAll`, check and `stop()` in `afterAll`.
 */
export interface ProcessGuard {
  readonly unhandledRejections: unknown[]
  readonly uncaughtExceptions: unknown[]
  readonly warnings: Error[]
  /** Warnings named `MaxListenersExceededWarning`. */
  maxListenersWarnings(): Error[]
  /** Short text of everything caught, for an assertion message. */
  describe(): string
  stop(): void
}

export function guardProcess(): ProcessGuard {
  const unhandledRejections: unknown[] = []
  const uncaughtExceptions: unknown[] = []
  const warnings: Error[] = []
  const onRejection = (reason: unknown) => unhandledRejections.push(reason)
  const onException = (error: unknown) => uncaughtExceptions.push(error)
  const onWarning = (warning: Error) => warnings.push(warning)
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  process.on('warning', onWarning)
  const text = (value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : String(value))
  return {
    unhandledRejections,
    uncaughtExceptions,
    warnings,
    maxListenersWarnings: () => warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning'),
    describe: () =>
      [
        ...unhandledRejections.map((reason) => `unhandledRejection ${text(reason)}`),
        ...uncaughtExceptions.map((error) => `uncaughtException ${text(error)}`),
        ...warnings.map((warning) => `warning ${text(warning)}`),
      ].join('\n'),
    stop() {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
      process.off('warning', onWarning)
    },
  }
}

/**
 * Log lines of the dev server that report a problem: Vite's errors, the plugin's warnings
 * ("could not prepare …"), anything mentioning an uncaught/unhandled error or a listener leak.
 */
export function problemLogLines(logs: readonly string[]): string[] {
  return logs.filter((line) =>
    /error|could not prepare|unhandled|uncaught|MaxListeners|ERR_HTTP2|Internal server/i.test(line),
  )
}
