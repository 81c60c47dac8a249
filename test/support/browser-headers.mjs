// The request headers a browser sends for each form of a resource Vite serves differently:
// the page itself, a module script or import, a stylesheet <link>. Defined once for the tests
// (through browser-headers.d.mts) and the benchmark (plain Node, hence .mjs).

/** A navigation to a page. */
export const DOCUMENT_REQUEST = Object.freeze({ accept: 'text/html', 'sec-fetch-dest': 'document' })
/** A module script or a static import: the JavaScript form. */
export const SCRIPT_REQUEST = Object.freeze({ accept: '*/*', 'sec-fetch-dest': 'script' })
/** A stylesheet `<link>`: the CSS form (a CSS import is a SCRIPT_REQUEST). */
export const STYLE_REQUEST = Object.freeze({ accept: 'text/css,*/*;q=0.1', 'sec-fetch-dest': 'style' })
