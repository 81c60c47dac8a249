import { init, parse } from 'es-module-lexer'

let ready: Promise<void> | undefined

/** Resolves once es-module-lexer's WebAssembly is ready; `lexImports` needs it. */
export function lexerReady(): Promise<void> {
  ready ??= init()
  return ready
}

/** The import specifiers of a served module, split by how the browser loads them. */
export interface ModuleImports {
  /** Loaded before the module runs: `import`, `export ... from`, `import defer`, `import source`. */
  static: string[]
  /** `import('literal')`: loaded only when that code runs. */
  dynamic: string[]
}

/** Lists the import specifiers of JavaScript as served. Throws on code es-module-lexer cannot parse. */
export function lexImports(code: string): ModuleImports {
  const [imports] = parse(code)
  const found: ModuleImports = { static: [], dynamic: [] }
  for (const entry of imports) {
    if (entry.type === 'static' || entry.type === 'reexport-star') {
      found.static.push(entry.specifier)
    } else if (entry.type === 'dynamic' && entry.specifier !== undefined && !entry.glob) {
      found.dynamic.push(entry.specifier)
    }
  }
  return found
}
