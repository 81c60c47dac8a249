// The name constraints of the plugin's CAs: what they permit, how a CA found on disk is recognised
// as one the plugin wrote, and how the permitted names read in a sentence.
//
// The shared CA permits localhost (with its subdomains) and the loopback and private address
// ranges from its start, so a new DHCP, VPN or Docker address never needs a new CA. A leaked key
// can then sign for localhost names and for any private address (10/8, 172.16/12, 192.168/16,
// fc00::/7, fe80::/10: a router or NAS on any LAN, reached by address), never for a DNS name of a
// real site. A public address of this machine is added as that single address. A DNS name from
// `server.host` never widens it: such a host gets its own CA (see {@link hostCaDir}).
import path from 'node:path'
import { ipAddressToBytes } from './ip-address.js'
import { ipRange } from './x509.js'
import type { HostNames, PermittedNames } from './x509.js'

/** What every CA of the plugin permits. */
export const BASE_PERMITTED: PermittedNames = {
  dnsNames: ['localhost'],
  ipRanges: [
    ipRange('127.0.0.0', 8),
    ipRange('::1', 128),
    ipRange('10.0.0.0', 8),
    ipRange('172.16.0.0', 12),
    ipRange('192.168.0.0', 16),
    ipRange('fc00::', 7),
    ipRange('fe80::', 10),
  ],
}
// The ranges every CA of the plugin carries, from its first version on.
const LOOPBACK_RANGES = BASE_PERMITTED.ipRanges.slice(0, 2)

const HOST_CA_PREFIX = 'host-'

/** Whether `name` is localhost or one of its subdomains: the shared CA covers it. */
export function isLocalhostName(name: string): boolean {
  return permitsAll(BASE_PERMITTED, { dnsNames: [name], ipAddresses: [] })
}

/** The folder of the CA for a DNS name outside localhost: `<caDir>/host-<name>`. */
export function hostCaDir(caDir: string, dnsName: string): string {
  return path.join(caDir, `${HOST_CA_PREFIX}${dnsName.toLowerCase()}`)
}

/** The DNS names a CA in `directory` permits: localhost, and for a `host-<name>` folder that name. */
export function expectedDnsNames(directory: string): string[] {
  const base = path.basename(directory)
  const host = base.startsWith(HOST_CA_PREFIX) ? base.slice(HOST_CA_PREFIX.length) : ''
  return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host) && !isLocalhostName(host) ? ['localhost', host] : ['localhost']
}

/**
 * Why a CA's permitted names are not ones the plugin writes for `directory`, or undefined when
 * they are: exactly the expected DNS names, the loopback ranges, and otherwise only the base ranges
 * or single addresses. Without DNS (or IP) subtrees every DNS name (or address) would be permitted.
 */
export function foreignConstraints(permitted: PermittedNames | undefined, directory: string): string | undefined {
  if (!permitted) return 'it has no name constraints'
  const dns = [...permitted.dnsNames].sort()
  const expected = expectedDnsNames(directory).sort()
  if (JSON.stringify(dns) !== JSON.stringify(expected))
    return `its name constraints permit DNS ${dns.join(', ') || '(any name)'}, not ${expected.join(', ')}`
  const hex = (range: Buffer) => range.toString('hex')
  const known = new Set(BASE_PERMITTED.ipRanges.map(hex))
  const odd = permitted.ipRanges.filter((range) => !known.has(hex(range)) && !isSingleAddress(range))
  if (odd.length > 0) return `its name constraints permit the address ranges ${odd.map(describeRange).join(', ')}`
  const ranges = new Set(permitted.ipRanges.map(hex))
  if (!LOOPBACK_RANGES.every((range) => ranges.has(hex(range)))) return 'its name constraints lack the loopback ranges'
  return undefined
}

/** The permitted names in words, for `trust`: "localhost and its subdomains, 127.0.0.0/8, ::1/128, …". */
export function describePermitted(permitted: PermittedNames): string {
  const names = permitted.dnsNames.map((name) => `${name} and its subdomains`)
  return [...names, ...permitted.ipRanges.map(describeRange)].join(', ')
}

function isSingleAddress(range: Buffer): boolean {
  return (range.length === 8 || range.length === 32) && range.subarray(range.length / 2).every((byte) => byte === 0xff)
}

function describeRange(range: Buffer): string {
  const half = range.length / 2
  const address = range.subarray(0, half)
  const prefix = [...range.subarray(half)].reduce((bits, byte) => bits + popCount(byte), 0)
  if (half === 4) return `${[...address].join('.')}/${prefix}`
  const groups = Array.from({ length: 8 }, (_, i) => address.readUInt16BE(i * 2).toString(16))
  const text = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
  return `${text}/${prefix}`
}

function popCount(byte: number): number {
  let count = 0
  for (let b = byte; b; b >>= 1) count += b & 1
  return count
}

/** Whether every name in `names` falls within `permitted` (a DNS name covers its subdomains). */
export function permitsAll(permitted: PermittedNames, names: HostNames): boolean {
  const dnsOk = names.dnsNames.every((name) =>
    permitted.dnsNames.some((base) => {
      const n = name.toLowerCase()
      const b = base.toLowerCase().replace(/^\./, '')
      return n === b || n.endsWith(`.${b}`)
    }),
  )
  return dnsOk && names.ipAddresses.every((address) => permitted.ipRanges.some((range) => inRange(address, range)))
}

function inRange(address: string, range: Buffer): boolean {
  const bytes = ipAddressToBytes(address)
  if (range.length !== bytes.length * 2) return false
  return bytes.every((byte, i) => (byte & (range[bytes.length + i] as number)) === (range[i] as number))
}
