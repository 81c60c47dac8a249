import type { ResourceRequest } from '../graph/resource-request.js'
import {
  MAX_FETCHED_PER_PAGE,
  RECORD_FORMAT,
  type RecordedFile,
  type RecordedModule,
  type RestartRecordData,
} from './record-format.js'
import type { CapturedModule } from './record-capture.js'

/**
 * Assembles a record: the pages and modules of an earlier record, then the newly captured ones,
 * which replace what they name. Files are kept per snapshot (path, size, mtime and hash), so a
 * module recorded from an old content never points to a newer snapshot of its file.
 */
export class RecordBuilder {
  private readonly pages = new Map<string, RestartRecordData['pages'][number]>()
  private readonly modules = new Map<string, RecordedModule>()
  private readonly files: RecordedFile[] = []
  private readonly fileIndex = new Map<string, number>()

  constructor(
    private readonly plugin: string,
    private readonly inputs: string,
    earlier: RestartRecordData | undefined,
  ) {
    if (!earlier || earlier.inputs !== inputs) return
    for (const page of earlier.pages) this.pages.set(page.url, page)
    for (const [key, module] of Object.entries(earlier.modules))
      this.modules.set(key, { ...module, files: module.files.map((index) => this.fileNumber(earlier.files[index]!)) })
  }

  /**
   * A page loaded at `loadedAt` with these entries and closure; modules not captured are left out
   * of it (scripts among them are kept as URLs the browser will fetch: `key` is a script's URL).
   */
  addPage(
    url: string,
    entries: readonly ResourceRequest[],
    closure: ReadonlyArray<readonly [key: string, captured: CapturedModule | undefined]>,
    loadedAt: number,
  ): void {
    const keys: string[] = []
    const fetched: string[] = []
    for (const [key, captured] of closure) {
      if (!captured) {
        // not recordable now: an older entry for it would vouch for an outdated version
        this.modules.delete(key)
        if (!key.startsWith('style:') && fetched.length < MAX_FETCHED_PER_PAGE) fetched.push(key)
        continue
      }
      this.modules.set(key, { ...captured.module, files: captured.files.map((file) => this.fileNumber(file)) })
      keys.push(key)
    }
    this.pages.set(url, { url, entries: entries.map(({ url, as }) => ({ url, as })), closure: keys, fetched, loadedAt })
  }

  build(): RestartRecordData {
    return {
      format: RECORD_FORMAT,
      plugin: this.plugin,
      inputs: this.inputs,
      pages: [...this.pages.values()],
      modules: Object.fromEntries(this.modules),
      files: this.files,
    }
  }

  private fileNumber(file: RecordedFile): number {
    const id = `${file.path}\n${file.size}\n${file.mtimeMs}\n${file.sha1}`
    let index = this.fileIndex.get(id)
    if (index === undefined) {
      index = this.files.push({ path: file.path, size: file.size, mtimeMs: file.mtimeMs, sha1: file.sha1 }) - 1
      this.fileIndex.set(id, index)
    }
    return index
  }
}
