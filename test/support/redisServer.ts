/**
 * Starts and controls a private `redis-server` on a free loopback port, for tests that flush, stop or kill
 * their Redis. Never used against a server the tests did not start.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface RedisServer {
  readonly port: number
  readonly url: string
  readonly process: ChildProcess
  /** SIGSTOP: the server keeps its sockets but answers nothing. */
  readonly pause: () => void
  /** SIGCONT. */
  readonly resume: () => void
  /** SIGKILL, and wait until the process is gone. */
  readonly kill: () => Promise<void>
  /** Starts a new server on the same port (after `kill`), with the same arguments. */
  readonly restart: () => Promise<RedisServer>
  readonly stop: () => Promise<void>
}

export const hasRedisServerBinary = (): boolean => spawnSync("redis-server", ["--version"]).status === 0

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.setTimeout(200)
    socket.once("data", (data) => {
      socket.destroy()
      // Any reply (PONG, or NOAUTH on a server that wants a password) means it is up.
      resolve(data.length > 0)
    })
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

export interface StartOptions {
  readonly port?: number
  readonly args?: ReadonlyArray<string>
  /** Overrides how the readiness probe connects (e.g. a TLS-only server): the plain port to probe. */
  readonly probePort?: number
  readonly urlScheme?: string
}

export const startRedisServer = async (options: StartOptions = {}): Promise<RedisServer> => {
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), "cache-redis-"))
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ]
  const child = spawn("redis-server", [...args, ...(options.args ?? [])], { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const probe = options.probePort ?? port
  const deadline = Date.now() + 10_000
  while (!(await ping(probe))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`)
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${probe}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT")
      child.kill("SIGKILL")
    }
    await exited
  }
  return {
    port,
    url: `${options.urlScheme ?? "redis"}://127.0.0.1:${port}`,
    process: child,
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    kill,
    restart: async () => {
      await kill()
      return startRedisServer({ ...options, port })
    },
    stop: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
