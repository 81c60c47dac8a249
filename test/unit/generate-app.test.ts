import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { NON_ASCII_MODULE_FILE, SPACE_MODULE_FILE, generateApp } from '../support/generate-app.js'
import type { GeneratedAppOptions } from '../support/generate-app.js'

const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'generate-app-test-'))
let counter = 0

afterAll(() => {
  fs.rmSync(tempRoot, { recursive: true, force: true })
})

function generate(options: GeneratedAppOptions): { dir: string; entryUrls: string[]; moduleCount: number } {
  const dir = path.join(tempRoot, `app-${++counter}`)
  return { dir, ...generateApp(dir, options) }
}

/** Every file under `dir`, relative, with POSIX separators, sorted. */
function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => fs.statSync(path.join(dir, file)).isFile())
    .map((file) => file.split(path.sep).join('/'))
    .sort()
}

const IMPORT = /^import\s+(?:[^'"]*?\s+from\s+)?'([^']+)';$/gm

/** The static import graph of the generated app, parsed back from its sources. */
class ImportGraph {
  /** JS module → the JS modules it imports (paths relative to the app dir). */
  readonly edges = new Map<string, string[]>()
  /** Non-JS imports (css, json) as [importer, imported]. */
  readonly assets: [string, string][] = []
  /** Raw specifiers, for checking how awkward names are written. */
  readonly specifiers: string[] = []

  constructor(readonly dir: string) {
    for (const file of listFiles(dir).filter((f) => f.endsWith('.js'))) {
      const source = fs.readFileSync(path.join(dir, file), 'utf8')
      const targets: string[] = []
      for (const [, specifier] of source.matchAll(IMPORT)) {
        this.specifiers.push(specifier!)
        expect(specifier!.startsWith('./') || specifier!.startsWith('../'), `${file}: ${specifier}`).toBe(true)
        const target = path.posix.join(path.posix.dirname(file), specifier!)
        expect(fs.existsSync(path.join(dir, target)), `${file} imports missing ${target}`).toBe(true)
        if (target.endsWith('.js')) targets.push(target)
        else this.assets.push([file, target])
      }
      this.edges.set(file, targets)
    }
  }

  /** Shortest import distance from `entry` to every module it reaches. */
  distances(entry: string): Map<string, number> {
    const distance = new Map([[entry, 0]])
    const queue = [entry]
    for (let i = 0; i < queue.length; i++) {
      const file = queue[i]!
      for (const target of this.edges.get(file) ?? []) {
        if (!distance.has(target)) {
          distance.set(target, distance.get(file)! + 1)
          queue.push(target)
        }
      }
    }
    return distance
  }

  /** Edges that close a cycle, found by depth-first search from `entry`. */
  backEdges(entry: string): [string, string][] {
    const state = new Map<string, 'active' | 'done'>()
    const back: [string, string][] = []
    const visit = (file: string): void => {
      state.set(file, 'active')
      for (const target of this.edges.get(file) ?? []) {
        if (state.get(target) === 'active') back.push([file, target])
        else if (!state.has(target)) visit(target)
      }
      state.set(file, 'done')
    }
    visit(entry)
    return back
  }

  /** Longest import chain from `entry` once the cycle-closing edges are dropped. */
  longestChain(entry: string): number {
    const back = new Set(this.backEdges(entry).map(([from, to]) => `${from}\0${to}`))
    const memo = new Map<string, number>()
    const longest = (file: string): number => {
      const known = memo.get(file)
      if (known !== undefined) return known
      const targets = (this.edges.get(file) ?? []).filter((target) => !back.has(`${file}\0${target}`))
      const result = Math.max(0, ...targets.map((target) => 1 + longest(target)))
      memo.set(file, result)
      return result
    }
    return longest(entry)
  }

  inDegree(file: string): number {
    return [...this.edges.values()].filter((targets) => targets.includes(file)).length
  }
}

const SHAPES: GeneratedAppOptions[] = [
  { modules: 3, depth: 1 },
  { modules: 3, depth: 2 },
  { modules: 10, depth: 9, fanout: 1 },
  { modules: 50, depth: 4 },
  { modules: 200, depth: 2, fanout: 3 }, // fanout must be raised to fit
  { modules: 300, depth: 12, fanout: 2 },
  { modules: 1000, depth: 8, fanout: 4, withCss: true, withJson: true },
]

describe('generateApp', () => {
  describe.each(SHAPES)('modules $modules, depth $depth, fanout $fanout', (options) => {
    const { dir, entryUrls, moduleCount } = generate(options)
    const graph = new ImportGraph(dir)
    const distances = graph.distances('src/main.js')

    it('writes exactly `modules` JS modules, all reachable from main.js', () => {
      expect(moduleCount).toBe(options.modules)
      expect(entryUrls).toEqual(['/'])
      expect(listFiles(path.join(dir, 'src')).filter((file) => file.endsWith('.js'))).toHaveLength(options.modules)
      expect([...distances.keys()].sort()).toEqual([...graph.edges.keys()].sort())
    })

    it('is exactly `depth` imports deep, by shortest and by longest chain', () => {
      expect(Math.max(...distances.values())).toBe(options.depth)
      expect(graph.longestChain('src/main.js')).toBe(options.depth)
    })

    it('has one import cycle and, when large enough, cross edges', () => {
      expect(graph.backEdges('src/main.js')).toHaveLength(1)
      const shared = [...graph.edges.keys()].filter((file) => graph.inDegree(file) > 1)
      if (options.depth >= 2 && options.modules >= 10) expect(shared.length).toBeGreaterThan(0)
    })

    it('uses file names with a space and with non-ASCII characters', () => {
      expect(graph.edges.has(SPACE_MODULE_FILE)).toBe(true)
      expect(graph.edges.has(NON_ASCII_MODULE_FILE)).toBe(true)
      expect(graph.specifiers.some((s) => s.includes('dir with space/mod 1.js'))).toBe(true)
      expect(graph.specifiers.some((s) => s.includes('ünï/mødule.js'))).toBe(true)
    })

    it('keeps module bodies small', () => {
      for (const file of graph.edges.keys()) {
        const size = fs.statSync(path.join(dir, file)).size
        expect(size, file).toBeLessThan(4096)
        if (file === 'src/main.js') continue
        expect(fs.readFileSync(path.join(dir, file), 'utf8').split('\n').length, file).toBeGreaterThanOrEqual(20)
      }
    })
  })

  it('evaluates every module once, cycle included, and marks the page loaded', () => {
    const { dir } = generate({ modules: 120, depth: 6 })
    const script = `
      const app = { dataset: {}, textContent: '' };
      globalThis.document = { documentElement: { dataset: {} }, querySelector: (selector) => (selector === '#app' ? app : null) };
      await import(${JSON.stringify(pathToFileURL(path.join(dir, 'src', 'main.js')).href)});
      console.log(JSON.stringify({ evaluated: globalThis.__modulesEvaluated, app, loaded: document.documentElement.dataset.loaded, at: typeof globalThis.__appLoadedAt }));
    `
    const output = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    ) as {
      evaluated: number
      app: { dataset: { modules: string }; textContent: string }
      loaded: string
      at: string
    }
    expect(output.evaluated).toBe(120)
    expect(output.app.dataset.modules).toBe('120')
    expect(output.app.textContent).toMatch(/^120 modules evaluated/)
    expect(output.loaded).toBe('true')
    expect(output.at).toBe('number')
  })

  it('writes the main entry last-statement markers', () => {
    const { dir } = generate({ modules: 5, depth: 2 })
    const lines = fs.readFileSync(path.join(dir, 'src/main.js'), 'utf8').trimEnd().split('\n')
    expect(lines.slice(-2)).toEqual([
      "document.documentElement.dataset.loaded = 'true';",
      'globalThis.__appLoadedAt = performance.now();',
    ])
    expect(fs.readFileSync(path.join(dir, 'index.html'), 'utf8')).toContain(
      '<script type="module" src="/src/main.js"></script>',
    )
  })

  it('adds a css import, a stylesheet link and a json import on request', () => {
    const { dir } = generate({ modules: 30, depth: 3, withCss: true, withJson: true })
    const graph = new ImportGraph(dir)
    const assets = graph.assets.map(([, target]) => target).sort()
    expect(assets).toEqual(['src/data/config.json', 'src/styles/module.css'])
    expect(fs.readFileSync(path.join(dir, 'index.html'), 'utf8')).toContain(
      '<link rel="stylesheet" href="/src/styles/page.css" />',
    )
    expect(fs.existsSync(path.join(dir, 'src/styles/page.css'))).toBe(true)

    const plain = generate({ modules: 30, depth: 3 })
    expect(new ImportGraph(plain.dir).assets).toEqual([])
    expect(fs.readFileSync(path.join(plain.dir, 'index.html'), 'utf8')).not.toContain('stylesheet')
  })

  it('writes extra pages that share most of the modules', () => {
    const { dir, entryUrls, moduleCount } = generate({ modules: 100, depth: 5, pages: 3 })
    expect(entryUrls).toEqual(['/', '/page2.html', '/page3.html'])
    expect(moduleCount).toBe(100)
    const graph = new ImportGraph(dir)
    const main = new Set(graph.distances('src/main.js').keys())
    expect(main.size).toBe(100)
    for (const page of [2, 3]) {
      expect(fs.readFileSync(path.join(dir, `page${page}.html`), 'utf8')).toContain(`src="/src/page${page}.js"`)
      const closure = [...graph.distances(`src/page${page}.js`).keys()]
      const shared = closure.filter((file) => main.has(file))
      expect(shared.length).toBe(closure.length - 1) // all but the page's own entry
      expect(shared.length).toBeGreaterThan(50)
      expect(shared.length).toBeLessThan(100)
    }
  })

  it('is deterministic', () => {
    const options: GeneratedAppOptions = { modules: 400, depth: 7, fanout: 3, withCss: true, withJson: true, pages: 2 }
    const a = generate(options)
    const b = generate(options)
    const files = listFiles(a.dir)
    expect(listFiles(b.dir)).toEqual(files)
    for (const file of files) {
      expect(fs.readFileSync(path.join(b.dir, file), 'utf8'), file).toBe(
        fs.readFileSync(path.join(a.dir, file), 'utf8'),
      )
    }
  })

  it('rejects impossible shapes and non-empty directories', () => {
    expect(() => generate({ modules: 4, depth: 4 })).toThrow(RangeError)
    expect(() => generate({ modules: 2, depth: 1 })).toThrow(RangeError)
    expect(() => generate({ modules: 10, depth: 0 })).toThrow(RangeError)
    expect(() => generate({ modules: 10, depth: 2, fanout: 0 })).toThrow(RangeError)
    const { dir } = generate({ modules: 5, depth: 2 })
    expect(() => generateApp(dir, { modules: 5, depth: 2 })).toThrow(/not empty/)
  })
})
