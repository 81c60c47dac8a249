import fs from 'node:fs/promises'
import path from 'node:path'
import type { ResolvedConfig, ViteDevServer } from 'vite'
import type { Debug } from '../debug.js'
import type { DeliveryGuard, ServedGraph } from '../graph/served-graph.js'
import { extractPageEntries } from '../html/page-entries.js'
import type { ResourceRequest } from '../graph/resource-request.js'

/**
 * The app's HTML pages as request URLs (with `base`): `index.html` at the root and every `.html`
 * input of the build. These are the pages whose closures are worth computing before the first
 * request.
 */
async function findHtmlPages(config: ResolvedConfig): Promise<Array<{ file: string; url: string }>> {
  const buildOptions = config.build as { rollupOptions?: { input?: unknown }; rolldownOptions?: { input?: unknown } }
  const input = buildOptions.rolldownOptions?.input ?? buildOptions.rollupOptions?.input
  const candidates = [
    path.join(config.root, 'index.html'),
    ...inputFiles(input).map((file) => path.resolve(config.root, file)),
  ]
  const pages: Array<{ file: string; url: string }> = []
  const seen = new Set<string>()
  for (const file of candidates) {
    if (!file.endsWith('.html') || seen.has(file)) continue
    seen.add(file)
    const relative = path.relative(config.root, file)
    if (relative.startsWith('..') || path.isAbsolute(relative)) continue
    if (!(await isFile(file))) continue
    const pathname = relative.split(path.sep).join('/')
    pages.push({ file, url: `${config.base}${pathname === 'index.html' ? '' : pathname}` })
  }
  return pages
}

/** Runs a page's source through Vite's `transformIndexHtml` as a request for it would, returning the final HTML. */
async function transformPage(
  server: ViteDevServer,
  page: { file: string; url: string },
  source: string,
): Promise<string> {
  const urlForVite = page.url.endsWith('/') ? `${page.url}index.html` : page.url
  return server.transformIndexHtml(urlForVite.slice(server.config.base.length - 1), source, page.url)
}

function inputFiles(input: unknown): string[] {
  if (typeof input === 'string') return [input]
  if (Array.isArray(input)) return input.filter((item): item is string => typeof item === 'string')
  if (input && typeof input === 'object')
    return Object.values(input).filter((item): item is string => typeof item === 'string')
  return []
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile()
  } catch {
    return false
  }
}

/**
 * Computes the closure of every HTML page in the background, so the first page load does not
 * wait for module discovery. Failures are only reported under DEBUG: the page will compute its
 * closure on request anyway.
 */
export async function warmPageClosures(
  server: ViteDevServer,
  graph: ServedGraph,
  options: {
    dynamicImports: boolean
    guard: DeliveryGuard
    onPage: (pageUrl: string, entries: readonly ResourceRequest[]) => void
    debug: Debug
  },
): Promise<void> {
  const started = performance.now()
  let modules = 0
  for (const page of await findHtmlPages(server.config)) {
    try {
      // Vite's HTML transform pre-transforms what the page links: never make it touch a denied
      // file (Vite 8.4.0 serves a file from then on, whatever server.fs says).
      const source = await fs.readFile(page.file, 'utf8')
      const denied = extractPageEntries(source, page.url).entries.filter(({ url }) => !options.guard.allowsUrl(url))
      if (denied.length > 0) {
        options.debug?.(`no warm-up for ${page.url}: it links ${denied.length} URL(s) server.fs denies`)
        continue
      }
      const html = await transformPage(server, page, source)
      const { entries } = extractPageEntries(html, page.url)
      options.onPage(page.url, entries)
      modules += (await graph.closure(entries, options.dynamicImports)).resources.length
    } catch (error) {
      options.debug?.(`warm-up of ${page.url} failed: ${(error as Error).message}`)
    }
  }
  options.debug?.(`warmed ${modules} responses in ${Math.round(performance.now() - started)} ms`)
}
