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
    name,
    label: `generated (${modules} modules, depth ${depth}, fan-out ${fanout})`,
    root,
    page: '/',
    optimizeDeps: {},
    depth,
    // the reload scenario's edit: the deepest module of the spine (a leaf of the tree)
    editFile: deepestModule(root),
  }
}

function deepestModule(root) {
  const levels = fs
    .readdirSync(path.join(root, 'src'))
    .map((dir) => /^level-(\d+)$/.exec(dir))
    .filter(Boolean)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
  const dir = path.join('src', levels[0][0])
  const files = fs
    .readdirSync(path.join(root, dir))
    .filter((file) => file.endsWith('.js'))
    .sort()
  return path.join(
    dir,
    files.find((file) => /describeParent/.test(fs.readFileSync(path.join(root, dir, file), 'utf8'))) ?? files[0],
  )
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
    editFile: 'src/main.js',
    depth: 0,
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
    // the reload scenario's edit: a leaf module imported by main.ts
    editFile: 'src/shared/render.ts',
    depth: 1,
  }
}

/** The bench's marker in the SvelteKit fixture's home route: set once it hydrated and its lazy component loaded. */
const SVELTEKIT_MARKER = `
    // bench: the page is loaded once it hydrated and its lazy component arrived
    document.documentElement.dataset.loaded = 'true'
    globalThis.__appLoadedAt = performance.now()`

/**
 * `sveltekit`: test/frameworks/sveltekit (SvelteKit 2 + adapter-node, 300 Svelte components on /,
 * one lazy component), installed from its lockfile by test/support/framework-app.ts with the plugin
 * from `npm pack`. Every configuration runs SvelteKit's own Vite and its `sveltekit()` plugins
 * (serve.mjs imports them through `bench-entry.mjs` in the app). The route's slow streamed part is
 * off (SLOW_MS=0): the bench times module loading, not a slow load function.
 */
async function sveltekitApp() {
  const { prepareFrameworkApp } = await importSupport('framework-app')
  const prepared = await prepareFrameworkApp('sveltekit', 300)
  const root = prepared.dir
  const page = path.join(root, 'src/routes/+page.svelte')
  const source = fs.readFileSync(page, 'utf8')
  const lazyLoaded = "Lazy = (await import('$lib/Lazy.svelte')).default"
  if (!source.includes(lazyLoaded))
    throw new Error(`the SvelteKit fixture's ${page} changed: put the bench marker back`)
  fs.writeFileSync(page, source.replace(lazyLoaded, `${lazyLoaded}${SVELTEKIT_MARKER}`))
  fs.writeFileSync(
    path.join(root, 'bench-entry.mjs'),
    "// The app's own Vite, SvelteKit plugins and packed plugin, for bench/serve.mjs.\n" +
      "export * as vite from 'vite'\nexport { sveltekit as frameworkPlugins } from '@sveltejs/kit/vite'\nexport { http2Push } from 'vite-plugin-http2-push'\n",
  )
  const version = (name) =>
    JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version
  return {
    name: 'sveltekit',
    label: `SvelteKit ${version('@sveltejs/kit')} (300 Svelte components, SSR; Svelte ${version('svelte')}, Vite ${version('vite')})`,
    root,
    page: '/',
    framework: 'sveltekit',
    optimizeDeps: {},
    env: { SLOW_MS: '0' },
    // the reload scenario's edit: the module all 300 components import (Svelte's HMR takes it:
    // no reload of its own, so the bench's F5 after 4 s does it)
    editFile: 'src/lib/generated/shared.js',
    depth: 2,
    // what `vite build` writes for vite preview (SvelteKit decides where)
    builtFile: '.svelte-kit/output/client/_app/version.json',
  }
}

export async function prepareApp(name, options) {
  if (name === 'generated') return { ...(await generatedApp(options)), name: 'generated' }
  const scaled = /^generated(\d+)$/.exec(name)
  // generatedN: N modules, same depth and fan-out (a scaling point, run at loopback only)
  if (scaled) return { ...(await generatedApp({ ...options, modules: Number(scaled[1]) })), name, scaling: true }
  if (name === 'lodash') return lodashApp()
  if (name === 'playground') return playgroundApp()
  if (name === 'sveltekit') return sveltekitApp()
  throw new Error(`unknown app ${name} (known: generated, generatedN, lodash, playground, sveltekit)`)
}
