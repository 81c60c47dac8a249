// CPU time from /proc, and a description of the machine.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'

let clockTicks
/** Clock ticks per second (USER_HZ, almost always 100). */
function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

function readStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name may contain spaces and parentheses: fields start after the last ')'
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): ppid = field 4, utime..cstime = fields 14..17
    return {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
    }
  } catch {
    return undefined
  }
}

/**
 * CPU milliseconds used so far by `rootPid` and every descendant (utime + stime, plus the
 * cutime + cstime of children they already reaped, so a renderer that exits is not lost).
 */
export function processTreeCpuMs(rootPid) {
  const stats = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(entry)
    if (stat) stats.set(Number(entry), stat)
  }
  const children = new Map()
  for (const [pid, { ppid }] of stats) {
    if (!children.has(ppid)) children.set(ppid, [])
    children.get(ppid).push(pid)
  }
  let ticks = 0
  const stack = [rootPid]
  while (stack.length > 0) {
    const pid = stack.pop()
    const stat = stats.get(pid)
    if (stat) ticks += stat.ticks
    stack.push(...(children.get(pid) ?? []))
  }
  return (ticks * 1000) / clockTicksPerSecond()
}

/** What the results were measured on. */
export function describeMachine() {
  const cpus = os.cpus()
  let distro
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1]
  } catch {}
  return {
    cpu: cpus[0]?.model?.trim(),
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: distro ?? os.type(),
    kernel: os.release(),
    node: process.version,
  }
}
