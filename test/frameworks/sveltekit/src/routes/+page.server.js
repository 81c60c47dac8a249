/** A deliberately slow part of the page: SvelteKit streams it after the rest of the HTML. */
export function load() {
  return { slow: new Promise((resolve) => setTimeout(() => resolve('slow done'), Number(process.env.SLOW_MS ?? 400))) }
}
