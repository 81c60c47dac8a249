// The apps the benchmark loads. Each has a root, its page and the Vite options shared by every
// configuration (dev, build, preview), so the only difference between configurations is the server.
import fs from 'node:fs'
import path from 'node:path'
import { CACHE, REPO, importSupport } from './support.mjs'

/** `generated`: test/support/generate-app.ts, N modules, depth D, fan-out F. */
async function generatedApp({ modules, depth, fanout }) {
  const { generateApp } = await importSupport('generate-app')
  const name = `generated-${modules}-d${depth}-f${fanout}`
  const root = path.join(CACHE, 'apps', name)
  const stamp = path.join(root, '.bench-stamp.json')
  const wanted = JSON.stringify({
    modules,
    depth,
    fanout,
    generator: fs.statSync(path.join(REPO, 'test/support/generate-app.ts')).mtimeMs,
  })
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== wanted) {
    fs.rmSync(root, { recursive: true, force: true })
    generateApp(root, { modules, depth, fanout })
    fs.writeFileSync(stamp, wanted)
  }
  return {
    name: 'generated',
    label: `generated (${modules} modules, depth ${depth}, fan-out ${fanout})`,
    root,
    page: '/',
    optimizeDeps: {},
  }
}

const LODASH_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>lodash-es, unbundled</title>
    <link rel="icon" href="data:," />
  </head>
  <body>
    <div id="app">Loading…</div>
    <script type="module" src="/src/main.js"></script>
  </body>
</html>
`

const LODASH_MAIN = `// Imports the whole of lodash-es (its index re-exports every one of its ~640 modules).
import * as _ from 'lodash-es';

const names = Object.keys(_).filter((name) => typeof _[name] === 'function');
document.querySelector('#app').textContent = \`lodash-es: \${names.length} functions, sum \${_.sum([1, 2, 3])}\`;

// Last: every static import above has evaluated by now.
document.documentElement.dataset.loaded = 'true';
globalThis.__appLoadedAt = performance.now();
`

/** `lodash`: a one-module app that imports all of lodash-es, excluded from optimizeDeps. */
function lodashApp() {
  const root = path.join(CACHE, 'apps', 'lodash')
  const files = {
    'package.json': `${JSON.stringify({ name: 'bench-lodash-app', private: true, type: 'module' }, null, 2)}\n`,
    'index.html': LODASH_HTML,
    'src/main.js': LODASH_MAIN,
  }
  for (const [file, text] of Object.entries(files)) {
    const target = path.join(root, file)
    if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === text) continue
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, text)
  }
  const version = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules/lodash-es/package.json'), 'utf8')).version
  return {
    name: 'lodash',
    label: `lodash-es ${version} (unbundled, whole library)`,
    root,
    page: '/',
    optimizeDeps: { exclude: ['lodash-es'] },
  }
}

/**
 * `playground`: the repo's playground (main page), with its Vite options minus the plugin. It is
 * snapshotted into bench/.cache/apps/playground at the start of each run, so edits made to
 * playground/ while the benchmark runs (Vite would reload the page) do not reach it. lodash-es
 * and ms still resolve from the repository's node_modules.
 */
function playgroundApp() {
  const source = path.join(REPO, 'playground')
  const root = path.join(CACHE, 'apps', 'playground')
  fs.rmSync(root, { recursive: true, force: true })
  fs.cpSync(source, root, {
    recursive: true,
    filter: (file) =>
      !/[\\/](node_modules|dist)([\\/]|$)/.test(path.relative(source, file)) &&
      !/^(node_modules|dist)$/.test(path.relative(source, file)),
  })
  return {
    name: 'playground',
    label: 'playground (main page: TS, CSS, JSON, lodash-es unbundled)',
    root,
    page: '/',
    // as playground/vite.config.ts, without the plugin (each configuration adds its own)
    optimizeDeps: { exclude: ['lodash-es'] },
    input: ['index.html', 'other.html'],
  }
}

export async function prepareApp(name, options) {
  if (name === 'generated') return generatedApp(options)
  if (name === 'lodash') return lodashApp()
  if (name === 'playground') return playgroundApp()
  throw new Error(`unknown app ${name} (known: generated, lodash, playground)`)
}
