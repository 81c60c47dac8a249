// One process at a time in a folder of key files: two dev servers starting together (a monorepo's
// `dev`) must not each write half of a key/certificate pair. An O_EXCL lock file holds the owner's
// pid; a lock whose process is gone, or that is older than any real holder, is broken.
import { open, readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { CLI, LOG_PREFIX } from '../plugin-name.js'

const LOCK_FILE = '.lock'
const RETRY_MS = 25
// Creating a CA or a leaf takes milliseconds; a lock this old was left by a hung or reused pid.
const STALE_MS = 30_000
const GIVE_UP_MS = 60_000

/** Runs `task` while holding `<directory>/.lock` (the folder must exist), and releases it after. */
export async function withDirectoryLock<T>(directory: string, task: () => Promise<T>): Promise<T> {
  const lockFile = path.join(directory, LOCK_FILE)
  const started = Date.now()
  for (;;) {
    const acquired = await tryAcquire(lockFile)
    if (acquired) break
    if (await isStale(lockFile)) await rm(lockFile, { force: true })
    else if (Date.now() - started > GIVE_UP_MS) {
      throw new Error(
        `${LOG_PREFIX} ${lockFile} has been held by another process for over a minute. ` +
          `If no other dev server or \`${CLI} trust\` is running, delete that file.`,
      )
    } else await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
  }
  try {
    return await task()
  } finally {
    await rm(lockFile, { force: true })
  }
}

async function tryAcquire(lockFile: string): Promise<boolean> {
  try {
    const handle = await open(lockFile, 'wx', 0o600)
    try {
      await handle.writeFile(String(process.pid))
    } finally {
      await handle.close()
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

// Stale: its process no longer exists, or it is older than any real holder.
async function isStale(lockFile: string): Promise<boolean> {
  try {
    const [content, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)])
    if (Date.now() - info.mtimeMs > STALE_MS) return true
    const pid = Number.parseInt(content, 10)
    // An empty file is a holder between open and write: not stale.
    return Number.isInteger(pid) && pid > 0 && !isAlive(pid)
  } catch {
    return false // released meanwhile: the next attempt takes it
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
