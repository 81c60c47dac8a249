import type { Plugin } from 'vite'
import { tempDir, type TempDir } from './temp-dirs.js'

/** The basic app in its temp dir (removed on dispose): `root` is `<dir>/app`, `config` what Vite needs for it. */
export interface BasicApp extends TempDir {
  readonly root: string
  readonly config: ReturnType<typeof basicAppConfig>
}

/**
 * Writes a small app into a new temp dir that exercises every URL form the graph must follow:
 * TS, a cycle, CSS imported and linked, JSON, an SVG `?import`, a virtual module, a module
 * outside root (`/@fs/`), file names with a space and non-ASCII characters, an optimized CJS
 * dependency (`?v=`), an unoptimized ESM package, an inline module script, a dynamic import
 * and a second page, in a temp dir that removes itself (see {@link TempDir}).
 */
export function basicApp(): BasicApp {
  const dir = tempDir('basic', {
    'app/index.html': `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>basic</title>
    <!-- <script type="module" src="/src/commented-out.ts"></script> -->
    <link href="/src/page.css" rel='stylesheet'>
  </head>
  <body>
    <div id="app"></div>
    <script src="/src/main.ts" type="module"></script>
    <script type="module">
      import { shared } from '/src/shared.ts'
      document.body.dataset.inline = shared
    </script>
  </body>
</html>
`,
    'app/second.html': `<!doctype html>
<html><head><title>second</title></head>
<body><script type="module" src="/src/second.ts"></script></body></html>
`,
    'app/src/main.ts': `import { a } from './a.ts'
import { shared } from './shared.ts'
import './style.css'
import data from './data.json'
import logo from './logo.svg'
import { greeting } from 'virtual:greeting'
import { outside } from '../../outside/outside.js'
import { spaced } from './dir with space/mod 1.ts'
import { accented } from './ünï/mødule.ts'
import cjs from 'tiny-cjs'
import { esm } from 'tiny-esm'
export const result: string = [a, shared, data.value, logo, greeting, outside, spaced, accented, cjs.name, esm].join(' ')
document.querySelector('#app')!.textContent = result
document.documentElement.dataset.loaded = 'true'
export function later() { return import('./lazy.ts') }
`,
    'app/src/a.ts': `import { b } from './b.ts'\nexport const a: string = 'a' + b()\n`,
    'app/src/b.ts': `import { a } from './a.ts'\nexport function b(): string { return typeof a === 'string' ? 'b' : 'b' }\n`,
    'app/src/shared.ts': `export const shared = 'shared'\n`,
    'app/src/second.ts': `import { shared } from './shared.ts'\nimport { only } from './only-second.ts'\ndocument.body.textContent = shared + only\n`,
    'app/src/only-second.ts': `export const only = 'only'\n`,
    'app/src/lazy.ts': `export const lazy = 'lazy'\n`,
    'app/src/style.css': `#app { color: rebeccapurple }\n`,
    'app/src/page.css': `body { margin: 0 }\n`,
    'app/src/data.json': `{ "value": 42 }\n`,
    'app/src/logo.svg': `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>\n`,
    'app/src/dir with space/mod 1.ts': `export const spaced = 'spaced'\n`,
    'app/src/ünï/mødule.ts': `export const accented = 'accented'\n`,
    'outside/outside.js': `export const outside = 'outside'\n`,
    'app/node_modules/tiny-cjs/package.json': `{ "name": "tiny-cjs", "version": "1.0.0", "main": "index.js" }\n`,
    'app/node_modules/tiny-cjs/index.js': `module.exports = { name: 'tiny-cjs' }\n`,
    'app/node_modules/tiny-esm/package.json': `{ "name": "tiny-esm", "version": "1.0.0", "type": "module", "exports": "./index.js" }\n`,
    'app/node_modules/tiny-esm/index.js': `export { esm } from './inner.js'\n`,
    'app/node_modules/tiny-esm/inner.js': `export const esm = 'esm'\n`,
  })
  return Object.assign(dir, { root: dir.join('app'), config: basicAppConfig(dir.path) })
}

/** The Vite config the basic app needs: its virtual module, `fs.allow` for the outside dir, multi-page inputs. */
function basicAppConfig(dir: string) {
  const virtualGreeting: Plugin = {
    name: 'virtual-greeting',
    resolveId: (id) => (id === 'virtual:greeting' ? '\0virtual:greeting' : undefined),
    load: (id) => (id === '\0virtual:greeting' ? `export const greeting = 'hello'` : undefined),
  }
  return {
    plugins: [virtualGreeting],
    appType: 'mpa' as const,
    optimizeDeps: { include: ['tiny-cjs'], exclude: ['tiny-esm'] },
    server: { fs: { allow: [dir] } },
  }
}
