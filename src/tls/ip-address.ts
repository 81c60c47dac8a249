// IP addresses as the bytes X.509 stores them in subjectAltName and name constraints.

/** Parses an IPv4 or IPv6 address into its 4- or 16-byte network representation. */
export function ipAddressToBytes(address: string): Buffer {
  const bytes = address.includes(':') ? parseIpv6(address) : parseIpv4(address)
  if (!bytes) throw new Error(`Invalid IP address: "${address}"`)
  return bytes
}

function parseIpv4(address: string): Buffer | undefined {
  const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
  const match = new RegExp(`^${octet}\\.${octet}\\.${octet}\\.${octet}$`).exec(address)
  return match ? Buffer.from(match.slice(1, 5).map(Number)) : undefined
}

function parseIpv6(address: string): Buffer | undefined {
  const expanded = expandEmbeddedIpv4(address)
  if (expanded === undefined) return undefined
  const halves = expanded.split('::')
  if (halves.length > 2) return undefined
  const head = splitHexGroups(halves[0] as string)
  const tail = halves.length === 2 ? splitHexGroups(halves[1] as string) : []
  if (!head || !tail) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => 0), ...tail]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2))
  return bytes
}

// Rewrites a trailing dotted IPv4 part ("::ffff:1.2.3.4") as two hex groups ("::ffff:102:304").
function expandEmbeddedIpv4(address: string): string | undefined {
  const lastColon = address.lastIndexOf(':')
  const last = address.slice(lastColon + 1)
  if (!last.includes('.')) return address
  const ipv4 = parseIpv4(last)
  if (!ipv4) return undefined
  const high = ipv4.readUInt16BE(0).toString(16)
  const low = ipv4.readUInt16BE(2).toString(16)
  return `${address.slice(0, lastColon + 1)}${high}:${low}`
}

function splitHexGroups(part: string): number[] | undefined {
  if (part === '') return []
  const groups = part.split(':')
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined
  return groups.map((group) => Number.parseInt(group, 16))
}
