/** A response as Vite's middlewares produced it: what a plain GET of the same request returns. */
export interface RenderedResponse {
  status: number
  /** Header names lowercased, as HTTP/2 sends them. */
  headers: Record<string, string | string[]>
  body: Buffer
}

/** The first value of a header, or undefined. */
export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** True for a response served as JavaScript (what es-module-lexer reads and modulepreload fetches). */
export function isJavaScript(response: RenderedResponse): boolean {
  const type = headerString(response.headers['content-type']) ?? ''
  return /\b(?:java|ecma)script\b/i.test(type)
}
