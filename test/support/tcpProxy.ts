/**
 * TCP peers that misbehave the way networks do, on 127.0.0.1 only:
 * - `startProxy`: forwards to an upstream port; `silence()` makes every flow open at that moment drop its bytes
 *   in both directions without closing (a NAT or firewall that forgot the flow), while new connections work.
 * - `startSilentPeer`: accepts TCP connections and never answers (a hung server, a wrong port); `stopListening()`
 *   frees the port for a real server but keeps the accepted sockets open and silent.
 */
import net from "node:net"

export interface Proxy {
  readonly port: number
  /** Open flows stop carrying bytes; flows made afterwards work. */
  readonly silence: () => void
  /** How many client connections the proxy has accepted. */
  readonly accepted: () => number
  readonly close: () => Promise<void>
}

export const startProxy = (upstreamPort: number): Promise<Proxy> =>
  new Promise((resolve, reject) => {
    const flows = new Set<{ silent: boolean; client: net.Socket; upstream: net.Socket }>()
    const sockets = new Set<net.Socket>()
    let accepted = 0
    const server = net.createServer((client) => {
      accepted++
      const upstream = net.connect(upstreamPort, "127.0.0.1")
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      }
      const flow = { silent: false, client, upstream }
      flows.add(flow)
      client.on("data", (data) => {
        if (!flow.silent) upstream.write(data)
      })
      upstream.on("data", (data) => {
        if (!flow.silent) client.write(data)
      })
      const end = () => {
        flows.delete(flow)
        // A silent flow stays silent: no FIN, no RST reaches the client.
        if (!flow.silent) {
          client.destroy()
          upstream.destroy()
        }
      }
      client.on("close", end)
      upstream.on("close", end)
      client.on("error", () => {})
      upstream.on("error", () => {})
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      resolve({
        port: address.port,
        silence: () => {
          for (const flow of flows) flow.silent = true
        },
        accepted: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close()
            setImmediate(done)
          }),
      })
    })
  })

export interface SilentPeer {
  readonly port: number
  /** Accepted connections still open. */
  readonly open: () => number
  /** Stops accepting (the port is free again); sockets already accepted stay open and silent. */
  readonly stopListening: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startSilentPeer = (port = 0): Promise<SilentPeer> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
      socket.on("close", () => sockets.delete(socket))
    })
    server.on("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      // close()'s callback waits for every accepted socket to end; the port itself is free at once.
      const stopListening = () =>
        new Promise<void>((done) => {
          if (server.listening) server.close()
          setImmediate(done)
        })
      resolve({
        port: address.port,
        open: () => sockets.size,
        stopListening,
        close: async () => {
          for (const socket of sockets) socket.destroy()
          await stopListening()
        },
      })
    })
  })
