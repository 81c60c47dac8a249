// Writes a key or certificate file so it never appears half-written and always has its mode.
import { randomBytes } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'
import { LOG_PREFIX } from '../plugin-name.js'

export const PRIVATE_FILE_MODE = 0o600

// Writes to a temporary sibling and renames it into place; writeFile's mode only applies on creation.
export async function writeFileAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' })
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
}

// The error for a folder the plugin cannot store its files in, naming the option that moves it.
export function cannotStoreError(what: string, directory: string, option: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new Error(
    `${LOG_PREFIX} cannot store ${what} in "${directory}" (${reason}). ` +
      `Set the plugin option \`${option}\` to a writable directory, or configure \`server.https\` yourself.`,
    { cause },
  )
}
