import { generateApp, type GeneratedAppOptions } from './generate-app.js'
import { tempDir, type TempDir } from './temp-dirs.js'

/**
 * A small app in a temp dir that removes itself (see {@link TempDir}): a page, a linked
 * stylesheet, a three-level import chain with a CSS import. The app root is the dir itself.
 */
export function smallApp(name: string, title = 'small'): TempDir {
  return tempDir(name, {
    'index.html': `<!doctype html>
<html><head><title>${title}</title><link rel="stylesheet" href="/src/page.css"></head>
<body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>
`,
    'src/main.ts': `import { a } from './a.ts'\nimport './style.css'\ndocument.querySelector('#app')!.textContent = a\n`,
    'src/a.ts': `import { b } from './b.ts'\nexport const a: string = 'a' + b\n`,
    'src/b.ts': `export const b = 'b'\n`,
    'src/style.css': `#app { color: teal }\n`,
    'src/page.css': `body { margin: 0 }\n`,
  })
}

/** A generated app (see {@link generateApp}) in a temp dir that removes itself; the app root is the dir itself. */
export function generatedApp(name: string, options: GeneratedAppOptions): TempDir {
  const dir = tempDir(name)
  generateApp(dir.path, options)
  return dir
}
