import { capitalize } from 'lodash-es'

export function greet(who: string): string {
  return `${capitalize('hello')}, ${who}!`
}
