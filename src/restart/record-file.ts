import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Debug } from '../debug.js'
import { PRIVATE_FILE_MODE, writeFileAtomically } from '../tls/atomic-write.js'
import { parseRecord, type RestartRecordData } from './record-format.js'

/** The record's file name in Vite's `cacheDir` (never served: the plugin only serves what Vite's graph and `server.fs` allow). */
export const RECORD_FILE_NAME = 'http2-push-record.json'

/**
 * The record in `file`, or undefined (with one DEBUG line) when there is none, or it cannot be
 * read, is corrupt, or was written by another version of the plugin: the server then starts as
 * without a record.
 */
export async function readRecord(
  file: string,
  pluginVersion: string,
  debug: Debug,
): Promise<RestartRecordData | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') debug?.(`restart record ${file} ignored: cannot read it (${(error as Error).message})`)
    return undefined
  }
  const parsed = parseRecord(text, pluginVersion)
  if (typeof parsed === 'string') {
    debug?.(`restart record ${file} ignored: ${parsed}`)
    return undefined
  }
  return parsed
}

/**
 * Writes the record atomically (a temporary sibling renamed into place), so a reader, or another
 * server sharing the `cacheDir`, only ever sees a whole record: one writer's or the other's.
 */
export async function writeRecord(file: string, data: RestartRecordData): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  await writeFileAtomically(file, JSON.stringify(data), PRIVATE_FILE_MODE)
}
