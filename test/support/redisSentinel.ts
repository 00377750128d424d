/**
 * A local Sentinel deployment for tests: a master, one replica (`--replicaof`) and three sentinels
 * (`redis-server <conf> --sentinel`, quorum 2), all on free loopback ports (fewer on request). Each sentinel gets its own config
 * file in a temporary directory, since a sentinel rewrites its config as it learns. Ready once every sentinel
 * sees the replica as a healthy candidate and knows the two other sentinels, so `SENTINEL FAILOVER` can run
 * and a new configuration spreads to all three.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { freePort, type RedisServer, startRedisServer } from "./redisServer.js"

export interface SentinelProcess {
  readonly host: string
  readonly port: number
  readonly process: ChildProcess
}

export interface RedisSentinelHandle {
  /** The master group name the sentinels monitor. */
  readonly name: string
  readonly master: RedisServer
  /** Absent when started with `replica: false`. */
  readonly replica: RedisServer | undefined
  readonly sentinels: ReadonlyArray<SentinelProcess>
  readonly stop: () => Promise<void>
}

export interface SentinelDeploymentOptions {
  readonly name?: string
  /** Default 3; the quorum is 2, or 1 for a single sentinel. */
  readonly sentinels?: number
  /** Default true. */
  readonly replica?: boolean
  /** `requirepass` (and `masterauth`) of the nodes; the sentinels get it as `auth-pass`. */
  readonly password?: string
  /** `requirepass` of the sentinels. */
  readonly sentinelPassword?: string
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const until = async (what: string, limitMs: number, check: () => Promise<boolean>) => {
  const deadline = Date.now() + limitMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`test sentinel deployment: ${what} not within ${limitMs} ms`)
    await sleep(50)
  }
}

/** Runs `use` on a fresh admin connection and closes it whatever happens. */
const withAdmin = async <A>(
  port: number,
  use: (client: Redis) => Promise<A>,
  password?: string,
): Promise<A> => {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(password === undefined ? {} : { password }),
  })
  client.on("error", () => {})
  try {
    await client.connect()
    return await use(client)
  } finally {
    client.disconnect()
  }
}

const fields = (entry: unknown): Record<string, string> => {
  const list = entry as Array<string>
  const record: Record<string, string> = {}
  for (let i = 0; i + 1 < list.length; i += 2) record[list[i]!] = list[i + 1]!
  return record
}

export const startRedisSentinel = async (
  options: SentinelDeploymentOptions = {},
): Promise<RedisSentinelHandle> => {
  const name = options.name ?? "mymaster"
  const count = options.sentinels ?? 3
  const auth =
    options.password === undefined
      ? []
      : ["--requirepass", options.password, "--masterauth", options.password]
  const servers: Array<RedisServer> = []
  const sentinels: Array<SentinelProcess> = []
  const dirs: Array<string> = []
  const exits: Array<Promise<void>> = []
  const stop = async () => {
    for (const sentinel of sentinels) {
      if (sentinel.process.exitCode === null && sentinel.process.signalCode === null) {
        sentinel.process.kill("SIGKILL")
      }
    }
    await Promise.all(exits)
    await Promise.all(servers.map((server) => server.stop()))
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  try {
    const master = await startRedisServer({ args: auth })
    servers.push(master)
    const replica =
      options.replica === false
        ? undefined
        : await startRedisServer({ args: [...auth, "--replicaof", "127.0.0.1", String(master.port)] })
    if (replica !== undefined) {
      servers.push(replica)
      await until("replica in sync", 10_000, () =>
        withAdmin(
          replica.port,
          async (client) => (await client.info("replication")).includes("master_link_status:up"),
          options.password,
        ),
      )
    }

    for (let i = 0; i < count; i++) {
      const port = await freePort()
      const dir = mkdtempSync(join(tmpdir(), "cache-sentinel-"))
      dirs.push(dir)
      const config = join(dir, "sentinel.conf")
      writeFileSync(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          'logfile ""',
          `sentinel monitor ${name} 127.0.0.1 ${master.port} ${Math.min(count, 2)}`,
          ...(options.password === undefined ? [] : [`sentinel auth-pass ${name} ${options.password}`]),
          ...(options.sentinelPassword === undefined ? [] : [`requirepass ${options.sentinelPassword}`]),
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      )
      const child = spawn("redis-server", [config, "--sentinel"], { stdio: "ignore" })
      exits.push(new Promise<void>((resolve) => child.once("exit", () => resolve())))
      sentinels.push({ host: "127.0.0.1", port, process: child })
    }

    for (const sentinel of sentinels) {
      await until(`sentinel ${sentinel.port} sees the master, the replica and its peers`, 20_000, () =>
        withAdmin(
          sentinel.port,
          async (client) => {
            const primary = fields(await client.call("SENTINEL", "MASTER", name))
            const replicas = ((await client.call("SENTINEL", "REPLICAS", name)) as Array<unknown>).map(fields)
            const peers = (await client.call("SENTINEL", "SENTINELS", name)) as Array<unknown>
            return (
              primary.flags === "master" &&
              peers.length === count - 1 &&
              (replica === undefined ||
                replicas.some(
                  (r) =>
                    r.port === String(replica.port) &&
                    r.flags === "slave" &&
                    r["master-link-status"] === "ok",
                ))
            )
          },
          options.sentinelPassword,
        ),
      )
    }
    return { name, master, replica, sentinels, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** `SENTINEL FAILOVER`, retried while the sentinel still says no replica is ready to be promoted. */
export const forceFailover = async (sentinelPort: number, name: string): Promise<void> => {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await withAdmin(sentinelPort, (client) => client.call("SENTINEL", "FAILOVER", name))
      return
    } catch (error) {
      if (!String(error).includes("NOGOODSLAVE") || Date.now() > deadline) throw error
      await sleep(100)
    }
  }
}

/** Where the sentinel says the master is now. */
export const masterAddress = (sentinelPort: number, name: string): Promise<{ host: string; port: number }> =>
  withAdmin(sentinelPort, async (client) => {
    const [host, port] = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string]
    return { host, port: Number(port) }
  })
