import './style.css'
import config from './data/config.json'
import logoUrl from './logo.svg'
import { greet } from './shared/greet.ts'
import { renderRows } from './shared/render.ts'
import { computeStats, lodashExportCount } from './shared/stats.ts'

const app = document.querySelector<HTMLDivElement>('#app')!
const stats = computeStats([1, 2, 3, 4, 5, 6], config.features)

renderRows(app, config.title, [
  { label: 'greeting', value: greet('main page') },
  { label: 'lodash sum', value: String(stats.sum) },
  { label: 'lodash chunk', value: JSON.stringify(stats.chunks) },
  { label: 'lodash exports', value: String(lodashExportCount()) },
  { label: 'json answer', value: String(config.answer) },
  { label: 'features', value: stats.uniqueWords.join(', ') },
  { label: 'ms (optimized dep)', value: stats.elapsed },
])

const logo = document.createElement('img')
logo.className = 'logo'
logo.src = logoUrl
logo.alt = 'logo'
app.append(logo)

// Not part of the static closure: loaded only on click.
const lazyButton = document.createElement('button')
lazyButton.id = 'load-lazy'
lazyButton.textContent = 'Load lazy module'
const lazyOutput = document.createElement('div')
lazyOutput.id = 'lazy'
lazyButton.addEventListener('click', async () => {
  const { lazyMessage } = await import('./lazy.ts')
  lazyOutput.textContent = lazyMessage()
})
app.append(lazyButton, lazyOutput)

// Last statements: every static import above has evaluated by now.
document.documentElement.dataset.loaded = 'true'
window.__appLoadedAt = performance.now()
