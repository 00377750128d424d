import { Redis } from "ioredis"
import { startRedisServer } from "./test/support/redisServer.js"

const redis = await startRedisServer({ args: ["--maxclients", "1"] })
const holder = new Redis(redis.port, "127.0.0.1")
await holder.ping()
const c = new Redis(redis.port, "127.0.0.1", {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => 200,
})
c.on("error", (e) => console.log("error event:", e.message))
await c.connect().catch((e) => console.log("connect rejected:", e.message))
await new Promise((r) => setTimeout(r, 500))
c.disconnect()
holder.disconnect()
await redis.stop()
