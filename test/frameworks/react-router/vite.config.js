import { reactRouter } from '@react-router/dev/vite'
import { defineConfig } from 'vite'
import http2Push from 'vite-plugin-http2-push'

export default defineConfig({ plugins: [reactRouter(), http2Push()] })
