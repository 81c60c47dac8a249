import fs from 'node:fs'
import path from 'node:path'
import * as vite from 'vite'
import type { ResolvedConfig, ViteDevServer } from 'vite'
import type { Debug } from '../debug.js'
import type { DeliveryGuard } from '../graph/served-graph.js'
import { toModuleUrl } from '../graph/vite-freshness.js'
import { isProtectedFile } from './protected-files.js'
import { batchRealPaths, realPathOf } from './real-path.js'
import { filesForUrl, type ServedPaths } from './url-files.js'

type LoadingCheck = (config: ResolvedConfig, filePath: string) => boolean

/** Most URL decisions remembered; the map starts over when full. */
const MAX_REMEMBERED_DECISIONS = 50_000

/**
 * The plugin's own `server.fs` check, independent of what Vite's module graph or earlier requests
 * made loadable: a URL may leave the plugin (push, link, import map, Early Hints, cached answer)
 * only when every file it can name lies inside `server.fs.allow` (when `server.fs.strict`), matches
 * no `server.fs.deny` pattern, and the same holds for the file a symlink points to and for the file
 * Vite resolved the URL to, and it is none of the plugin's key or certificate files. Uses Vite's own `isFileLoadingAllowed`, without the module paths Vite
 * learnt at runtime (`safeModulePaths`: Vite 8.4.0 adds files there that an HTML page merely
 * linked, and serves them from then on), but with Vite's optimized dependencies (`<cacheDir>/deps`).
 */
export function createFsGuard(server: ViteDevServer, debug: Debug): DeliveryGuard {
  const config = server.config
  const isAllowedFile = fileCheck(config)
  const paths: ServedPaths = { root: config.root, base: config.base, publicDir: config.publicDir || '' }
  const decisions = new Map<string, boolean>()
  const moduleGraph = server.environments?.client?.moduleGraph ?? server.moduleGraph

  return {
    allowsUrl(url) {
      let allowed = decisions.get(url)
      if (allowed !== undefined) return allowed
      const files = filesForUrl(url, paths)
      // A candidate that is not on disk cannot be read through this URL (a virtual module such as
      // /@vite/client, or the public-dir reading of a module path): only the files there count.
      // Such a decision is not remembered, since the file may appear later.
      let dependsOnMissing = false
      allowed =
        files !== 'invalid' &&
        files.every((file) => {
          if (isAllowedFile(file)) return true
          if (fs.existsSync(file)) return false
          dependsOnMissing = true
          return true
        })
      if (!allowed) debug?.(`not delivered (server.fs): ${url}`)
      if (dependsOnMissing) return allowed
      if (decisions.size >= MAX_REMEMBERED_DECISIONS) decisions.clear()
      decisions.set(url, allowed)
      return allowed
    },
    async allowsRendered(url) {
      const moduleUrl = toModuleUrl(url, config.base)
      if (moduleUrl === undefined) return false
      const file = (await moduleGraph.getModuleByUrl(moduleUrl))?.file
      // a virtual module's id can look like a path (`/@react-refresh`): only a real file can leak
      const allowed = !file || !fs.existsSync(file) || isAllowedFile(file)
      if (!allowed) debug?.(`not delivered (server.fs, resolved to a denied file): ${url}`)
      return allowed
    },
  }
}

/**
 * Whether a file may be served under the config's `server.fs`; when it exists, its real path
 * (through symlinks) must be allowed too, against the allowed dirs as given or as real paths.
 */
function fileCheck(config: ResolvedConfig): (file: string) => boolean {
  const loadingAllowed = viteLoadingCheck()
  // Vite's config without the paths it learnt at runtime: only `allow`, `deny` and `strict` count,
  // and the folder of Vite's own dependency bundles (Vite resolves imports there by a runtime-learnt
  // path; a `cacheDir` outside `allow` would otherwise deny every optimized dependency).
  const allow = [...config.server.fs.allow, optimizedDepsDir(config)]
  const staticConfig = Object.create(config, {
    safeModulePaths: { value: new Set<string>() },
    server: { value: { ...config.server, fs: { ...config.server.fs, allow } } },
  }) as ResolvedConfig
  const realAllow = allow.map((dir) => {
    const real = realPathOf(dir)
    return real === undefined ? dir : vite.normalizePath(real)
  })
  const realConfig = Object.create(staticConfig, {
    server: { value: { ...config.server, fs: { ...config.server.fs, allow: realAllow } } },
  }) as ResolvedConfig
  const denyGlob = (config as { fsDenyGlob?: (file: string) => boolean }).fsDenyGlob
  const check = (file: string, against: ResolvedConfig) => {
    if (denyGlob?.(file)) return false
    return loadingAllowed ? loadingAllowed(against, file) : insideAllow(against, file)
  }
  const realPathNow = batchRealPaths()
  return (file) => {
    const found = realPathNow(file)
    // the plugin's own key and certificate files, whatever server.fs says
    if (isProtectedFile(file, found)) return false
    const normalized = vite.normalizePath(file)
    if (!check(normalized, staticConfig)) return false
    const real = found === undefined ? undefined : vite.normalizePath(found)
    return real === undefined || real === normalized || check(real, realConfig) || check(real, staticConfig)
  }
}

/** Where Vite's dependency optimizer writes the bundles it serves (`<cacheDir>/deps`). */
function optimizedDepsDir(config: ResolvedConfig): string {
  return vite.normalizePath(path.resolve(config.root, config.cacheDir, 'deps'))
}

/** Vite's exported `isFileLoadingAllowed(config, file)` (6.0.x lacks it in some releases). */
function viteLoadingCheck(): LoadingCheck | undefined {
  const exported = (vite as { isFileLoadingAllowed?: unknown }).isFileLoadingAllowed
  return typeof exported === 'function' ? (exported as LoadingCheck) : undefined
}

/** The same rule as Vite's, for a Vite that does not export it: inside an allowed dir when strict. */
function insideAllow(config: ResolvedConfig, file: string): boolean {
  const { strict, allow } = config.server.fs
  if (!strict) return true
  return allow.some((dir) => file === dir || file.startsWith(dir.endsWith('/') ? dir : `${dir}/`))
}
