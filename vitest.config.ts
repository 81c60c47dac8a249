import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// `npm run test:compat` sets VITE_COMPAT_DIR to a dir with another Vite installed: the tests' (and
// the plugin's) `import ... from 'vite'` then resolve there; vitest itself keeps its own Vite.
const compatVite = process.env.VITE_COMPAT_DIR && path.join(process.env.VITE_COMPAT_DIR, 'node_modules/vite')

/**
 * The unit project: pure tests that start no server, no browser and no client process. They run
 * in parallel and finish in seconds. Every other test file belongs to the e2e project.
 */
const UNIT = [
  'test/connection-push-state.test.ts',
  'test/graph.test.ts',
  'test/render-slots.test.ts',
  'test/options.test.ts',
  'test/external-source-map-unit.test.ts',
  'test/compression-unit.test.ts',
  'test/page-entries.test.ts',
  'test/learned-closure.test.ts',
  'test/learned-forms.test.ts',
  'test/preload-links.test.ts',
  'test/import-map.test.ts',
  'test/url-files.test.ts',
  'test/tls.test.ts',
  'test/cache-off-detector.test.ts',
  'test/support/generate-app.test.ts',
]

export default defineConfig({
  resolve: {
    alias: [
      // Tests import the plugin by its package name and get what ships: the built dist/.
      { find: /^vite-plugin-http2-push$/, replacement: fileURLToPath(new URL('./dist/index.js', import.meta.url)) },
      ...(compatVite ? [{ find: /^vite$/, replacement: path.join(compatVite, 'dist/node/index.js') }] : []),
    ],
  },
  test: {
    // The plugin's default local CA lives in the user's cache folder and mkcert's CA in its data
    // folder: tests (and the dev servers they spawn) use a temporary cache and no mkcert CA instead.
    env: {
      XDG_CACHE_HOME: path.join(os.tmpdir(), 'vite-plugin-http2-push-test-cache'),
      CAROOT: path.join(os.tmpdir(), 'vite-plugin-http2-push-test-no-mkcert'),
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT },
      },
      {
        // Real dev servers (port 0), real clients, Chromium, nghttp, h2load: one file at a time, so
        // timing-sensitive tests do not compete for the CPU.
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: UNIT,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
