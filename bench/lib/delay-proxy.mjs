// Fallback latency (no root, no tunlink): a TCP proxy that forwards every chunk after the one-way
// delay given as argv[2] (ms), in both directions. A new connection's first bytes wait one extra
// round trip, standing in for the TCP handshake a real link would cost. No slow start, no ACK clock.
import net from 'node:net'
import { serveRequests } from './child.mjs'

const oneWay = Number(process.argv[2] ?? 0)
const servers = []

function delayedPipe(from, to, extraFirstMs) {
  let last = 0
  let first = true
  from.on('data', (chunk) => {
    let due = Date.now() + oneWay + (first ? extraFirstMs : 0)
    first = false
    due = Math.max(due, last)
    last = due
    setTimeout(() => to.writable && to.write(chunk), due - Date.now())
  })
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, last - Date.now()) + oneWay))
  from.on('error', () => to.destroy())
  from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, last - Date.now()) + oneWay + 10))
}

serveRequests({
  add({ port }) {
    return new Promise((resolve) => {
      const server = net.createServer({ noDelay: true }, (client) => {
        const upstream = net.connect({ port, host: '127.0.0.1', noDelay: true })
        delayedPipe(client, upstream, 2 * oneWay)
        delayedPipe(upstream, client, 0)
      })
      servers.push(server)
      server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port }))
    })
  },
  close() {
    for (const server of servers) server.close()
    return true
  },
})
process.send({ type: 'ready', pid: process.pid })
