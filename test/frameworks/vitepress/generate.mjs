// Writes COUNT (default 300) Vue components under docs/components/generated/ (each imports
// shared.js), plus Home.vue (all of them, for /) and About.vue (the last 100, for /about).
import fs from 'node:fs'
import path from 'node:path'

const count = Number(process.argv[2] ?? 300)
const dir = path.join(import.meta.dirname, 'docs/components/generated')
fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
for (let i = 0; i < count; i++) {
  fs.writeFileSync(
    path.join(dir, `C${i}.vue`),
    `<script setup>\nimport { label } from './shared.js'\n</script>\n\n<template><span class="c" id="c${i}">{{ label(${i}) }}</span></template>\n`,
  )
}
fs.writeFileSync(path.join(dir, 'shared.js'), `export const label = (i) => 'c' + i\n`)
const list = (from, to) => {
  const names = []
  for (let i = from; i < to; i++) names.push(i)
  return (
    `<script setup>\n${names.map((i) => `import C${i} from './C${i}.vue'`).join('\n')}\n</script>\n\n` +
    `<template>\n  <div class="components">\n${names.map((i) => `    <C${i} />`).join('\n')}\n  </div>\n</template>\n`
  )
}
fs.writeFileSync(path.join(dir, 'Home.vue'), list(0, count))
fs.writeFileSync(path.join(dir, 'About.vue'), list(Math.max(0, count - 100), count))
