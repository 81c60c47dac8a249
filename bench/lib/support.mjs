// The benchmark reuses the project's test support (app generator, browser-like HTTP/2 loader,
// Chromium flags). Node 20 cannot import TypeScript, so each file is type-stripped with Vite's
// own transformWithOxc into bench/.cache/support/ (written atomically, reused while unchanged).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const BENCH = path.join(REPO, 'bench')
export const CACHE = path.join(BENCH, '.cache')

/**
 * Imports `test/support/<name>.ts` (type-stripped). Its own imports must be bare packages, node:
 * builtins or `.mjs` siblings.
 */
export async function importSupport(name) {
  const source = path.join(REPO, 'test/support', `${name}.ts`)
  const code = fs.readFileSync(source, 'utf8')
  const hash = crypto.createHash('sha1').update(code).digest('hex').slice(0, 10)
  const out = path.join(CACHE, 'support', `${name}.${hash}.mjs`)
  if (!fs.existsSync(out)) {
    const { transformWithOxc } = await import('vite')
    const result = await transformWithOxc(code, source, { lang: 'ts', sourcemap: false })
    // plain JavaScript siblings (browser-headers.mjs) are imported as they are, by absolute URL
    result.code = result.code.replace(
      /(\sfrom\s+['"])(\.\/[\w-]+\.mjs)(['"])/g,
      (_, before, file, after) => `${before}${pathToFileURL(path.join(REPO, 'test/support', file)).href}${after}`,
    )
    // the file runs from bench/.cache/support/: its own folder is the source's
    result.code = result.code.replaceAll('import.meta.dirname', JSON.stringify(path.dirname(source)))
    if (/^\s*import\s[^;]*from\s+['"]\.\.?\//m.test(result.code)) {
      throw new Error(
        `test/support/${name}.ts now imports a relative file; bench/lib/support.mjs must transpile it too`,
      )
    }
    fs.mkdirSync(path.dirname(out), { recursive: true })
    const tmp = `${out}.${process.pid}.tmp`
    fs.writeFileSync(tmp, result.code)
    fs.renameSync(tmp, out)
  }
  return import(pathToFileURL(out).href)
}
