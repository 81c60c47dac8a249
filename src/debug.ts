/** A debug printer, or undefined unless `DEBUG` names this plugin (`DEBUG=vite-plugin-http2-push`, `vite-plugin-*`, `*`). */
export type Debug = ((message: string) => void) | undefined

/** True when the DEBUG environment variable enables `name` (comma/space separated patterns, `*` wildcards, `-` negation). */
function isDebugEnabled(name: string, env: string | undefined = process.env.DEBUG): boolean {
  if (!env) return false
  let enabled = false
  for (const raw of env.split(/[\s,]+/)) {
    if (!raw) continue
    const negated = raw.startsWith('-')
    const pattern = negated ? raw.slice(1) : raw
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
    if (re.test(name)) enabled = !negated
  }
  return enabled
}

/** Creates the plugin's debug printer writing through `write` (Vite's logger), or undefined when disabled. */
export function createDebug(write: (message: string) => void): Debug {
  if (!isDebugEnabled(PLUGIN_NAME)) return undefined
  return (message) => write(`${LOG_PREFIX} ${message}`)
}

import { LOG_PREFIX, PLUGIN_NAME } from './plugin-name.js'
