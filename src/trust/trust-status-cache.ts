// Whether an NSS database held the CA, remembered across dev-server starts while the database file
// stays the same: each start asked `certutil` once per database before (a process each, on the
// start path). The answer is keyed by the database's cert9.db size and mtime and the CA's
// fingerprint; any change to the database (trust, untrust, a browser adding a certificate) asks again.
import fs from 'node:fs'
import path from 'node:path'
import { PRIVATE_FILE_MODE, writeFileAtomically } from '../tls/atomic-write.js'
import type { NssAnswerCache } from './trust-store.js'

const FILE = 'trust-status.json'
/** Most databases remembered (a user has a few: Chromium's, one per Firefox profile). */
const MAX_ENTRIES = 64

interface Entry {
  fingerprint: string
  size: number
  mtimeMs: number
  holds: boolean
}

/** A cache of NSS answers kept in `folder` (the plugin's CA folder, private to the user). */
export function trustStatusCache(folder: string): NssAnswerCache & { save(): Promise<void> } {
  const file = path.join(folder, FILE)
  let entries: Record<string, Entry> = {}
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) entries = parsed as Record<string, Entry>
  } catch {
    // none yet, or unreadable: every database is asked
  }
  let changed = false
  return {
    async answer(dir, fingerprint, ask) {
      const stat = statOf(path.join(dir, 'cert9.db'))
      const known = entries[dir]
      if (
        stat &&
        known?.fingerprint === fingerprint &&
        known.size === stat.size &&
        known.mtimeMs === stat.mtimeMs &&
        typeof known.holds === 'boolean'
      )
        return known.holds
      const holds = await ask()
      if (stat) {
        entries[dir] = { fingerprint, size: stat.size, mtimeMs: stat.mtimeMs, holds }
        changed = true
      }
      return holds
    },
    async save() {
      if (!changed || !fs.existsSync(folder)) return
      const kept = Object.fromEntries(Object.entries(entries).slice(-MAX_ENTRIES))
      await writeFileAtomically(file, `${JSON.stringify(kept)}\n`, PRIVATE_FILE_MODE).catch(() => undefined)
    },
  }
}

function statOf(file: string): { size: number; mtimeMs: number } | undefined {
  try {
    const stat = fs.statSync(file)
    return { size: stat.size, mtimeMs: stat.mtimeMs }
  } catch {
    return undefined
  }
}
