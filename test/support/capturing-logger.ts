import { stripVTControlCharacters } from 'node:util'
import { createLogger, type Logger } from 'vite'

/** A Vite logger that prints nothing and keeps every line, without colors, in `lines`. */
export function capturingLogger(lines: string[]): Logger {
  const logger = createLogger('silent', { allowClearScreen: false })
  const capture = (msg: string) => {
    lines.push(stripVTControlCharacters(msg))
  }
  return { ...logger, info: capture, warn: capture, warnOnce: capture, error: capture }
}
