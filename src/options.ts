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

/** Options of `vite-plugin-http2-push`. Every field is optional. */
export interface Http2PushOptions {
  /**
   * How the page's closure is delivered: pushed, listed as modulepreload links, or not at all.
   * @default 'auto'
   */
  mode?: DeliveryMode
  /**
   * For clients that get links (browsers, HTTP/1.1): add an import map that maps each module of
   * the page's closure to a versioned URL, answered `Cache-Control: max-age=31536000, immutable`
   * while that version is current, and point the page's own module scripts, modulepreload and
   * stylesheet links at versioned URLs. A reload then costs no request for an unchanged module.
   * Push clients are not affected.
   * @default true
   */
  importMap?: boolean
  /**
   * Also send a 103 Early Hints response listing the page's modules (for clients that get
   * preload links), from the closure cached at the previous load of that page.
   * @default false
   */
  earlyHints?: boolean
  /**
   * Directory where the generated localhost certificate (the leaf) and its private key are cached.
   * Relative paths resolve against Vite's `root`; keep it outside every folder Vite serves (a custom
   * `server.fs.deny` replaces Vite's default `*.{crt,pem}`). The plugin refuses a folder another
   * user owns or can write. Ignored when `server.https` is set.
   * @default `<caDir>/leaves/<hash of the project root>`, beside the CA in the user's cache folder
   */
  certDir?: string
  /**
   * Who signs the localhost certificate: mkcert's CA if present, else the plugin's local CA
   * (`'auto'`); always the local CA (`'local-ca'`); or nobody (`'self-signed'`).
   * Ignored when `server.https` is set.
   * @default 'auto'
   */
  certificate?: CertificateSource
  /**
   * Directory of the plugin's local CA, shared by all projects of the user. Relative paths resolve
   * against Vite's `root`. `npx vite-plugin-http2-push trust --ca-dir <dir>` must name the same one.
   * @default `$XDG_CACHE_HOME/vite-plugin-http2-push` or `~/.cache/vite-plugin-http2-push`
   * (macOS: `~/Library/Caches/vite-plugin-http2-push`, Windows: `%LOCALAPPDATA%\\vite-plugin-http2-push`)
   */
  caDir?: string
  /**
   * Also push modules reached only through a dynamic `import('...')` with a string literal.
   * @default false
   */
  dynamicImports?: boolean
  /**
   * At most this many responses are pushed for one HTML request.
   * @default 5000
   */
  maxPushes?: number
  /**
   * At most this many body bytes are pushed for one HTML request.
   * @default 104857600 (100 MiB)
   */
  maxPushBytes?: number
  /**
   * Compute the closures of the HTML pages (`index.html` and the build's `.html` inputs) in the
   * background once the server listens, so the first page load does not wait for discovery.
   * @default true
   */
  warmup?: boolean
  /**
   * For a browser's module requests the plugin answers from its cache: `'external'` replaces
   * Vite's inline source map by a link to a map URL the plugin serves (same version, same
   * `server.fs` checks); `'inline'` keeps Vite's bytes. Push clients and non-browser GETs always
   * get Vite's bytes.
   * @default 'external'
   */
  sourceMaps?: SourceMapDelivery
  /**
   * Compress (brotli, gzip, zstd where Node has it, as `Accept-Encoding` asks) the modules,
   * stylesheets and HTML the plugin answers, once per cached response version. `'auto'` skips
   * clients on loopback; `'always'` compresses for them too; `'off'` never compresses.
   * @default 'auto'
   */
  compression?: CompressionMode
  /**
   * Print one line per page load (pushed count, bytes, already-pushed skips, time) through Vite's logger.
   * @default true
   */
  log?: boolean
}

export const DEFAULT_MAX_PUSHES = 5000
const DEFAULT_MAX_PUSH_BYTES = 100 * 1024 * 1024
export const PLUGIN_NAME = 'vite-plugin-http2-push'

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  mode: DeliveryMode
  importMap: boolean
  earlyHints: boolean
  certDir: string | undefined
  certificate: CertificateSource
  caDir: string | undefined
  dynamicImports: boolean
  maxPushes: number
  maxPushBytes: number
  warmup: boolean
  sourceMaps: SourceMapDelivery
  compression: CompressionMode
  log: boolean
}

const KNOWN_OPTIONS = new Set([
  'mode',
  'importMap',
  'earlyHints',
  'certDir',
  'certificate',
  'caDir',
  'dynamicImports',
  'maxPushes',
  'maxPushBytes',
  'warmup',
  'sourceMaps',
  'compression',
  'log',
])

/** Validates user options and fills defaults; throws an Error naming the bad option and the fix. */
export function resolveOptions(userOptions: Http2PushOptions | undefined = {}): ResolvedOptions {
  const options = userOptions as Record<string, unknown>
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionError('options', 'must be an object, e.g. http2Push({ maxPushes: 1000 })', options)
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw optionError(key, `is not an option; known options: ${[...KNOWN_OPTIONS].join(', ')}`, undefined)
    }
  }
  return {
    mode: optionalChoice(options, 'mode', MODES),
    importMap: optionalBoolean(options, 'importMap', true),
    earlyHints: optionalBoolean(options, 'earlyHints', false),
    certDir: optionalString(options, 'certDir'),
    certificate: optionalChoice(options, 'certificate', CERTIFICATE_SOURCES, 'or set server.https to use your own'),
    caDir: optionalString(options, 'caDir'),
    dynamicImports: optionalBoolean(options, 'dynamicImports', false),
    maxPushes: optionalBudget(options, 'maxPushes', DEFAULT_MAX_PUSHES),
    maxPushBytes: optionalBudget(options, 'maxPushBytes', DEFAULT_MAX_PUSH_BYTES),
    warmup: optionalBoolean(options, 'warmup', true),
    sourceMaps: optionalChoice(options, 'sourceMaps', SOURCE_MAP_DELIVERIES, "use 'inline' to keep Vite's inline maps"),
    compression: optionalChoice(options, 'compression', COMPRESSION_MODES, "use 'off' to turn compression off"),
    log: optionalBoolean(options, 'log', true),
  }
}

function optionError(name: string, problem: string, value: unknown): Error {
  const shown = value === undefined ? '' : ` (got ${describe(value)})`
  return new Error(`[${PLUGIN_NAME}] option \`${name}\` ${problem}${shown}`)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}

function optionalString(options: Record<string, unknown>, name: string): string | undefined {
  const value = options[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw optionError(name, 'must be a non-empty string path', value)
  }
  return value
}

const MODES = ['auto', 'push', 'preload', 'off'] as const satisfies readonly DeliveryMode[]
const CERTIFICATE_SOURCES = ['auto', 'local-ca', 'self-signed'] as const satisfies readonly CertificateSource[]
const SOURCE_MAP_DELIVERIES = ['external', 'inline'] as const
const COMPRESSION_MODES = ['auto', 'always', 'off'] as const

/** One of `choices` (the first is the default); the error lists them, then `hint` in parentheses. */
function optionalChoice<T extends string>(
  options: Record<string, unknown>,
  name: string,
  choices: readonly T[],
  hint?: string,
): T {
  const value = options[name]
  if (value === undefined) return choices[0]!
  if (!choices.includes(value as T)) {
    const listed = choices.map((choice) => `'${choice}'`).join(', ')
    throw optionError(name, `must be one of ${listed}${hint ? ` (${hint})` : ''}`, value)
  }
  return value as T
}

function optionalBoolean(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name]
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw optionError(name, 'must be true or false', value)
  return value
}

function optionalBudget(options: Record<string, unknown>, name: string, fallback: number): number {
  const value = options[name]
  if (value === undefined) return fallback
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
