/**
 * What only the Redis layer has: real key prefixes on the server, prefix-scoped flush, configuration,
 * the client's lifecycle, and GETs batched into MGET. A private redis-server keeps INFO counters exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { Redis } from "ioredis"
import { Cache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { commandCalls as countCalls } from "./support/commandStats.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
let raw: Redis
beforeAll(async () => {
  server = await startRedisServer()
  raw = new Redis(server.url)
})
afterAll(async () => {
  raw.disconnect()
  await server.stop()
})

const commandCalls = (command: string) => countCalls(raw, command)
/** PTTL of a key written through the caches below, whose prefix is `r:`. */
const pttl = (key: string) => Effect.promise(() => raw.pttl(`r:${key}`))

describe("RedisCache", () => {
  it.live("stores keys under the prefix and flushes only its own keys", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => raw.set("other:key", "untouched"))
      const cache = yield* Cache
      yield* cache.set("k", "v")
      expect(yield* Effect.promise(() => raw.get("tenant:{1}:k"))).toBe("v")
      yield* cache.flush
      expect(yield* Effect.promise(() => raw.exists("tenant:{1}:k"))).toBe(0)
      expect(yield* Effect.promise(() => raw.get("other:key"))).toBe("untouched")
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "tenant:{1}:" }))),
  )

  it.live("layerFromEnv reads REDIS_URL and CACHE_KEY_PREFIX", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      yield* cache.set("from-config", "yes")
      expect(yield* Effect.promise(() => raw.get("cfg:from-config"))).toBe("yes")
    }).pipe(
      Effect.provide(RedisCache.layerFromEnv),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["REDIS_URL", server.url],
            ["CACHE_KEY_PREFIX", "cfg:"],
          ]),
        ),
      ),
    ),
  )

  it.live("bad configuration fails the layer with a ConfigError", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Layer.build(RedisCache.layerFromEnv).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_COMMAND_TIMEOUT", "0"]]))),
        ),
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("REDIS_COMMAND_TIMEOUT")
    }),
  )

  it.live("the client is a scoped resource: closing the scope closes the connection", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const client = yield* RedisCache.makeClient({ url: server.url }).pipe(Scope.extend(scope))
      expect(client.status).toBe("ready")
      yield* Scope.close(scope, Exit.void)
      expect(client.status).toBe("end")
    }),
  )

  it.live("concurrent gets from separate fibers share MGETs and return what GET would", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      const keys = Array.from({ length: 200 }, (_, i) => `batch:${i}`)
      yield* cache.setMany(keys.filter((_, i) => i % 2 === 0).map((k) => [k, `v:${k}`] as const))
      const getsBefore = yield* Effect.promise(() => commandCalls("get"))
      const mgetsBefore = yield* Effect.promise(() => commandCalls("mget"))
      const values = yield* Effect.forEach(keys, (key) => cache.get(key), { concurrency: "unbounded" })
      for (const [i, key] of keys.entries()) {
        expect(values[i]).toStrictEqual(i % 2 === 0 ? Option.some(`v:${key}`) : Option.none())
      }
      const gets = (yield* Effect.promise(() => commandCalls("get"))) - getsBefore
      const mgets = (yield* Effect.promise(() => commandCalls("mget"))) - mgetsBefore
      expect(gets).toBe(0)
      expect(mgets).toBeGreaterThanOrEqual(1)
      expect(mgets).toBeLessThanOrEqual(10)
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "b:" }))),
  )

  it.live("concurrent writes from separate fibers share script calls, one deadline check per batch", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      const scripts = () =>
        Effect.promise(async () => (await commandCalls("evalsha")) + (await commandCalls("eval")))
      const times = () => Effect.promise(() => commandCalls("time"))
      // The first batches of a round all meet an empty script cache (NOSCRIPT, then EVAL): load it first.
      yield* cache.set("wb:warm", "v")
      const scriptsBefore = yield* scripts()
      const timesBefore = yield* times()
      yield* Effect.forEach(
        Array.from({ length: 1_000 }, (_, i) => i),
        (i) =>
          i % 4 === 0
            ? cache.increment(`wb:n:${i % 10}`)
            : i % 4 === 1
              ? cache.delete(`wb:${i - 1}`)
              : i % 4 === 2
                ? cache.expire(`wb:${i}`, "1 minute")
                : cache.set(`wb:${i}`, "v", { ttl: "1 minute" }),
        { concurrency: "unbounded", discard: true },
      )
      const calls = (yield* scripts()) - scriptsBefore
      // 1,000 writes leave as batches of at most 128 while the round is still running: 8 calls, not 1,000.
      expect(calls).toBeGreaterThanOrEqual(1)
      expect(calls).toBeLessThanOrEqual(40)
      // Each script call checks its deadline once (TIME inside scripts counts as a command); server-clock
      // samples add a few.
      const timeCalls = (yield* times()) - timesBefore
      expect(timeCalls).toBeGreaterThanOrEqual(calls)
      expect(timeCalls).toBeLessThanOrEqual(calls + 5)
      expect(yield* cache.get("wb:3")).toStrictEqual(Option.some("v"))
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "w:" }))),
  )

  it.live(
    "untagged writes pay for tags only once tags are in use, and the marker goes with the last record",
    () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const dels = () => Effect.promise(() => commandCalls("del"))
        // A batch stores a run of SETs with one ttl as one MSET and a PEXPIREAT per key (scripts.ts).
        const stores = () =>
          Effect.promise(async () => (await commandCalls("set")) + (await commandCalls("mset")))
        const expiries = () => Effect.promise(() => commandCalls("pexpireat"))
        const write100 = (round: string) =>
          Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => cache.set(`tm:${round}:${i}`, "v", { ttl: "1 minute" }),
            { concurrency: "unbounded", discard: true },
          )
        yield* write100("warm")
        const [delsBefore, storesBefore, expiriesBefore] = [yield* dels(), yield* stores(), yield* expiries()]
        yield* write100("untagged")
        // The writes and their expiries and nothing else: no tag record to remove while no tagged write exists.
        const stored = (yield* stores()) - storesBefore
        expect(stored).toBeGreaterThanOrEqual(1)
        expect(stored).toBeLessThanOrEqual(100)
        expect((yield* expiries()) - expiriesBefore).toBe(100)
        expect((yield* dels()) - delsBefore).toBe(0)
        expect(yield* Effect.promise(() => raw.keys("m:__tags__:*"))).toStrictEqual([])

        yield* cache.set("tm:tagged", "v", { ttl: "300 millis", tags: ["t"] })
        const [marker, ...others] = yield* Effect.promise(() => raw.keys("m:__tags__:u{*}"))
        expect(others).toStrictEqual([])
        const markerTtl = yield* Effect.promise(() => raw.pttl(marker!))
        expect(markerTtl).toBeGreaterThan(0)
        expect(markerTtl).toBeLessThanOrEqual(300)
        // Tags in use: an untagged overwrite removes the key's record, so it leaves its tag.
        const delsTagged = yield* dels()
        yield* cache.set("tm:tagged", "w")
        expect((yield* dels()) - delsTagged).toBe(1)
        expect(yield* cache.invalidateTags(["t"])).toBe(0)
        expect(yield* cache.get("tm:tagged")).toStrictEqual(Option.some("w"))
        // An expire that outlives the marker raises it, so the record is never left without one.
        yield* cache.set("tm:tagged2", "v", { ttl: "300 millis", tags: ["t"] })
        yield* cache.expire("tm:tagged2", "2 seconds")
        expect(yield* Effect.promise(() => raw.pttl(marker!))).toBeGreaterThan(1_000)
        yield* cache.delete("tm:tagged2")
        yield* cache.set("tm:tagged3", "v", { ttl: "200 millis", tags: ["u"] })
        yield* Effect.sleep("2200 millis")
        expect(yield* Effect.promise(() => raw.keys("m:__tags__:*"))).toStrictEqual([])
      }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "m:" }))),
  )

  it.live("a batch of writes gives each key its own ttl and value, whatever runs its SETs form", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      // Keys that had an expiry and a tag record before: an overwrite without a ttl clears the expiry.
      yield* cache.set("run:b", "old", { ttl: "1 hour" })
      yield* cache.set("run:e", "old", { ttl: "1 hour", tags: ["run"] })
      const huge = Number.MAX_SAFE_INTEGER
      // One scheduler round, so one batch: runs of one ttl broken by other ttls, a delete and a repeat.
      yield* Effect.all(
        [
          cache.set("run:a", "1", { ttl: "1 minute" }),
          cache.set("run:b", "2"),
          cache.set("run:c", "3", { ttl: "1 minute" }),
          cache.set("run:c", "3 again", { ttl: "1 minute" }),
          cache.set("run:d", "4", { ttl: huge }),
          cache.delete("run:a"),
          cache.increment("run:n"),
          cache.set("run:e", "5"),
          cache.set("run:g", "7"),
          cache.increment("run:m", 2, { ttl: "1 minute" }),
          cache.set("run:f", "6", { ttl: "2 minutes" }),
          cache.increment("run:n", 5),
        ],
        { concurrency: "unbounded", discard: true },
      )
      expect(yield* cache.get("run:a")).toStrictEqual(Option.none())
      expect(yield* cache.get("run:b")).toStrictEqual(Option.some("2"))
      expect(yield* pttl("run:b")).toBe(-1)
      expect(yield* cache.get("run:c")).toStrictEqual(Option.some("3 again"))
      expect(yield* pttl("run:c")).toBeGreaterThan(55_000)
      expect(yield* pttl("run:c")).toBeLessThanOrEqual(60_000)
      expect(yield* cache.get("run:d")).toStrictEqual(Option.some("4"))
      expect(yield* pttl("run:d")).toBeGreaterThan(huge - 60_000)
      expect(yield* cache.get("run:e")).toStrictEqual(Option.some("5"))
      expect(yield* pttl("run:e")).toBe(-1)
      // The untagged overwrite left its tag.
      expect(yield* cache.invalidateTags(["run"])).toBe(0)
      expect(yield* pttl("run:f")).toBeGreaterThan(115_000)
      expect(yield* pttl("run:f")).toBeLessThanOrEqual(120_000)
      expect(yield* cache.get("run:g")).toStrictEqual(Option.some("7"))
      expect(yield* pttl("run:g")).toBe(-1)
      expect(yield* cache.get("run:n")).toStrictEqual(Option.some("6"))
      expect(yield* pttl("run:n")).toBe(-1)
      expect(yield* cache.get("run:m")).toStrictEqual(Option.some("2"))
      expect(yield* pttl("run:m")).toBeGreaterThan(55_000)
      expect(yield* pttl("run:m")).toBeLessThanOrEqual(60_000)
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "r:" }))),
  )

  it.live(
    "a batch of increments gives each caller its own result, whatever runs its amounts and ttls form",
    () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("inc:text", "not a number")
        yield* cache.set("inc:old", "10", { ttl: "1 hour" })
        // One scheduler round, so one batch: runs of one amount and ttl, broken by another amount, a ttl, a
        // refused increment (its own error only) and a SET between them; a key repeated inside a run.
        const results = yield* Effect.all(
          [
            cache.increment("inc:a"),
            cache.increment("inc:b"),
            cache.increment("inc:a"),
            Effect.flip(cache.increment("inc:text")),
            cache.increment("inc:a"),
            cache.increment("inc:b", 5),
            cache.increment("inc:c", 5),
            cache.decrement("inc:c", 5),
            cache.increment("inc:t", 1, { ttl: "1 minute" }),
            cache.increment("inc:old", 1, { ttl: "1 minute" }),
            cache.increment("inc:u", 1, { ttl: "2 minutes" }),
            cache.set("inc:s", "x"),
            cache.increment("inc:a"),
          ],
          { concurrency: "unbounded" },
        )
        const [a1, b1, a2, refused, a3, b2, c1, c2, t, old, u, , a4] = results
        expect([a1, b1, a2, a3, b2, c1, c2, t, old, u, a4]).toEqual([1, 1, 2, 3, 6, 5, 0, 1, 11, 1, 4])
        expect(refused).toMatchObject({ reason: "Command", operation: "increment", key: "inc:text" })
        expect(yield* pttl("inc:a")).toBe(-1)
        expect(yield* pttl("inc:t")).toBeGreaterThan(55_000)
        expect(yield* pttl("inc:t")).toBeLessThanOrEqual(60_000)
        // An existing key keeps its own ttl, as INCRBY does.
        expect(yield* pttl("inc:old")).toBeGreaterThan(3_500_000)
        expect(yield* pttl("inc:u")).toBeGreaterThan(115_000)
        expect(yield* cache.get("inc:text")).toStrictEqual(Option.some("not a number"))
      }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "r:" }))),
  )

  it.live("setMany with a ttl is one Lua call, not one command per key", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      const before =
        (yield* Effect.promise(() => commandCalls("evalsha"))) +
        (yield* Effect.promise(() => commandCalls("eval")))
      const setsBefore = yield* Effect.promise(() => commandCalls("set"))
      const msetsBefore = yield* Effect.promise(() => commandCalls("mset"))
      const pexpiresBefore = yield* Effect.promise(() => commandCalls("pexpireat"))
      yield* cache.setMany(
        Array.from({ length: 1000 }, (_, i) => [`sm:${i}`, "v"] as const),
        { ttl: "1 minute" },
      )
      const after =
        (yield* Effect.promise(() => commandCalls("evalsha"))) +
        (yield* Effect.promise(() => commandCalls("eval")))
      expect(after - before).toBeLessThanOrEqual(2)
      // Commands a script runs are counted too: one MSET and a PEXPIREAT per key, inside that one call.
      expect((yield* Effect.promise(() => commandCalls("mset"))) - msetsBefore).toBe(1)
      expect((yield* Effect.promise(() => commandCalls("pexpireat"))) - pexpiresBefore).toBe(1000)
      expect((yield* Effect.promise(() => commandCalls("set"))) - setsBefore).toBe(0)
      expect(yield* Effect.promise(() => raw.pttl("s:sm:999"))).toBeGreaterThan(50_000)
      expect(yield* Effect.promise(() => raw.get("s:sm:999"))).toBe("v")
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "s:" }))),
  )

  it.live("writes keep working after the event loop was blocked while the clock was being sampled", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      // Connecting samples the server's clock (TIME); block the loop before its reply can be read, as a
      // busy startup or a long synchronous task would.
      const context = yield* Layer.buildWithScope(
        RedisCache.layer({ url: server.url, keyPrefix: "blk:" }),
        scope,
      )
      const until = performance.now() + 1_500
      while (performance.now() < until) {
        // busy
      }
      const cache = Context.get(context, Cache)
      yield* Effect.sleep("100 millis")
      yield* cache.set("k", "v")
      yield* cache.setMany([["m", "w"]], { ttl: "1 minute" })
      expect(yield* Effect.promise(() => raw.mget("blk:k", "blk:m"))).toStrictEqual(["v", "w"])
      yield* Scope.close(scope, Exit.void)
    }),
  )

  it.live("setMany loads its script again after SCRIPT FLUSH", () =>
    Effect.gen(function* () {
      const cache = yield* Cache
      yield* cache.setMany([["a", "1"]])
      yield* Effect.promise(() => raw.script("FLUSH"))
      const evalsBefore = yield* Effect.promise(() => commandCalls("eval"))
      yield* cache.setMany(
        [
          ["a", "2"],
          ["b", "3"],
        ],
        { ttl: "1 minute" },
      )
      expect((yield* Effect.promise(() => commandCalls("eval"))) - evalsBefore).toBe(1)
      expect(yield* Effect.promise(() => raw.mget("nf:a", "nf:b"))).toStrictEqual(["2", "3"])
      expect(yield* Effect.promise(() => raw.pttl("nf:b"))).toBeGreaterThan(50_000)
      // The next call finds the script loaded again.
      yield* cache.setMany([["c", "4"]])
      expect((yield* Effect.promise(() => commandCalls("eval"))) - evalsBefore).toBe(1)
      expect(yield* Effect.promise(() => raw.get("nf:c"))).toBe("4")
    }).pipe(Effect.provide(RedisCache.layer({ url: server.url, keyPrefix: "nf:" }))),
  )
})
