import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { RecordedFile } from './record-format.js'

interface FileStat {
  size: number
  mtimeMs: number
}

/**
 * What the files behind recorded versions look like on disk now. A file whose size and mtime are
 * the recorded ones is taken as unchanged (the fast path); one whose mtime moved (a `git checkout`
 * there and back, a `touch`) is compared by content. The check is made once per file for the
 * process, until {@link forget} (Vite's watcher saw it change).
 */
export class FileSnapshots {
  private readonly stats = new Map<string, FileStat | undefined>()
  /** Content hashes by path, valid while the file keeps that size and mtime. */
  private readonly hashes = new Map<string, RecordedFile>()

  /** True while the file is as recorded. */
  async matches(recorded: RecordedFile): Promise<boolean> {
    let now = this.stats.get(recorded.path)
    if (now === undefined && !this.stats.has(recorded.path)) {
      now = statOf(recorded.path)
      this.stats.set(recorded.path, now)
    }
    if (!now || now.size !== recorded.size) return false
    if (now.mtimeMs === recorded.mtimeMs) return true
    return (await this.hashed(recorded.path, now))?.sha1 === recorded.sha1
  }

  /** The file as it is now (not from the per-process check), with its content hash; undefined when it is not a readable file. */
  async fresh(path: string): Promise<RecordedFile | undefined> {
    const now = statOf(path)
    return now && this.hashed(path, now)
  }

  /** The file changed (or appeared, or went): check it again next time. */
  forget(path: string): void {
    this.stats.delete(path)
    this.hashes.delete(path)
  }

  private async hashed(path: string, now: FileStat): Promise<RecordedFile | undefined> {
    const known = this.hashes.get(path)
    if (known && known.size === now.size && known.mtimeMs === now.mtimeMs) return known
    let content: Buffer
    try {
      content = await readFile(path)
    } catch {
      return undefined
    }
    // a write between the stat and the read: the content is not the one of that size and mtime
    const after = statOf(path)
    if (!after || after.size !== now.size || after.mtimeMs !== now.mtimeMs) return undefined
    const file = { path, ...now, sha1: createHash('sha1').update(content).digest('base64url') }
    this.hashes.set(path, file)
    return file
  }
}

/**
 * Synchronous: a `stat` is a few microseconds, and checking a 1,000-module page through promises
 * (a thread-pool round trip each) cost the first HTML after a restart over 100 ms of CPU.
 */
function statOf(path: string): FileStat | undefined {
  try {
    const stats = statSync(path, { throwIfNoEntry: false })
    return stats?.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs } : undefined
  } catch {
    return undefined
  }
}
