import { defineConfig } from 'astro/config'
import http2Push from 'vite-plugin-http2-push'

export default defineConfig({ vite: { plugins: [http2Push()] } })
