import { createLogger, type Logger } from 'vite'

/** A Vite logger that prints nothing and keeps every line, without colors, in `lines`. */
export function capturingLogger(lines: string[]): Logger {
  const logger = createLogger('silent', { allowClearScreen: false })
  const capture = (msg: string) => {
    lines.push(msg.replace(/\x1b\[[0-9;]*m/g, ''))
  }
  return { ...logger, info: capture, warn: capture, warnOnce: capture, error: capture }
}
