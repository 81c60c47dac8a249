import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { version as viteVersion, type ResolvedConfig, type ViteDevServer } from 'vite'

/** The plugin's own version, from its package.json (a record of another version is ignored). */
export function pluginVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/**
 * A hash of the resolved config parts that change served code, and of Vite's version: root,
 * base, mode, resolve.alias, css, esbuild, oxc, json, env, server.fs, the ordered plugin names,
 * and the content of the config file and the files it imports (so any edit of `vite.config.*`
 * counts as a change). Not `define`: Vite's dev server gives the browser its values through
 * `/@vite/env` and its client's `env.mjs` alone (never recorded), and frameworks define
 * per-start values (SvelteKit's app version is `Date.now()`), which would drop the record on
 * every restart.
 */
export function configFingerprint(config: ResolvedConfig): string {
  const loose = config as ResolvedConfig & { oxc?: unknown; esbuild?: unknown }
  const parts = {
    vite: viteVersion,
    root: config.root,
    base: config.base,
    mode: config.mode,
    alias: config.resolve.alias,
    css: config.css,
    esbuild: loose.esbuild,
    oxc: loose.oxc,
    json: config.json,
    env: config.env,
    fs: { allow: config.server.fs.allow, deny: config.server.fs.deny, strict: config.server.fs.strict },
    plugins: config.plugins.map((plugin) => plugin.name),
    configFiles: [config.configFile, ...(config.configFileDependencies ?? [])]
      .filter((file): file is string => typeof file === 'string')
      .map((file) => [file, contentHash(file)]),
  }
  return createHash('sha1').update(stableText(parts)).digest('base64url')
}

/** Vite's dependency optimizer hash (the `?v=` of optimized deps) now; '' without an optimizer. */
export function optimizerHash(server: ViteDevServer): string {
  const client = server.environments?.client as { depsOptimizer?: { metadata?: { browserHash?: string } } } | undefined
  return client?.depsOptimizer?.metadata?.browserHash ?? ''
}

function contentHash(file: string): string {
  try {
    return createHash('sha1').update(readFileSync(file)).digest('base64url')
  } catch {
    return 'unreadable'
  }
}

/**
 * A deterministic text of a config value: object keys sorted, functions by their source,
 * RegExps by their text, cycles and depth cut off.
 */
export function stableText(value: unknown, depth = 0, seen = new WeakSet<object>()): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return `fn:${value.toString()}`
  if (typeof value === 'bigint' || typeof value === 'symbol') return String(value)
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (value instanceof RegExp) return `re:${value.toString()}`
  if (depth > 12 || seen.has(value)) return '"[cut]"'
  seen.add(value)
  const text = Array.isArray(value)
    ? `[${value.map((item) => stableText(item, depth + 1, seen)).join(',')}]`
    : `{${Object.keys(value)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${stableText((value as Record<string, unknown>)[key], depth + 1, seen)}`)
        .join(',')}}`
  seen.delete(value)
  return text
}
