/// <reference types="vite/client" />

interface Window {
  /** `performance.now()` when the page's entry module finished evaluating. */
  __appLoadedAt?: number
}
