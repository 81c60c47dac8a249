/**
 * Writes a synthetic, deterministic Vite app whose static module graph has a
 * known size and depth. Used by the tests and the benchmark to build module
 * waterfalls of any shape.
 *
 * Layout of `dir` (which must be empty or absent):
 *
 *   package.json            {"type": "module"}: keeps Vite's cache inside `dir`
 *   index.html              loads /src/main.js
 *   page2.html, …           (pages > 1) load /src/page2.js, …
 *   src/main.js             level 0
 *   src/level-<L>/m<N>.js   level L (1 ≤ L ≤ depth); module N
 *   src/dir with space/mod 1.js, src/ünï/mødule.js
 *                           two of the modules under awkward names, imported by
 *                           relative specifiers (Vite serves them percent-encoded)
 *   src/styles/*.css        (withCss) one imported by a module, one <link>ed
 *   src/data/config.json    (withJson) imported by a module
 *
 * Graph shape: a tree in which every module at level L imports up to `fanout`
 * modules at level L + 1, filled breadth-first, plus one chain ("spine") that
 * reaches level `depth`, plus a few cross edges (always from level L to level
 * L + 1, so they add no shorter or longer route) and one import cycle: the
 * deepest spine module imports its own parent back. That module has no other
 * importer, so no simple path is longer than `depth` and the shortest route
 * from main.js to the deepest module is exactly `depth` imports long.
 *
 * At run time every module increments `globalThis.__modulesEvaluated`; the
 * entry then writes the count into #app and, last of all, sets
 * `document.documentElement.dataset.loaded = 'true'` and
 * `globalThis.__appLoadedAt = performance.now()`.
 */
import fs from 'node:fs'
import path from 'node:path'

export interface GeneratedAppOptions {
  /** JS modules in index.html's static closure, main.js included. At least max(3, depth + 1). */
  modules: number
  /** Imports on the longest (and shortest) chain from main.js to the deepest module. At least 1. */
  depth: number
  /**
   * Static imports per module where the counts allow (default 3). Raised
   * automatically when `modules` cannot fit in a tree of this fanout and depth.
   */
  fanout?: number
  /** One module imports a .css file and index.html has a <link rel="stylesheet">. */
  withCss?: boolean
  /** One module imports a .json file. */
  withJson?: boolean
  /**
   * HTML pages (default 1). Page k > 1 is `pagek.html` with entry `src/pagek.js`,
   * which imports every child of main.js but the last. Those entries are extra
   * files on top of `modules`.
   */
  pages?: number
}

export interface GeneratedApp {
  /** URL of each HTML page: '/' for index.html, then '/page2.html', … */
  entryUrls: string[]
  /** JS modules in index.html's static closure (equals `options.modules`). */
  moduleCount: number
}

interface ModuleNode {
  id: number
  level: number
  /** Path relative to `dir`, POSIX separators. */
  file: string
  /** Static imports of other generated modules, in import order. */
  imports: number[]
  /** The import that closes the cycle (evaluated before this module's importer). */
  cycleImport?: number
  css?: boolean
  json?: boolean
}

export const SPACE_MODULE_FILE = 'src/dir with space/mod 1.js'
export const NON_ASCII_MODULE_FILE = 'src/ünï/mødule.js'

export function generateApp(dir: string, options: GeneratedAppOptions): GeneratedApp {
  const { modules, depth, fanout = 3, withCss = false, withJson = false, pages = 1 } = options
  for (const [name, value] of Object.entries({ modules, depth, fanout, pages })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`generateApp: ${name} must be a positive integer, got ${value}`)
    }
  }
  if (modules < Math.max(3, depth + 1)) {
    throw new RangeError(
      `generateApp: ${modules} modules cannot make a graph ${depth} imports deep (need ${Math.max(3, depth + 1)})`,
    )
  }
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new Error(`generateApp: ${dir} is not empty`)
  }

  const nodes = buildGraph(modules, depth, effectiveFanout(modules, depth, fanout))
  if (withCss) nodes.filter((node) => node.level === 1).at(-1)!.css = true
  if (withJson) nodes.filter((node) => node.level === Math.min(2, depth)).at(-1)!.json = true
  const files = new Map<string, string>()
  files.set('package.json', `${JSON.stringify({ name: 'generated-app', private: true, type: 'module' }, null, 2)}\n`)

  const pageEntries: { html: string; url: string; entry: string; imports: number[] }[] = [
    { html: 'index.html', url: '/', entry: 'src/main.js', imports: nodes[0]!.imports },
  ]
  const sharedChildren = nodes[0]!.imports.length > 1 ? nodes[0]!.imports.slice(0, -1) : nodes[0]!.imports
  for (let page = 2; page <= pages; page++) {
    pageEntries.push({
      html: `page${page}.html`,
      url: `/page${page}.html`,
      entry: `src/page${page}.js`,
      imports: sharedChildren,
    })
  }

  for (const node of nodes.slice(1)) files.set(node.file, moduleSource(node, nodes))
  for (const page of pageEntries) {
    files.set(page.entry, entrySource(page.entry, page.imports, nodes, page.html))
    files.set(page.html, htmlSource(page.entry, withCss, modules, depth))
  }
  if (withCss) {
    files.set('src/styles/page.css', PAGE_CSS)
    files.set('src/styles/module.css', MODULE_CSS)
  }
  if (withJson) {
    files.set(
      'src/data/config.json',
      `${JSON.stringify({ name: 'generated-app', modules, depth, features: ['json', 'modules'] }, null, 2)}\n`,
    )
  }

  for (const [file, text] of files) {
    const target = path.join(dir, ...file.split('/'))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, text)
  }
  return { entryUrls: pageEntries.map((page) => page.url), moduleCount: modules }
}

/** The smallest fanout ≥ `fanout` whose tree of `depth` levels holds `modules` nodes. */
function effectiveFanout(modules: number, depth: number, fanout: number): number {
  const capacity = (f: number): number => {
    let total = 1
    let width = 1
    for (let level = 1; level <= depth && total < modules; level++) {
      width *= f
      total += width
    }
    return total
  }
  let f = fanout
  while (capacity(f) < modules) f++
  return f
}

function buildGraph(modules: number, depth: number, fanout: number): ModuleNode[] {
  const nodes: ModuleNode[] = []
  const levels: number[][] = Array.from({ length: depth + 1 }, () => [])
  const width = String(modules - 1).length
  const add = (level: number, parent: number | undefined): ModuleNode => {
    const id = nodes.length
    const file = id === 0 ? 'src/main.js' : `src/level-${level}/m${String(id).padStart(width, '0')}.js`
    const node: ModuleNode = { id, level, file, imports: [] }
    nodes.push(node)
    levels[level]!.push(id)
    if (parent !== undefined) nodes[parent]!.imports.push(id)
    return node
  }

  // main.js, then the spine that guarantees the depth, then breadth-first filling.
  add(0, undefined)
  const spine = [0]
  for (let level = 1; level <= depth; level++) spine.push(add(level, spine[level - 1]).id)
  for (let level = 1; level <= depth && nodes.length < modules; level++) {
    for (const parent of levels[level - 1]!) {
      while (nodes[parent]!.imports.length < fanout && nodes.length < modules) add(level, parent)
      if (nodes.length === modules) break
    }
  }

  // The cycle: the deepest spine module imports its parent, which imports it.
  const cycleLeaf = nodes[spine[depth]!]!
  cycleLeaf.cycleImport = spine[depth - 1]!

  // A few cross edges, level L → level L + 1, never into the cycle leaf.
  const random = mulberry32(modules * 7919 + depth * 104729 + fanout)
  const wanted = Math.min(3, Math.floor((modules - 1) / 10) + 1)
  let added = 0
  for (let attempt = 0; attempt < 200 && added < wanted; attempt++) {
    const level = 1 + Math.floor(random() * Math.max(1, depth - 1))
    const from = pick(levels[level]!, random)
    const to = levels[level + 1] ? pick(levels[level + 1]!, random) : undefined
    if (from === undefined || to === undefined || to === cycleLeaf.id) continue
    const importer = nodes[from]!
    if (importer.imports.includes(to)) continue
    importer.imports.push(to)
    added++
  }

  // Two modules near the top of the spine get awkward file names.
  nodes[spine[1]!]!.file = SPACE_MODULE_FILE
  nodes[depth >= 2 ? spine[2]! : levels[1]!.find((id) => id !== spine[1])!]!.file = NON_ASCII_MODULE_FILE
  return nodes
}

function pick(ids: readonly number[], random: () => number): number | undefined {
  return ids.length === 0 ? undefined : ids[Math.floor(random() * ids.length)]
}

/** Small seeded PRNG, so the same options always produce the same files. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function specifier(fromFile: string, toFile: string): string {
  const relative = path.posix.relative(path.posix.dirname(fromFile), toFile)
  return relative.startsWith('.') ? relative : `./${relative}`
}

function importLines(fromFile: string, imports: readonly number[], nodes: readonly ModuleNode[]): string[] {
  return imports.map((id) => `import { value as value${id} } from '${specifier(fromFile, nodes[id]!.file)}';`)
}

const COUNTER = 'globalThis.__modulesEvaluated = (globalThis.__modulesEvaluated ?? 0) + 1;'

function moduleSource(node: ModuleNode, nodes: readonly ModuleNode[]): string {
  const lines = [
    `// Generated module ${node.id} (level ${node.level}).`,
    ...importLines(node.file, node.imports, nodes),
  ]
  if (node.cycleImport !== undefined) {
    // Part of a cycle: its importer has not run yet when this module evaluates,
    // so the binding is only read lazily, from inside a function.
    lines.push(`import { describe as describeParent } from '${specifier(node.file, nodes[node.cycleImport]!.file)}';`)
  }
  if (node.css) lines.push(`import '${specifier(node.file, 'src/styles/module.css')}';`)
  if (node.json) lines.push(`import config from '${specifier(node.file, 'src/data/config.json')}';`)
  const children = node.imports.map((id) => `value${id}`).join(', ')
  lines.push(
    '',
    COUNTER,
    '',
    `const ID = ${node.id};`,
    `const LABEL = ${JSON.stringify(`module-${node.id}${node.json ? '-' : ''}`)}${node.json ? ' + config.name' : ''};`,
    `const CHILDREN = [${children}];`,
    '',
    'function checksum(text) {',
    '  let hash = 2166136261;',
    '  for (let i = 0; i < text.length; i++) {',
    '    hash ^= text.charCodeAt(i);',
    '    hash = Math.imul(hash, 16777619);',
    '  }',
    '  return hash >>> 0;',
    '}',
    '',
    'export function describe() {',
    '  return { id: ID, label: LABEL, children: CHILDREN.length, checksum: checksum(LABEL) };',
    '}',
  )
  if (node.cycleImport !== undefined) {
    lines.push('', 'export function parentLabel() {', '  return describeParent().label;', '}')
  }
  lines.push('', 'export const value = CHILDREN.reduce((sum, child) => (sum + child) % 1000003, ID);', '')
  return lines.join('\n')
}

function entrySource(file: string, imports: readonly number[], nodes: readonly ModuleNode[], html: string): string {
  return [
    `// Generated entry of ${html}.`,
    ...importLines(file, imports, nodes),
    '',
    COUNTER,
    '',
    `const total = [${imports.map((id) => `value${id}`).join(', ')}].reduce((sum, child) => (sum + child) % 1000003, 0);`,
    'const evaluated = globalThis.__modulesEvaluated;',
    "const app = document.querySelector('#app');",
    'app.dataset.modules = String(evaluated);',
    'app.textContent = `${evaluated} modules evaluated (checksum ${total})`;',
    '',
    '// Last: every static import above has evaluated by now.',
    "document.documentElement.dataset.loaded = 'true';",
    'globalThis.__appLoadedAt = performance.now();',
    '',
  ].join('\n')
}

function htmlSource(entry: string, withCss: boolean, modules: number, depth: number): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '  <head>',
    '    <meta charset="UTF-8" />',
    `    <title>Generated app: ${modules} modules, depth ${depth}</title>`,
    '    <link rel="icon" href="data:," />',
    ...(withCss ? ['    <link rel="stylesheet" href="/src/styles/page.css" />'] : []),
    '  </head>',
    '  <body>',
    '    <div id="app">Loading…</div>',
    `    <script type="module" src="/${entry}"></script>`,
    '  </body>',
    '</html>',
    '',
  ].join('\n')
}

const PAGE_CSS = `body {
  margin: 2rem;
  font-family: system-ui, sans-serif;
}
`

const MODULE_CSS = `#app {
  color: #213547;
  font-weight: 600;
}
`
