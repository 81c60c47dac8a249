// The plugin's key and certificate files are never served, whatever `server.fs` says: a custom
// `server.fs.deny` replaces Vite's default `*.{crt,pem}`, and `server.fs.strict: false` lets
// `/@fs/` read any path. The fs guard and a first-in-stack middleware both ask this list.
import path from 'node:path'
import type { Connect, ResolvedConfig } from 'vite'
import { realPathOf } from './real-path.js'
import { filesForUrl } from './url-files.js'

const protectedFiles = new Set<string>()

/** Adds files (a key, a certificate) no request may read; through symlinks too. */
export function protectFiles(...files: string[]): void {
  for (const file of files) {
    protectedFiles.add(comparable(path.resolve(file)))
    const real = realPathOf(file)
    if (real) protectedFiles.add(comparable(real))
  }
}

/**
 * Whether `file` (or what it links to) is one of the plugin's key or certificate files. `real`:
 * the file's real path when the caller has it already (undefined: not on disk).
 */
export function isProtectedFile(file: string, real: string | undefined = realPathOf(file)): boolean {
  if (protectedFiles.size === 0) return false
  if (protectedFiles.has(comparable(path.resolve(file)))) return true
  return real !== undefined && protectedFiles.has(comparable(real))
}

/** A middleware that answers 403 to any request URL that can name a protected file. */
export function createProtectedFilesMiddleware(
  config: Pick<ResolvedConfig, 'root' | 'base' | 'publicDir'>,
): Connect.NextHandleFunction {
  const paths = { root: config.root, base: config.base, publicDir: config.publicDir || '' }
  return (req, res, next) => {
    const files = protectedFiles.size > 0 && req.url ? filesForUrl(req.url, paths) : []
    if (files !== 'invalid' && files.some((file) => isProtectedFile(file))) {
      res.statusCode = 403
      res.setHeader('Content-Type', 'text/plain')
      res.end('403 Forbidden')
      return
    }
    next()
  }
}

// Case-insensitive file systems (macOS, Windows) name one file in several spellings.
function comparable(file: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? file.toLowerCase() : file
}
