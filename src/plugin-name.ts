/** The package's name: the plugin's name in Vite, the prefix of its log lines, its command. */
export const PLUGIN_NAME = 'vite-plugin-http2-push'

/** What every message the plugin prints starts with. */
export const LOG_PREFIX = `[${PLUGIN_NAME}]`

/** The command line of the plugin's CLI (`${CLI} trust`). */
export const CLI = `npx ${PLUGIN_NAME}`
