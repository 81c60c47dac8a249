import { LOG_PREFIX } from './plugin-name.js'

/**
 * How a page's module closure reaches the client:
 * - `'auto'`: push where the connection allows it, else `<link rel="modulepreload">` tags;
 * - `'push'`: push only; `'preload'`: preload tags for every client, no push;
 * - `'off'`: neither (HTTP/2 and the certificate only).
 */
export type DeliveryMode = 'auto' | 'push' | 'preload' | 'off'

/**
 * Who signs the dev server's localhost certificate (when `server.https` is not set):
 * - `'auto'`: mkcert's CA when there is one (`$CAROOT` or mkcert's default folder), else the
 *   plugin's own local CA;
 * - `'local-ca'`: the plugin's own local CA, even when mkcert's exists;
 * - `'self-signed'`: nobody; browsers warn, and Chromium then keeps nothing in its HTTP cache.
 */
export type CertificateSource = 'auto' | 'local-ca' | 'self-signed'

/**
 * How a browser gets a module's source map when the plugin answers it from its cache:
 * - `'external'`: Vite's inline `data:` map (often 80% of the bytes) is replaced by a
 *   `//# sourceMappingURL=` link the plugin serves, fetched only by DevTools (or an error overlay);
 * - `'inline'`: the bytes Vite sends, map included.
 */
export type SourceMapDelivery = 'external' | 'inline'

/**
 * When the plugin compresses what it answers from its cache (modules, stylesheets, HTML):
 * - `'auto'`: for clients that are not on loopback (127.0.0.0/8, ::1);
 * - `'always'`: for every client that accepts an encoding (e.g. behind an SSH tunnel, whose
 *   connections arrive from loopback);
 * - `'off'`: never.
 */
export type CompressionMode = 'auto' | 'always' | 'off'

/**
 * Every option of `vite-plugin-http2-push` with its default: the one list the option types, the
 * known-option check and the defaults come from (as `@vitejs/plugin-react` does).
 */
const DEFAULTS = {
  /**
   * How the page's closure is delivered: pushed, listed as modulepreload links, or not at all.
   * @default 'auto'
   */
  mode: 'auto' as DeliveryMode,
  /**
   * For clients that get links (browsers, HTTP/1.1): add an import map that maps each module of
   * the page's closure to a versioned URL, answered `Cache-Control: max-age=31536000, immutable`
   * while that version is current, and point the page's own module scripts, modulepreload and
   * stylesheet links at versioned URLs. A reload then costs no request for an unchanged module.
   * Push clients are not affected.
   * @default true
   */
  importMap: true,
  /**
   * Also send a 103 Early Hints response listing the page's modules (for clients that get
   * preload links), from the closure cached at the previous load of that page.
   * @default false
   */
  earlyHints: false,
  /**
   * Directory where the generated localhost certificate (the leaf) and its private key are cached.
   * Relative paths resolve against Vite's `root`; keep it outside every folder Vite serves (a custom
   * `server.fs.deny` replaces Vite's default `*.{crt,pem}`). The plugin refuses a folder another
   * user owns or can write. Ignored when `server.https` is set.
   * @default `<caDir>/leaves/<hash of the project root>`, beside the CA in the user's cache folder
   */
  certDir: undefined as string | undefined,
  /**
   * Who signs the localhost certificate: mkcert's CA if present, else the plugin's local CA
   * (`'auto'`); always the local CA (`'local-ca'`); or nobody (`'self-signed'`).
   * Ignored when `server.https` is set.
   * @default 'auto'
   */
  certificate: 'auto' as CertificateSource,
  /**
   * Directory of the plugin's local CA, shared by all projects of the user. Relative paths resolve
   * against Vite's `root`. `npx vite-plugin-http2-push trust --ca-dir <dir>` must name the same one.
   * @default `$XDG_CACHE_HOME/vite-plugin-http2-push` or `~/.cache/vite-plugin-http2-push`
   * (macOS: `~/Library/Caches/vite-plugin-http2-push`, Windows: `%LOCALAPPDATA%\\vite-plugin-http2-push`)
   */
  caDir: undefined as string | undefined,
  /**
   * Also push modules reached only through a dynamic `import('...')` with a string literal.
   * @default false
   */
  dynamicImports: false,
  /**
   * At most this many responses are pushed for one HTML request.
   * @default 5000
   */
  maxPushes: 5000,
  /**
   * At most this many body bytes are pushed for one HTML request.
   * @default 104857600 (100 MiB)
   */
  maxPushBytes: 100 * 1024 * 1024,
  /**
   * Compute the closures of the HTML pages (`index.html` and the build's `.html` inputs) in the
   * background once the server listens, so the first page load does not wait for discovery.
   * @default true
   */
  warmup: true,
  /**
   * For a browser's module requests the plugin answers from its cache: `'external'` replaces
   * Vite's inline source map by a link to a map URL the plugin serves (same version, same
   * `server.fs` checks); `'inline'` keeps Vite's bytes. Push clients and non-browser GETs always
   * get Vite's bytes.
   * @default 'external'
   */
  sourceMaps: 'external' as SourceMapDelivery,
  /**
   * Compress (brotli, gzip, zstd where Node has it, as `Accept-Encoding` asks) the modules,
   * stylesheets and HTML the plugin answers, once per cached response version. `'auto'`
   * compresses for a client not on loopback, and for one on loopback whose HTTP/2 PING round trip
   * is over 5 ms (an SSH tunnel, a port forward, a codespace); a browser on this machine is left
   * alone, as is an HTTP/1.1 client on loopback (no PING). `'always'` compresses for every client;
   * `'off'` never compresses.
   * @default 'auto'
   */
  compression: 'auto' as CompressionMode,
  /**
   * Keep a record of each page's closure and its modules' versions in Vite's `cacheDir`
   * (`http2-push-record.json`), so that after a restart a page's import map and links come from
   * the record (for modules whose files are unchanged on disk) instead of waiting for the whole
   * closure to be transformed again. See docs/restarts.md.
   * @default true
   */
  restartRecord: true,
  /**
   * Print one line per page load (pushed count, bytes, already-pushed skips, time) through Vite's logger.
   * @default true
   */
  log: true,
}

/** Options of `vite-plugin-http2-push`. Every field is optional. */
export type Http2PushOptions = Partial<ResolvedOptions>

/** Options after validation, with every default filled in. */
export type ResolvedOptions = typeof DEFAULTS

export const DEFAULT_MAX_PUSHES = DEFAULTS.maxPushes

/** How each option's value is checked (and returned); undefined means its default. */
const VALIDATORS: { [Name in keyof ResolvedOptions]: (value: unknown, name: Name) => ResolvedOptions[Name] } = {
  mode: (value, name) => choice(value, name, MODES),
  importMap: boolean,
  earlyHints: boolean,
  certDir: path,
  certificate: (value, name) => choice(value, name, CERTIFICATE_SOURCES, 'or set server.https to use your own'),
  caDir: path,
  dynamicImports: boolean,
  maxPushes: budget,
  maxPushBytes: budget,
  warmup: boolean,
  sourceMaps: (value, name) => choice(value, name, SOURCE_MAP_DELIVERIES, "use 'inline' to keep Vite's inline maps"),
  compression: (value, name) => choice(value, name, COMPRESSION_MODES, "use 'off' to turn compression off"),
  restartRecord: boolean,
  log: boolean,
}

/** Validates user options and fills defaults; throws an Error naming the bad option and the fix. */
export function resolveOptions(userOptions: Http2PushOptions | undefined = {}): ResolvedOptions {
  const options = userOptions as Record<string, unknown>
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionError('options', 'must be an object, e.g. http2Push({ maxPushes: 1000 })', options)
  }
  const known = Object.keys(DEFAULTS)
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw optionError(key, `is not an option; known options: ${known.join(', ')}`, undefined)
  }
  const resolved: Record<string, unknown> = { ...DEFAULTS }
  for (const name of known as Array<keyof ResolvedOptions>) {
    const value = options[name]
    if (value !== undefined)
      resolved[name] = (VALIDATORS[name] as (value: unknown, name: string) => unknown)(value, name)
  }
  return resolved as ResolvedOptions
}

function optionError(name: string, problem: string, value: unknown): Error {
  const shown = value === undefined ? '' : ` (got ${describe(value)})`
  return new Error(`${LOG_PREFIX} option \`${name}\` ${problem}${shown}`)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}

function path(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw optionError(name, 'must be a non-empty string path', value)
  return value
}

const MODES = ['auto', 'push', 'preload', 'off'] as const satisfies readonly DeliveryMode[]
const CERTIFICATE_SOURCES = ['auto', 'local-ca', 'self-signed'] as const satisfies readonly CertificateSource[]
const SOURCE_MAP_DELIVERIES = ['external', 'inline'] as const satisfies readonly SourceMapDelivery[]
const COMPRESSION_MODES = ['auto', 'always', 'off'] as const satisfies readonly CompressionMode[]

/** One of `choices`; the error lists them, then `hint` in parentheses. */
function choice<T extends string>(value: unknown, name: string, choices: readonly T[], hint?: string): T {
  if (!choices.includes(value as T)) {
    const listed = choices.map((item) => `'${item}'`).join(', ')
    throw optionError(name, `must be one of ${listed}${hint ? ` (${hint})` : ''}`, value)
  }
  return value as T
}

function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw optionError(name, 'must be true or false', value)
  return value
}

function budget(value: unknown, name: string): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < 0 ||
    (!Number.isInteger(value) && value !== Infinity)
  ) {
    throw optionError(name, 'must be a whole number >= 0 (0 disables pushing; Infinity removes the limit)', value)
  }
  return value
}
