import net from 'node:net'

/** A TCP forwarder on loopback that delays every chunk: a tunnel, as the server sees one. */
export interface DelayProxy extends AsyncDisposable {
  /** `https://127.0.0.1:PORT` of the forwarder, for the target's origin. */
  origin: string
  close(): Promise<void>
}

/**
 * Forwards a new loopback port to `origin`'s, delaying each chunk by `oneWayMs` in each direction
 * (an SSH tunnel or a port forward: the server sees a client on 127.0.0.1 whose round trip is
 * 2 × `oneWayMs`). TLS passes through untouched. The same idea as bench/lib/delay-proxy.mjs.
 */
export async function startDelayProxy(origin: string, oneWayMs: number): Promise<DelayProxy> {
  const target = new URL(origin)
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true })
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    delayedPipe(client, upstream, oneWayMs)
    delayedPipe(upstream, client, oneWayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  return { origin: `https://127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close }
}

/** Writes what `from` reads to `to`, each chunk `delayMs` later, in order. */
function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number): void {
  let last = 0
  const later = (action: () => void) => {
    last = Math.max(Date.now() + delayMs, last)
    setTimeout(action, last - Date.now())
  }
  from.on('data', (chunk) => later(() => to.writable && to.write(chunk)))
  from.on('end', () => later(() => to.end()))
  from.on('error', () => to.destroy())
  from.on('close', () => later(() => to.destroy()))
}
