/**
 * A tiny TCP server on 127.0.0.1 that speaks just enough RESP to pass for a Redis of any version: it answers
 * INFO with the `redis_version` it is given (which is what ioredis's ready check reads), PING, TIME, SELECT 0
 * and CLIENT; anything else gets an error reply. For the tests of what we require of a server, where a real
 * old Redis cannot be installed.
 */
import net from "node:net"

export interface FakeRedisServer {
  readonly port: number
  /** Every command received, upper-cased name first. */
  readonly commands: ReadonlyArray<ReadonlyArray<string>>
  readonly stop: () => Promise<void>
}

const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`

/** The commands (arrays of bulk strings) complete in `buffer`, and the bytes left over. */
const parseCommands = (buffer: Buffer): [Array<Array<string>>, Buffer] => {
  const commands: Array<Array<string>> = []
  let offset = 0
  outer: while (offset < buffer.length) {
    const lineEnd = buffer.indexOf("\r\n", offset)
    if (lineEnd === -1 || buffer[offset] !== 0x2a) break
    const count = Number(buffer.toString("latin1", offset + 1, lineEnd))
    let cursor = lineEnd + 2
    const args: Array<string> = []
    for (let i = 0; i < count; i++) {
      const headerEnd = buffer.indexOf("\r\n", cursor)
      if (headerEnd === -1) break outer
      const length = Number(buffer.toString("latin1", cursor + 1, headerEnd))
      const start = headerEnd + 2
      if (buffer.length < start + length + 2) break outer
      args.push(buffer.toString("utf8", start, start + length))
      cursor = start + length + 2
    }
    commands.push(args)
    offset = cursor
  }
  return [commands, buffer.subarray(offset)]
}

const reply = (args: ReadonlyArray<string>, version: string, loading: boolean): string => {
  switch (args[0]?.toUpperCase()) {
    case "INFO":
      return bulk(
        `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\n\r\n# Persistence\r\nloading:${
          loading ? "1\r\nloading_eta_seconds:30" : "0"
        }\r\n`,
      )
    case "PING":
      return "+PONG\r\n"
    case "TIME": {
      const now = Date.now()
      return `*2\r\n${bulk(String(Math.floor(now / 1000)))}${bulk(String((now % 1000) * 1000))}`
    }
    case "SELECT":
      return args[1] === "0" ? "+OK\r\n" : "-ERR DB index is out of range\r\n"
    case "CLIENT":
      return "+OK\r\n"
    case "QUIT":
      return "+OK\r\n"
    default:
      return `-ERR unknown command '${args[0]}'\r\n`
  }
}

export const startFakeRedisServer = (options: {
  readonly version: string
  readonly port?: number
  /** Answer INFO as a Redis still loading its dataset (ioredis's ready check then waits). */
  readonly loading?: boolean
}): Promise<FakeRedisServer> =>
  new Promise((resolve, reject) => {
    const commands: Array<Array<string>> = []
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => undefined)
      let pending: Buffer = Buffer.alloc(0)
      socket.on("data", (chunk) => {
        const [complete, rest] = parseCommands(Buffer.concat([pending, chunk]))
        pending = rest
        for (const args of complete) {
          commands.push(args)
          socket.write(reply(args, options.version, options.loading === true))
          if (args[0]?.toUpperCase() === "QUIT") socket.end()
        }
      })
    })
    server.on("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const address = server.address()
      resolve({
        port: typeof address === "object" && address !== null ? address.port : 0,
        commands,
        stop: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    })
  })
