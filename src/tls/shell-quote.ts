// Quotes a word of a command the plugin prints for the user to paste, for the shell it targets:
// a path holding `$(…)`, backquotes or quotes must stay one literal word, never become a command.

/** The shell a printed command is meant for: POSIX sh (Linux, macOS) or PowerShell (Windows). */
export type ShellKind = 'posix' | 'powershell'

export function shellFor(platform: NodeJS.Platform): ShellKind {
  return platform === 'win32' ? 'powershell' : 'posix'
}

// Words made only of these need no quotes in POSIX sh.
const PLAIN_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/

/**
 * `word` as one literal argument: in POSIX sh bare when plain, else in single quotes (a `'` as
 * `'\''`); in PowerShell always in single quotes (a `'` doubled).
 */
export function shellQuote(word: string, shell: ShellKind = 'posix'): string {
  if (shell === 'posix' && PLAIN_WORD.test(word)) return word
  // PowerShell also ends a single-quoted string at the typographic quotes ‘ ’ ‚ ‛; double them too.
  if (shell === 'powershell') return `'${word.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&')}'`
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/** An environment variable set for one command: `NAME='value' command` (POSIX) or `$env:NAME='value'; command`. */
export function withEnvironment(name: string, value: string, command: string, shell: ShellKind = 'posix'): string {
  if (shell === 'powershell') return `$env:${name}=${shellQuote(value, shell)}; ${command}`
  return `${name}=${shellQuote(value, shell)} ${command}`
}
