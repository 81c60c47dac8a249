import { describe, expect, it } from 'vitest'
import { createProxiedUrlMatcher } from '../../src/guard/proxied-url.js'
import { isVirtualModulePath, unlearnableForm } from '../../src/learn/learnable-url.js'

describe('unlearnableForm', () => {
  it('accepts the URL forms Vite and framework plugins serve', () => {
    for (const url of [
      '/src/main.ts',
      '/src/a.ts?t=1700000000000',
      '/node_modules/.vite/deps/react.js?v=1a2b3c4d',
      '/src/data.json?import',
      '/src/logo.svg?import&url',
      '/src/page.css?direct',
      '/src/text.txt?raw',
      '/src/worker.ts?worker_file&type=module',
      '/index.html?html-proxy&index=0.js',
      '/src/App.svelte?svelte&type=style&lang.css',
      '/src/pages/index.astro?astro&type=script&index=0&lang.ts',
      '/src/App.vue?vue&type=style&index=0&scoped=7a7a37b1&lang.css',
      '/app/routes/home.tsx?client-route=1',
      '/@fs/tmp/app/.svelte-kit/generated/client/app.js',
      '/@id/__x00__virtual:greeting',
      '/@vite/client',
      '/src/dir%20with%20space/mod%201.ts',
    ])
      expect(unlearnableForm(url), url).toBeUndefined()
  })

  it('refuses made-up query keys, repeated keys, odd values, non-canonical paths and long URLs', () => {
    for (const url of [
      '/src/shared.ts?p=0',
      '/src/shared.ts?import&p',
      '/src/shared.ts?v=1&v=2',
      '/src/shared.ts?t=abc',
      '/src/shared.ts?v=' + 'x'.repeat(65),
      '/src/shared.ts?v=a%2Fb',
      '/src/shared.ts?',
      '/src/shared.ts?import&',
      '/src//shared.ts',
      '/src/./shared.ts',
      '/src/x/../shared.ts',
      '/src/%2e%2e/shared.ts',
      '/src/x%2f..%2fshared.ts',
      '/src/a\\b.ts',
      '/src/a%00.ts',
      '/src/a%zz.ts',
      'src/a.ts',
      '/src/' + 'a'.repeat(1020) + '.ts',
    ])
      expect(unlearnableForm(url), url).toBeDefined()
  })
})

describe('createProxiedUrlMatcher', () => {
  it("matches server.proxy contexts as Vite does: a prefix, or a RegExp when it starts with '^'", () => {
    expect(createProxiedUrlMatcher({ '/api': {} })('/api/x')).toBe(true)
    expect(createProxiedUrlMatcher({ '/api': {} })('/src/api.ts')).toBe(false)
    expect(createProxiedUrlMatcher({ '^/v\\d/': {} })('/v1/x.js')).toBe(true)
    expect(createProxiedUrlMatcher({ '^/v\\d/': {} })('/src/x.js')).toBe(false)
    expect(createProxiedUrlMatcher({})('/src/x.js')).toBe(false)
  })
})

describe('isVirtualModulePath', () => {
  it('is true for /@id/, /@vite/ and plugin ids like /@react-refresh, not for /@fs/ or plain paths', () => {
    expect(isVirtualModulePath('/@id/__x00__virtual:x')).toBe(true)
    expect(isVirtualModulePath('/@vite/client')).toBe(true)
    expect(isVirtualModulePath('/@react-refresh')).toBe(true)
    expect(isVirtualModulePath('/@fs/tmp/a.js')).toBe(false)
    expect(isVirtualModulePath('/src/a.js')).toBe(false)
  })
})
