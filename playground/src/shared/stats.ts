// `import * as` pulls in lodash-es's entry, which re-exports all ~640 of its modules.
import * as _ from 'lodash-es'
import ms from 'ms'

export interface Stats {
  sum: number
  chunks: number[][]
  uniqueWords: string[]
  elapsed: string
}

export function computeStats(values: readonly number[], words: readonly string[]): Stats {
  return {
    sum: _.sum(values),
    chunks: _.chunk([...values], 2),
    uniqueWords: _.sortBy(_.uniq(words.map((word) => _.kebabCase(word)))),
    elapsed: ms(90_000, { long: true }),
  }
}

export function lodashExportCount(): number {
  return Object.keys(_).length
}
