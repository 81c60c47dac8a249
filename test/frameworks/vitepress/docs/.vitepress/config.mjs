import { defineConfig } from 'vitepress'
import http2Push from 'vite-plugin-http2-push'

export default defineConfig({
  title: 'h2push fixture',
  themeConfig: {
    nav: [
      { text: 'Home', link: '/' },
      { text: 'About', link: '/about' },
    ],
  },
  vite: { plugins: [http2Push()] },
})
