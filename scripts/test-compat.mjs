#!/usr/bin/env node
// Runs the integration suites against pinned Vite 6.4.x, 7.3.x and 8.4.x, and against `vite@latest`
// as resolved when this runs (what `npm install vite` gives users today; a failure there fails the run).
//
// For each lane, installs `vite@<lane>` into `<tmpdir>/vite-plugin-http2-push-compat/vite<lane>`
// (outside the repo, so the repo's own node_modules stay as they are), then runs vitest with
// VITE_COMPAT_DIR pointing there: vitest.config.ts aliases the tests' and the plugin's `vite`
// imports to that install (vitest itself keeps the repo's Vite). es-module-lexer and
// magic-string come from the repo. Prints a table version → pass/fail; exits 1 if any failed.
//
//   npm run test:compat                # Vite 6.4.x, 7.3.x, 8.4.x and latest
//   npm run test:compat -- 6 7.1       # only these versions (any npm range: 7.1 → vite@7.1)
//   npm run test:compat -- latest      # only what `npm install vite` resolves to now
//   VITE_COMPAT_SKIP_INSTALL=1 npm run test:compat   # reuse what is installed
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const base = path.join(os.tmpdir(), 'vite-plugin-http2-push-compat')
// Pinned lanes: the newest patch of each minor (npm resolves `vite@8.4` to the highest 8.4.x).
const lanes = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['6.4', '7.3', '8.4', 'latest']
const suites = [
  'test/e2e/push.integration.test.ts',
  'test/e2e/cached-responses.test.ts',
  'test/e2e/setups.test.ts',
  'test/e2e/middleware-mode.test.ts',
  'test/e2e/security.test.ts',
  'test/e2e/vite-fs-hole.test.ts',
  'test/e2e/vite-internals.test.ts',
  'test/e2e/instant-reload.test.ts',
]
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

// A dist-tag lane (`latest`, `beta`, ...) takes whatever version the tag names; a version lane
// (`8`, `8.4`, `8.4.0`) must install that version or a patch/minor below it.
const isDistTag = (lane) => !/^\d/.test(lane)
const laneAccepts = (lane, version) => isDistTag(lane) || version === lane || version.startsWith(`${lane}.`)

function run(command, args, options = {}) {
  console.log(`\n$ ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: repo, ...options })
  if (result.error) throw result.error
  return result.status ?? 1
}

if (run(npm, ['run', 'build']) !== 0) {
  console.error('build failed')
  process.exit(1)
}

const rows = []
for (const lane of lanes) {
  const dir = path.join(base, `vite${lane}`)
  const row = { lane, version: '-', result: 'FAIL', tests: '-', failures: [] }
  rows.push(row)
  fs.mkdirSync(dir, { recursive: true })
  const manifest = path.join(dir, 'package.json')
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, '{ "private": true }\n')
  if (!process.env.VITE_COMPAT_SKIP_INSTALL) {
    const status = run(npm, [
      'install',
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--prefix',
      dir,
      `vite@${lane}`,
    ])
    if (status !== 0) {
      row.result = 'FAIL (install)'
      continue
    }
  }
  const vitePackage = path.join(dir, 'node_modules/vite/package.json')
  if (!fs.existsSync(vitePackage)) {
    row.result = 'FAIL (vite not installed)'
    continue
  }
  row.version = JSON.parse(fs.readFileSync(vitePackage, 'utf8')).version
  if (!laneAccepts(lane, row.version)) {
    row.result = `FAIL (installed ${row.version})`
    continue
  }
  const report = path.join(dir, 'vitest-report.json')
  fs.rmSync(report, { force: true })
  const status = run(
    process.execPath,
    [
      path.join(repo, 'node_modules/vitest/vitest.mjs'),
      'run',
      ...suites,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
    ],
    { env: { ...process.env, VITE_COMPAT_DIR: dir, VITE_COMPAT_VERSION: row.version } },
  )
  if (fs.existsSync(report)) {
    const json = JSON.parse(fs.readFileSync(report, 'utf8'))
    row.tests = `${json.numPassedTests} passed, ${json.numFailedTests} failed, ${json.numPendingTests + (json.numTodoTests ?? 0)} skipped`
    for (const file of json.testResults ?? []) {
      for (const test of file.assertionResults ?? []) {
        if (test.status === 'failed') row.failures.push(`${path.relative(repo, file.name)} > ${test.fullName}`)
      }
      if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) {
        row.failures.push(`${path.relative(repo, file.name)}: ${String(file.message).split('\n')[0]}`)
      }
    }
  }
  row.result = status === 0 ? 'pass' : 'FAIL'
}

const header = ['vite', 'installed', 'result', 'tests']
const table = [header, ...rows.map((row) => [`vite@${row.lane}`, row.version, row.result, row.tests])]
const widths = header.map((_, column) => Math.max(...table.map((cells) => cells[column].length)))
const line = (cells) => `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
console.log(`\nVite compatibility (${suites.join(', ')})\n`)
console.log(line(header))
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`)
for (const cells of table.slice(1)) console.log(line(cells))
for (const row of rows) {
  for (const failure of row.failures) console.log(`  vite@${row.lane} failed: ${failure}`)
}
process.exit(rows.every((row) => row.result === 'pass') ? 0 : 1)
