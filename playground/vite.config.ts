import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import http2Push from 'vite-plugin-http2-push'

const page = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

export default defineConfig({
  plugins: [http2Push()],
  // Keep lodash-es unbundled so each page loads its ~640-module graph as-is:
  // the discovery waterfall the plugin exists to flatten.
  optimizeDeps: { exclude: ['lodash-es'] },
  build: {
    // Multi-page app: build both HTML entries.
    rolldownOptions: {
      input: { main: page('./index.html'), other: page('./other.html') },
    },
  },
})
