export interface Row {
  label: string
  value: string
}

export function renderRows(target: HTMLElement, heading: string, rows: readonly Row[]): void {
  const h1 = document.createElement('h1')
  h1.textContent = heading
  const list = document.createElement('div')
  for (const row of rows) {
    const line = document.createElement('div')
    line.className = 'row'
    line.dataset.label = row.label
    const label = document.createElement('strong')
    label.textContent = `${row.label}: `
    const value = document.createElement('span')
    value.className = 'ok'
    value.textContent = row.value
    line.append(label, value)
    list.append(line)
  }
  target.replaceChildren(h1, list)
}
