/**
 * A local Redis Cluster for tests: `redis-server --cluster-enabled yes` on free ports, joined with
 * `redis-cli --cluster create … --cluster-replicas 0`, ready once every node reports `cluster_state:ok`.
 * `cluster-require-full-coverage no` keeps the surviving masters serving when one is killed.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { Redis } from "ioredis"
import { type RedisServer, startRedisServer } from "./redisServer.js"

const run = promisify(execFile)

export interface RedisClusterHandle {
  readonly servers: ReadonlyArray<RedisServer>
  readonly nodes: ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

export const startRedisCluster = async (masters = 3): Promise<RedisClusterHandle> => {
  const servers: Array<RedisServer> = []
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${process.pid}-${i}-${Date.now()}.conf`,
            "--cluster-node-timeout",
            "1000",
            "--cluster-require-full-coverage",
            "no",
          ],
        }),
      )
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`)
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"])
    const deadline = Date.now() + 20_000
    for (const server of servers) {
      const probe = new Redis(server.port, "127.0.0.1", { lazyConnect: true })
      await probe.connect()
      try {
        while (!(await probe.cluster("INFO")).includes("cluster_state:ok")) {
          if (Date.now() > deadline) throw new Error("the test cluster did not reach cluster_state:ok")
          await new Promise((r) => setTimeout(r, 100))
        }
      } finally {
        probe.disconnect()
      }
    }
    return { servers, nodes, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()))
    throw error
  }
}
