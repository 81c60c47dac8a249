// Writes COUNT (default 300) Svelte components under src/lib/generated/ (each imports shared.js),
// plus Home.svelte (all of them, for /) and About.svelte (the last 100, for /about).
import fs from 'node:fs'
import path from 'node:path'

const count = Number(process.argv[2] ?? 300)
const dir = path.join(import.meta.dirname, 'src/lib/generated')
fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
for (let i = 0; i < count; i++) {
  fs.writeFileSync(
    path.join(dir, `C${i}.svelte`),
    `<script>\n  import { label } from './shared.js'\n</script>\n\n<span class="c" id="c${i}">{label(${i})}</span>\n`,
  )
}
fs.writeFileSync(path.join(dir, 'shared.js'), `export const label = (i) => 'c' + i\n`)
const list = (from, to) => {
  const names = []
  for (let i = from; i < to; i++) names.push(i)
  return (
    `<script>\n${names.map((i) => `  import C${i} from './C${i}.svelte'`).join('\n')}\n</script>\n\n` +
    `<div class="components">\n${names.map((i) => `  <C${i} />`).join('\n')}\n</div>\n`
  )
}
fs.writeFileSync(path.join(dir, 'Home.svelte'), list(0, count))
fs.writeFileSync(path.join(dir, 'About.svelte'), list(Math.max(0, count - 100), count))
