import { camelCase } from 'lodash-es'

export function lazyMessage(): string {
  return `${camelCase('lazy module loaded')} via dynamic import()`
}
