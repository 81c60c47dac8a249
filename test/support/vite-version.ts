// What the tests expect of the Vite under test (the repo's, or the one `npm run test:compat`
// aliases `vite` to), in one place.
import { version } from 'vite'
import { proxyForcesHttp1 } from '../../src/vite-version.js'

export const viteVersion = version
const viteMajor = Number.parseInt(version, 10)

/** This Vite serves HTTP/1.1 only once `server.proxy` is set (6.x and 7.0–7.1): the plugin's own predicate. */
export const viteProxyForcesHttp1 = proxyForcesHttp1(version)

/**
 * This Vite adds its host check in middleware mode (no `server.https`) and answers 403 to a
 * request without a `host` header, as an HTTP/2 request is when its host does not copy `:authority` (6.x).
 */
export const viteBlocksRequestsWithoutHost = viteMajor < 7
