import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * A temp directory that removes itself: hold it with `using` in a test, or call `remove()` in the
 * `afterAll` of the suite that made it in `beforeAll`. Its path is real (no symlink), so `/@fs/`
 * URLs match what Vite prints.
 */
export interface TempDir extends Disposable {
  readonly path: string
  /** `path.join(dir.path, ...parts)`. */
  join(...parts: string[]): string
  /** Writes `files` (relative path → content) under the directory. */
  write(files: Record<string, string>): void
  remove(): void
}

/** A new temp dir named after `name`, holding `files` (relative path → content). */
export function tempDir(name: string, files: Record<string, string> = {}): TempDir {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `h2push-${name}-`)))
  const remove = () => fs.rmSync(dir, { recursive: true, force: true })
  const temp: TempDir = {
    path: dir,
    join: (...parts) => path.join(dir, ...parts),
    write: (tree) => writeTree(dir, tree),
    remove,
    [Symbol.dispose]: remove,
  }
  temp.write(files)
  return temp
}

/** Writes `files` (relative path → content) under `dir`. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
}

/** Every file under `dir`, as sorted relative paths with `/`. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort()
}
