// Writes COUNT (default 300) React components under app/components/generated/ (each imports
// shared.js), plus Home.jsx (all of them, for /) and About.jsx (the last 100, for /about).
import fs from 'node:fs'
import path from 'node:path'

const count = Number(process.argv[2] ?? 300)
const dir = path.join(import.meta.dirname, 'app/components/generated')
fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
for (let i = 0; i < count; i++) {
  fs.writeFileSync(
    path.join(dir, `C${i}.jsx`),
    `import { label } from './shared.js'\n\nexport default function C${i}() {\n  return <span className="c" id="c${i}">{label(${i})}</span>\n}\n`,
  )
}
fs.writeFileSync(path.join(dir, 'shared.js'), `export const label = (i) => 'c' + i\n`)
const list = (name, from, to) => {
  const names = []
  for (let i = from; i < to; i++) names.push(i)
  return (
    `${names.map((i) => `import C${i} from './C${i}.jsx'`).join('\n')}\n\n` +
    `export default function ${name}() {\n  return (\n    <div className="components">\n${names.map((i) => `      <C${i} />`).join('\n')}\n    </div>\n  )\n}\n`
  )
}
fs.writeFileSync(path.join(dir, 'Home.jsx'), list('Home', 0, count))
fs.writeFileSync(path.join(dir, 'About.jsx'), list('About', Math.max(0, count - 100), count))
