// The folders that hold the plugin's private keys belong to the user alone: owned by them, not
// writable by anyone else. A folder or key file that is merely readable by others is tightened
// (0700 / 0600); one another user owns or can write is refused, since what it holds may be planted.
import { chmod, stat } from 'node:fs/promises'
import path from 'node:path'
import { CLI, LOG_PREFIX } from '../plugin-name.js'

export const PRIVATE_DIR_MODE = 0o700
const GROUP_OR_OTHER = 0o077
const WRITABLE_BY_OTHERS = 0o022

/**
 * Checks `directory` and the `files` in it that exist; tightens what others may only read, and
 * throws an error naming the fix for what another user owns or may write. `what` names the folder
 * ("the local CA") and `option` the plugin option that moves it. No-op on Windows (ACLs, no modes).
 */
export async function checkPrivateFolder(
  directory: string,
  files: string[],
  what: string,
  option: string,
): Promise<void> {
  const uid = process.getuid?.()
  if (uid === undefined || process.platform === 'win32') return
  const refuse = (target: string, reason: string) =>
    new Error(
      `${LOG_PREFIX} refusing to use ${what} in "${directory}": ${target} ${reason}, so what it holds ` +
        `may have been planted by someone else. Fix: delete "${directory}" (after \`${CLI} untrust\` ` +
        `if you trusted a CA from it) and start again, or set the plugin option \`${option}\` to a folder of your own.`,
    )
  for (const [target, mode] of [
    [directory, PRIVATE_DIR_MODE],
    ...files.map((file) => [path.join(directory, file), 0o600] as const),
  ] as const) {
    const info = await stat(target).catch(() => undefined)
    if (!info) continue
    if (info.uid !== uid) throw refuse(target, `belongs to another user (uid ${info.uid})`)
    const permissions = info.mode & 0o777
    if (permissions & WRITABLE_BY_OTHERS)
      throw refuse(target, `can be written by other users (mode ${permissions.toString(8).padStart(4, '0')})`)
    if (permissions & GROUP_OR_OTHER) await chmod(target, mode)
  }
}
