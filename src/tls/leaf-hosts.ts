// The names the leaf must cover beyond localhost and loopback, from Vite's `server.host`.
import { isIP } from 'node:net'
import type { NetworkInterfaceInfo } from 'node:os'
import type { HostNames } from './x509.js'

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0'])

/**
 * `server.host` as the leaf's extra names: a name or an address as given; with `true` or a wildcard
 * address (`vite --host`), every address of this machine's interfaces, so another device on the
 * network that trusts the CA can connect by address. IPv6 link-local addresses are left out (a
 * URL would need a zone id, which certificates cannot carry).
 */
export function leafHostsFor(
  host: string | boolean | undefined,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): HostNames {
  if (host === undefined || host === false || host === '') return { dnsNames: [], ipAddresses: [] }
  if (host === true || WILDCARD_ADDRESSES.has(host)) {
    const addresses = Object.values(interfaces)
      .flatMap((list) => list ?? [])
      .filter((info) => !(info.family === 'IPv6' && info.address.toLowerCase().startsWith('fe80:')))
      .map((info) => info.address)
    return { dnsNames: [], ipAddresses: [...new Set(addresses)].sort() }
  }
  const name = host.replace(/^\[(.*)\]$/, '$1')
  if (isIP(name)) return { dnsNames: [], ipAddresses: [name] }
  return { dnsNames: [name.toLowerCase()], ipAddresses: [] }
}
