export function show() {
  const p = document.createElement('p')
  p.id = 'lazy'
  p.textContent = 'lazy loaded'
  document.querySelector('main')?.append(p)
}
