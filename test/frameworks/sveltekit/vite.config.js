import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'
import http2Push from 'vite-plugin-http2-push'

export default defineConfig({ plugins: [sveltekit(), http2Push()] })
