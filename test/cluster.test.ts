/**
 * The same Cache on a local 3-master Redis Cluster that the tests start and tear down themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Option } from "effect"
import { Redis } from "ioredis"
import { Cache } from "../src/index.js"
import { keySlot } from "../src/internal/keySlot.js"
import { clusterNodes } from "../src/internal/redisBackend.js"
import { RedisCache } from "../src/redis.js"
import { cacheContract } from "./contract/cacheContract.js"
import { commandCalls } from "./support/commandStats.js"
import { type RedisClusterHandle, startRedisCluster } from "./support/redisCluster.js"

const clusterLayer = (keyPrefix?: string, localCache?: RedisCache.LocalCacheOptions) =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(() => startRedisCluster()),
        (cluster) => Effect.promise(() => cluster.stop()),
      ),
      (cluster) => RedisCache.layerCluster({ nodes: cluster.nodes, keyPrefix, localCache }),
    ),
  )

const realTime = {
  elapse: (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms))),
  realTime: true,
}

cacheContract("RedisCache on a 3-master cluster", clusterLayer(), realTime)
cacheContract("RedisCache on a 3-master cluster with a key prefix", clusterLayer("app:{tenant}:"), realTime)
cacheContract(
  "RedisCache on a 3-master cluster with a local tier",
  clusterLayer(undefined, { maxEntries: 1_000 }),
  realTime,
)

describe("Redis Cluster specifics", () => {
  let cluster: RedisClusterHandle
  const direct: Array<Redis> = []
  beforeAll(async () => {
    cluster = await startRedisCluster()
    for (const server of cluster.servers) direct.push(new Redis(server.port, "127.0.0.1"))
  }, 60_000)
  afterAll(async () => {
    for (const client of direct) client.disconnect()
    await cluster.stop()
  })

  it.live("hash slots match CLUSTER KEYSLOT, including the hash-tag edge cases", () =>
    Effect.promise(async () => {
      const edge = [
        "",
        "{}",
        "{}{a}",
        "{a}{b}",
        "a{b",
        "{{a}}",
        "{",
        "}",
        "}{a}",
        "a{}b{c}",
        "foo{bar}{zap}",
        "é{ü}x",
        "🔑{🔐}",
      ]
      const generated = Array.from({ length: 300 }, (_, i) =>
        Array.from({ length: i % 12 }, (_, j) => "ab{}é:"[(i * 7 + j * 3) % 6]).join(""),
      )
      for (const key of [...edge, ...generated]) {
        expect([key, keySlot(key)]).toStrictEqual([key, await direct[0]!.cluster("KEYSLOT", key)])
      }
    }),
  )

  it.live("getMany and setMany split by slot, honour hash tags, and return every key", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      const spread = Array.from({ length: 200 }, (_, i) => [`spread:${i}`, `v${i}`] as const)
      const tagged = Array.from({ length: 50 }, (_, i) => [`{user:42}:item:${i}`, `t${i}`] as const)
      yield* cache.setMany([...spread, ...tagged], { ttl: "1 minute" })
      const slots = new Set(spread.map(([k]) => keySlot(k)))
      expect(slots.size).toBeGreaterThan(100)
      const result = yield* cache.getMany([...spread, ...tagged].map(([k]) => k))
      for (const [k, v] of [...spread, ...tagged]) expect(result.get(k)).toStrictEqual(Option.some(v))
      // Keys sharing a hash tag travel in one MGET.
      const before = yield* Effect.promise(() => Promise.all(direct.map((n) => commandCalls(n, "mget"))))
      yield* cache.getMany(tagged.map(([k]) => k))
      const after = yield* Effect.promise(() => Promise.all(direct.map((n) => commandCalls(n, "mget"))))
      expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(1)
      // Concurrent single GETs are batched per slot too.
      const values = yield* Effect.forEach(tagged, ([k]) => cache.get(k), { concurrency: "unbounded" })
      expect(values.map(Option.getOrThrow)).toStrictEqual(tagged.map(([, v]) => v))
    }).pipe(Effect.provide(RedisCache.layerCluster({ nodes: cluster.nodes }))),
  )

  it.live("deletePattern and flush reach every master", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      const keys = Array.from({ length: 300 }, (_, i) => [`dp:${i}`, "v"] as const)
      yield* cache.setMany(keys)
      const sizes = yield* Effect.promise(() => Promise.all(direct.map((n) => n.dbsize())))
      expect(sizes.every((n) => n > 0)).toBe(true)
      expect(yield* cache.deletePattern("dp:*")).toBe(300)
      yield* cache.setMany(keys)
      yield* cache.flush
      const after = yield* Effect.promise(() => Promise.all(direct.map((n) => n.dbsize())))
      expect(after).toStrictEqual([0, 0, 0])
    }).pipe(Effect.provide(RedisCache.layerCluster({ nodes: cluster.nodes }))),
  )

  it.live("invalidateTags reaches tagged keys on every master, also after another process invalidated", () =>
    Effect.gen(function* () {
      // Two caches with connections of their own, as two processes would have: each has its own memo of
      // the (tag, slot) pairs it registered.
      const writer = yield* Effect.provide(
        Cache,
        yield* Layer.build(RedisCache.layerCluster({ nodes: cluster.nodes, keyPrefix: "tags:" })),
      )
      const other = yield* Effect.provide(
        Cache,
        yield* Layer.build(RedisCache.layerCluster({ nodes: cluster.nodes, keyPrefix: "tags:" })),
      )
      const keys = Array.from({ length: 300 }, (_, i) => [`tc:${i}`, "v"] as const)
      expect(new Set(keys.map(([k]) => keySlot(`tags:${k}`))).size).toBeGreaterThan(250)
      yield* writer.setMany(keys, { ttl: "1 minute", tags: ["spread"] })
      const perNode = yield* Effect.promise(() =>
        Promise.all(direct.map((n) => n.eval("return #redis.call('KEYS', 'tags:tc:*')", 0))),
      )
      expect((perNode as Array<number>).every((n) => n > 0)).toBe(true)
      expect(yield* other.invalidateTags(["spread"])).toBe(300)
      expect(yield* writer.countPattern("tc:*")).toBe(0)
      // The writer remembers its registrations; the registry outlives the invalidation, so the other
      // cache still finds the slots of the writer's next tagged writes.
      yield* writer.setMany(keys.slice(0, 50), { ttl: "1 minute", tags: ["spread"] })
      expect(yield* other.invalidateTags(["spread"])).toBe(50)
      yield* writer.flush
    }).pipe(Effect.scoped),
  )

  it.live("every master's clock is sampled on its own, under the id its keys' writes look up", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => Promise.all(direct.map((n) => n.config("RESETSTAT"))))
      // Building the Cache samples the clocks; no write has run yet, so every TIME so far is a sample.
      yield* Layer.build(RedisCache.layerCluster({ nodes: cluster.nodes }))
      yield* Effect.sleep("200 millis")
      const times = yield* Effect.promise(() => Promise.all(direct.map((n) => commandCalls(n, "time"))))
      expect(times.every((n) => n >= 1)).toBe(true)

      const client = yield* RedisCache.makeClusterClient({ nodes: cluster.nodes })
      const topology = clusterNodes(client)
      const masters = topology.masters()
      expect(masters).toHaveLength(3)
      for (const master of masters) {
        const id = topology.idOf(master)
        expect(topology.node(id)).toBe(master)
        let i = 0
        while (topology.nodeOf(`k${i}`) !== id && i < 10_000) i++
        expect(topology.nodeOf(`k${i}`)).toBe(id)
      }
    }).pipe(Effect.scoped),
  )

  it.live("with one master killed, its slots fail fast and the others keep working", () =>
    Effect.gen(function* () {
      const own = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisCluster()),
        (c) => Effect.promise(() => c.stop()),
      )
      const cache = yield* Effect.provide(
        Cache,
        yield* Layer.build(
          RedisCache.layerCluster({
            nodes: own.nodes,
            commandTimeout: Duration.millis(300),
            maxReconnectDelay: Duration.millis(200),
          }),
        ),
      )
      const keys = Array.from({ length: 60 }, (_, i) => `k:${i}`)
      yield* cache.setMany(keys.map((k) => [k, "v"] as const))
      const victim = own.servers[0]!
      const probe = new Redis(victim.port, "127.0.0.1")
      const ranges = (yield* Effect.promise(() => probe.cluster("SLOTS"))) as unknown as Array<
        [number, number, [string, number, string]]
      >
      probe.disconnect()
      const victimSlots = new Set<number>()
      for (const [start, end, [, port]] of ranges) {
        if (port === victim.port) for (let slot = start; slot <= end; slot++) victimSlots.add(slot)
      }
      yield* Effect.promise(() => victim.kill())

      const onVictim = keys.filter((k) => victimSlots.has(keySlot(k)))
      const elsewhere = keys.filter((k) => !victimSlots.has(keySlot(k)))
      expect(onVictim.length).toBeGreaterThan(0)
      expect(elsewhere.length).toBeGreaterThan(0)
      for (const key of onVictim.slice(0, 10)) {
        const [elapsed, result] = yield* Effect.timed(Effect.either(cache.get(key)))
        expect(Either.isLeft(result) && ["Connection", "Timeout"].includes(result.left.reason)).toBe(true)
        expect(Duration.toMillis(elapsed)).toBeLessThan(1_000)
      }
      for (const key of elsewhere) {
        expect(yield* cache.get(key)).toStrictEqual(Option.some("v"))
        yield* cache.set(key, "still works")
      }
    }).pipe(Effect.scoped),
  )
})
