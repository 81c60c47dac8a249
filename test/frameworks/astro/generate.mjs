// Writes COUNT (default 300) Astro components under src/components/generated/, each with a
// client <script> that imports its own module (which imports shared.js), plus Home.astro (all of
// them, for /) and About.astro (the last 100, for /about).
import fs from 'node:fs'
import path from 'node:path'

const count = Number(process.argv[2] ?? 300)
const dir = path.join(import.meta.dirname, 'src/components/generated')
fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
for (let i = 0; i < count; i++) {
  fs.writeFileSync(
    path.join(dir, `C${i}.astro`),
    `<span class="c" id="c${i}">c${i}</span>\n<script>\n  import { mark } from './m${i}.js'\n  mark(${i})\n</script>\n`,
  )
  fs.writeFileSync(
    path.join(dir, `m${i}.js`),
    `import { label } from './shared.js'\n\nexport const mark = (i) => label(i)\n`,
  )
}
fs.writeFileSync(path.join(dir, 'shared.js'), `export const label = (i) => 'c' + i\n`)
const list = (from, to) => {
  const names = []
  for (let i = from; i < to; i++) names.push(i)
  return (
    `---\n${names.map((i) => `import C${i} from './C${i}.astro'`).join('\n')}\n---\n` +
    `<div class="components">\n${names.map((i) => `  <C${i} />`).join('\n')}\n</div>\n`
  )
}
fs.writeFileSync(path.join(dir, 'Home.astro'), list(0, count))
fs.writeFileSync(path.join(dir, 'About.astro'), list(Math.max(0, count - 100), count))
