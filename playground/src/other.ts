import './style.css'
import config from './data/config.json'
import { greet } from './shared/greet.ts'
import { renderRows } from './shared/render.ts'
import { computeStats } from './shared/stats.ts'

const app = document.querySelector<HTMLDivElement>('#app')!
const stats = computeStats([10, 20, 30], ['Other Page', 'other page', 'Shared Modules'])

renderRows(app, `${config.title}: other page`, [
  { label: 'greeting', value: greet('other page') },
  { label: 'lodash sum', value: String(stats.sum) },
  { label: 'words', value: stats.uniqueWords.join(', ') },
  { label: 'ms (optimized dep)', value: stats.elapsed },
])

// Last statements: every static import above has evaluated by now.
document.documentElement.dataset.loaded = 'true'
window.__appLoadedAt = performance.now()
