// Finds the user's Firefox profiles the way Firefox does: from profiles.ini (and installs.ini) in
// each folder a Firefox build keeps them in, honouring `IsRelative=1` (a path under that folder)
// and `IsRelative=0` (an absolute path). Only reads files; changes nothing.
import fs from 'node:fs'
import path from 'node:path'

/** Where to look: the user's home, the environment (XDG_CONFIG_HOME, APPDATA, PATH) and the OS. */
export interface FirefoxProfileContext {
  home: string
  env: NodeJS.ProcessEnv
  platform: NodeJS.Platform
}

/**
 * One profile folder that exists.
 * @public for trust-store.ts, which lists each profile as a store
 */
export interface FirefoxProfile {
  /** The profile folder, absolute. */
  dir: string
  /** Its `Name=` in profiles.ini (its folder name when only installs.ini names it). */
  name: string
  /** The profile holds an NSS database (cert9.db). When false, Firefox creates one on its next start there, or `certutil -N` can. */
  hasNssDb: boolean
  /** How to name it to the user: `Firefox profile ~/.config/mozilla/firefox/ab12.default-esr`. */
  label: string
}

export interface FirefoxProfiles {
  /** Every profile folder that profiles.ini or installs.ini names and that exists, each once. */
  profiles: FirefoxProfile[]
  /** A Firefox executable or app was found (on PATH or where installers put it). */
  installed: boolean
  /** Firefox is installed but has no profile yet: there is no Firefox store to add a CA to. */
  installedWithoutProfile: boolean
}

/** What to tell the user when {@link FirefoxProfiles.installedWithoutProfile} is set. */
export const FIREFOX_WITHOUT_PROFILE =
  'Firefox is installed but has no profile yet, so it has no certificate store to add the CA to: ' +
  'start Firefox once, then run `npx vite-plugin-http2-push trust` again.'

/** The profile folders of every Firefox of the user, and whether one is installed with none. */
export function findFirefoxProfiles(ctx: FirefoxProfileContext): FirefoxProfiles {
  const paths = pathsFor(ctx.platform)
  const profiles: FirefoxProfile[] = []
  const seen = new Set<string>()
  for (const root of profileRoots(ctx)) {
    for (const { dir, name } of listedProfiles(root, paths)) {
      if (seen.has(dir) || !isDirectory(dir)) continue
      seen.add(dir)
      profiles.push({
        dir,
        name,
        hasNssDb: fs.existsSync(paths.join(dir, 'cert9.db')),
        label: labelOf(dir, ctx, paths),
      })
    }
  }
  const installed = firefoxInstalled(ctx)
  return { profiles, installed, installedWithoutProfile: installed && profiles.length === 0 }
}

/** The folders that hold a profiles.ini, for each kind of Firefox build on the platform. */
export function profileRoots(ctx: FirefoxProfileContext): string[] {
  const { home, env, platform } = ctx
  const paths = pathsFor(platform)
  if (platform === 'win32') {
    return [paths.join(env.APPDATA || paths.join(home, 'AppData', 'Roaming'), 'Mozilla', 'Firefox')]
  }
  if (platform === 'darwin') return [paths.join(home, 'Library', 'Application Support', 'Firefox')]
  const flatpak = paths.join(home, '.var', 'app', 'org.mozilla.firefox')
  return [
    // new Firefox builds (ESR 153 here) keep a new profile under the XDG config folder; older ones under ~/.mozilla
    paths.join(env.XDG_CONFIG_HOME || paths.join(home, '.config'), 'mozilla', 'firefox'),
    paths.join(home, '.mozilla', 'firefox'),
    paths.join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox'),
    paths.join(flatpak, 'config', 'mozilla', 'firefox'),
    paths.join(flatpak, '.mozilla', 'firefox'),
  ]
}

type Paths = typeof path.posix

function pathsFor(platform: NodeJS.Platform): Paths {
  return platform === 'win32' ? path.win32 : path.posix
}

/** The profiles that `root`'s profiles.ini and installs.ini name, resolved to absolute folders. */
function listedProfiles(root: string, paths: Paths): { dir: string; name: string }[] {
  const listed: { dir: string; name: string }[] = []
  const profilesIni = parseIni(readText(paths.join(root, 'profiles.ini')))
  for (const [section, keys] of profilesIni) {
    const value = keys.get('path')
    if (value === undefined || value === '') continue
    if (/^profile\d+$/i.test(section)) {
      const relative = keys.get('isrelative') !== '0'
      listed.push({ dir: resolveProfilePath(root, value, relative, paths), name: keys.get('name') ?? value })
    }
  }
  // installs.ini and the [Install…] sections of profiles.ini name each installation's default
  // profile by the path profiles.ini gives it: relative to the root unless absolute.
  const installsIni = parseIni(readText(paths.join(root, 'installs.ini')))
  const installSections = [...profilesIni].filter(([section]) => /^install/i.test(section))
  for (const [, keys] of [...installSections, ...installsIni]) {
    const value = keys.get('default')
    if (value === undefined || value === '') continue
    listed.push({ dir: resolveProfilePath(root, value, !paths.isAbsolute(value), paths), name: paths.basename(value) })
  }
  return listed
}

function resolveProfilePath(root: string, value: string, relative: boolean, paths: Paths): string {
  // profiles.ini writes relative paths with `/`, on Windows too
  const native = paths === path.win32 ? value.replaceAll('/', '\\') : value
  return relative ? paths.resolve(root, native) : paths.normalize(native)
}

/** Sections of an INI file (name → lower-cased key → value), in order. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue
    const header = /^\[(.*)\]$/.exec(line)
    if (header) {
      current = new Map()
      sections.set(header[1]!.trim(), current)
      continue
    }
    const equals = line.indexOf('=')
    if (current === undefined || equals < 0) continue
    current.set(line.slice(0, equals).trim().toLowerCase(), line.slice(equals + 1).trim())
  }
  return sections
}

/** A Firefox on PATH (`firefox`, `firefox-esr`), or an app where its installers put it. */
function firefoxInstalled(ctx: FirefoxProfileContext): boolean {
  const { env, platform } = ctx
  const paths = pathsFor(platform)
  const names = platform === 'win32' ? ['firefox.exe'] : ['firefox', 'firefox-esr']
  const pathVariable = (platform === 'win32' ? (env.Path ?? env.PATH) : env.PATH) ?? ''
  const onPath = pathVariable
    .split(platform === 'win32' ? ';' : ':')
    .filter((dir) => dir !== '')
    .flatMap((dir) => names.map((name) => paths.join(dir, name)))
  return [...onPath, ...knownAppPaths(ctx, paths)].some((file) => {
    try {
      fs.accessSync(file, platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function knownAppPaths({ home, env, platform }: FirefoxProfileContext, paths: Paths): string[] {
  if (platform === 'win32') {
    return [env.ProgramFiles, env['ProgramFiles(x86)'], env.LOCALAPPDATA]
      .filter((dir): dir is string => Boolean(dir))
      .map((dir) => paths.join(dir, 'Mozilla Firefox', 'firefox.exe'))
  }
  if (platform === 'darwin') {
    return ['/Applications', paths.join(home, 'Applications')].flatMap((dir) =>
      ['Firefox.app', 'Firefox ESR.app'].map((app) => paths.join(dir, app)),
    )
  }
  return [
    '/snap/bin/firefox',
    '/var/lib/flatpak/exports/bin/org.mozilla.firefox',
    paths.join(home, '.local', 'share', 'flatpak', 'exports', 'bin', 'org.mozilla.firefox'),
  ]
}

function labelOf(dir: string, { home }: FirefoxProfileContext, paths: Paths): string {
  const relative = paths.relative(home, dir)
  const underHome = relative !== '' && !relative.startsWith('..') && !paths.isAbsolute(relative)
  return `Firefox profile ${underHome ? `~${paths.sep}${relative}` : dir}`
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory()
  } catch {
    return false
  }
}
