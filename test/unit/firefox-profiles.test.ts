import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  FIREFOX_WITHOUT_PROFILE,
  findFirefoxProfiles,
  parseIni,
  profileRoots,
  type FirefoxProfileContext,
} from '../../src/trust/firefox-profiles.js'
import { tempDir, type TempDir } from '../support/temp-dirs.js'

// Firefox profile discovery on real folders: profiles.ini and installs.ini as Firefox writes them,
// under a temporary HOME. No PATH entry holds a Firefox unless a test puts one there.

/** A Linux user whose home is `home.path`, with `bin` (empty unless a test adds to it) as the only PATH entry. */
function linux(home: TempDir, env: NodeJS.ProcessEnv = {}): FirefoxProfileContext {
  return { home: home.path, env: { PATH: home.join('bin'), ...env }, platform: 'linux' }
}

/** A profile folder with (or without) an NSS database. */
function profileDir(dir: string, withNssDb = true): void {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'prefs.js'), '')
  if (withNssDb) fs.writeFileSync(path.join(dir, 'cert9.db'), '')
}

/** profiles.ini as Firefox 153 writes it for its first profile. */
const PROFILES_INI = (id: string) => `[Profile0]
Name=default-esr
IsRelative=1
Path=${id}.default-esr
Default=1

[General]
StartWithLastProfile=1
Version=2

[Install3B6073811A6ABF12]
Default=${id}.default-esr
Locked=1
`

describe('findFirefoxProfiles', () => {
  it('finds a default profile under $XDG_CONFIG_HOME/mozilla/firefox, where Firefox 153 creates it', () => {
    using home = tempDir('ff-xdg', { 'xdg/mozilla/firefox/profiles.ini': PROFILES_INI('ab12cd34') })
    profileDir(home.join('xdg/mozilla/firefox/ab12cd34.default-esr'))
    const found = findFirefoxProfiles(linux(home, { XDG_CONFIG_HOME: home.join('xdg') }))
    expect(found.profiles).toEqual([
      {
        dir: home.join('xdg/mozilla/firefox/ab12cd34.default-esr'),
        name: 'default-esr',
        hasNssDb: true,
        label: 'Firefox profile ~/xdg/mozilla/firefox/ab12cd34.default-esr',
      },
    ])
    expect(found.installedWithoutProfile).toBe(false)
  })

  it('defaults XDG_CONFIG_HOME to ~/.config', () => {
    using home = tempDir('ff-config', { '.config/mozilla/firefox/profiles.ini': PROFILES_INI('x1') })
    profileDir(home.join('.config/mozilla/firefox/x1.default-esr'))
    expect(findFirefoxProfiles(linux(home)).profiles.map((p) => p.dir)).toEqual([
      home.join('.config/mozilla/firefox/x1.default-esr'),
    ])
  })

  it('honours IsRelative=0 with an absolute Path, and relative paths with a subfolder', () => {
    using elsewhere = tempDir('ff-elsewhere')
    profileDir(elsewhere.join('work profile'))
    using home = tempDir('ff-abs', {
      '.mozilla/firefox/profiles.ini': `[General]
StartWithLastProfile=1

[Profile0]
Name=default
IsRelative=1
Path=Profiles/q9.default
Default=1

[Profile1]
Name=work
IsRelative=0
Path=${elsewhere.join('work profile')}
`,
    })
    profileDir(home.join('.mozilla/firefox/Profiles/q9.default'), false)
    const found = findFirefoxProfiles(linux(home))
    expect(found.profiles).toEqual([
      {
        dir: home.join('.mozilla/firefox/Profiles/q9.default'),
        name: 'default',
        hasNssDb: false,
        label: 'Firefox profile ~/.mozilla/firefox/Profiles/q9.default',
      },
      {
        dir: elsewhere.join('work profile'),
        name: 'work',
        hasNssDb: true,
        label: `Firefox profile ${elsewhere.join('work profile')}`,
      },
    ])
  })

  it('skips a listed profile whose folder is missing, and lists a profile named twice once', () => {
    using home = tempDir('ff-missing', {
      '.mozilla/firefox/profiles.ini': `[Profile0]
Name=gone
IsRelative=1
Path=gone.default

[Profile1]
Name=here
IsRelative=1
Path=here.default-release
`,
      '.mozilla/firefox/installs.ini': `[4F96D1932A9F858E]
Default=here.default-release
Locked=1
`,
    })
    profileDir(home.join('.mozilla/firefox/here.default-release'))
    expect(findFirefoxProfiles(linux(home)).profiles.map((p) => p.name)).toEqual(['here'])
  })

  it('takes the default profile from installs.ini even when profiles.ini does not list it', () => {
    using home = tempDir('ff-installs', {
      '.mozilla/firefox/profiles.ini': `[General]\r\nStartWithLastProfile=1\r\n`,
      '.mozilla/firefox/installs.ini': `[4F96D1932A9F858E]\r\nDefault=zz.default-release\r\nLocked=1\r\n`,
    })
    profileDir(home.join('.mozilla/firefox/zz.default-release'))
    expect(findFirefoxProfiles(linux(home)).profiles.map((p) => p.dir)).toEqual([
      home.join('.mozilla/firefox/zz.default-release'),
    ])
  })

  it('looks in the snap and both Flatpak folders', () => {
    using home = tempDir('ff-sandboxed', {
      'snap/firefox/common/.mozilla/firefox/profiles.ini': PROFILES_INI('s1'),
      '.var/app/org.mozilla.firefox/.mozilla/firefox/profiles.ini': PROFILES_INI('f1'),
      '.var/app/org.mozilla.firefox/config/mozilla/firefox/profiles.ini': PROFILES_INI('f2'),
    })
    profileDir(home.join('snap/firefox/common/.mozilla/firefox/s1.default-esr'))
    profileDir(home.join('.var/app/org.mozilla.firefox/.mozilla/firefox/f1.default-esr'))
    profileDir(home.join('.var/app/org.mozilla.firefox/config/mozilla/firefox/f2.default-esr'))
    expect(
      findFirefoxProfiles(linux(home))
        .profiles.map((p) => path.basename(p.dir))
        .sort(),
    ).toEqual(['f1.default-esr', 'f2.default-esr', 's1.default-esr'])
  })

  it('ignores profile folders that no profiles.ini names (Firefox would not use them)', () => {
    using home = tempDir('ff-unlisted')
    profileDir(home.join('.mozilla/firefox/stray.default'))
    expect(findFirefoxProfiles(linux(home)).profiles).toEqual([])
  })

  it('says "start Firefox once" when Firefox is on PATH but has no profile', () => {
    using home = tempDir('ff-fresh', { 'bin/firefox-esr': '#!/bin/sh\n' })
    fs.chmodSync(home.join('bin/firefox-esr'), 0o755)
    const found = findFirefoxProfiles(linux(home))
    expect(found).toEqual({ profiles: [], installed: true, installedWithoutProfile: true })
    expect(FIREFOX_WITHOUT_PROFILE).toContain('start Firefox once, then run `npx vite-plugin-http2-push trust` again')
  })

  it('does not say so when Firefox is not installed, or when it has a profile', () => {
    using home = tempDir('ff-none', { 'bin/firefox': 'not executable' })
    // a file named firefox that cannot run is no Firefox
    expect(findFirefoxProfiles({ home: home.path, env: { PATH: home.join('bin') }, platform: 'darwin' })).toEqual({
      profiles: [],
      installed: false,
      installedWithoutProfile: false,
    })
    fs.chmodSync(home.join('bin/firefox'), 0o755)
    home.write({ '.mozilla/firefox/profiles.ini': PROFILES_INI('p1') })
    profileDir(home.join('.mozilla/firefox/p1.default-esr'))
    expect(findFirefoxProfiles(linux(home))).toMatchObject({ installed: true, installedWithoutProfile: false })
  })

  it('finds macOS profiles under ~/Library/Application Support/Firefox, and an app in ~/Applications', () => {
    using home = tempDir('ff-mac', {
      'Library/Application Support/Firefox/profiles.ini': PROFILES_INI('m1').replaceAll(
        'default-esr',
        'default-release',
      ),
    })
    profileDir(home.join('Library/Application Support/Firefox/m1.default-release'))
    const mac: FirefoxProfileContext = { home: home.path, env: { PATH: home.join('bin') }, platform: 'darwin' }
    expect(findFirefoxProfiles(mac).profiles.map((p) => p.label)).toEqual([
      'Firefox profile ~/Library/Application Support/Firefox/m1.default-release',
    ])
    fs.rmSync(home.join('Library'), { recursive: true })
    fs.mkdirSync(home.join('Applications/Firefox.app'), { recursive: true })
    expect(findFirefoxProfiles(mac).installedWithoutProfile).toBe(true)
  })
})

describe('profileRoots', () => {
  it('is %APPDATA%\\Mozilla\\Firefox on Windows, ~/AppData/Roaming when APPDATA is unset', () => {
    expect(profileRoots({ home: 'C:\\Users\\u', env: { APPDATA: 'D:\\Roaming' }, platform: 'win32' })).toEqual([
      'D:\\Roaming\\Mozilla\\Firefox',
    ])
    expect(profileRoots({ home: 'C:\\Users\\u', env: {}, platform: 'win32' })).toEqual([
      'C:\\Users\\u\\AppData\\Roaming\\Mozilla\\Firefox',
    ])
  })
})

describe('parseIni', () => {
  it('reads sections and keys as Firefox writes them (BOM, CRLF, comments, = in values)', () => {
    const ini = parseIni('\uFEFF; comment\r\n[Profile0]\r\nName=a=b\r\nIsRelative=1\r\n\r\n[General]\r\nVersion=2\r\n')
    expect([...ini.keys()]).toEqual(['Profile0', 'General'])
    expect(ini.get('Profile0')?.get('name')).toBe('a=b')
    expect(ini.get('Profile0')?.get('isrelative')).toBe('1')
  })
})
