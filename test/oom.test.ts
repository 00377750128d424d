/**
 * A Redis whose memory is full (`maxmemory` with `noeviction`): the operations that only free memory
 * (delete, deletePattern, flush, expire) must still run, and the ones that add data must fail with Redis's
 * own OOM reason. Each test starts its own redis-server with a 2 MB limit.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { Redis } from "ioredis"
import { Cache, type CacheError } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { startRedisServer } from "./support/redisServer.js"

const VALUE = "x".repeat(16 * 1024)

/** A redis-server with 2 MB of memory, a raw client on it, both released with the scope. */
const fullServer = Effect.gen(function* () {
  const redis = yield* Effect.acquireRelease(
    Effect.promise(() =>
      startRedisServer({ args: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"] }),
    ),
    (s) => Effect.promise(() => s.stop()),
  )
  const raw = yield* Effect.acquireRelease(
    Effect.sync(() => new Redis(redis.url)),
    (r) => Effect.sync(() => r.disconnect()),
  )
  return { redis, raw }
})

/**
 * Writes `prefix`-keyed values until Redis refuses even a one-byte value with OOM (a large value alone is not
 * enough: its own query buffer counts toward used memory); the number of keys written.
 */
const fillUntilOom = (raw: Redis, prefix: string) =>
  Effect.promise(async () => {
    let written = 0
    for (const value of [VALUE, "v"]) {
      for (;;) {
        if (written > 100_000) throw new Error("Redis never reported OOM")
        const refused = await raw.set(`${prefix}${written}`, value).then(
          () => undefined,
          (error: unknown) => String(error),
        )
        if (refused !== undefined) {
          expect(refused).toContain("OOM")
          break
        }
        written++
      }
    }
    return written
  })

const cacheOn = (url: string, keyPrefix?: string) =>
  Effect.flatMap(Layer.build(RedisCache.layer({ url, keyPrefix })), (context) =>
    Effect.succeed(Context.get(context, Cache)),
  )

const expectOom = (error: CacheError) => {
  expect(error.reason).toBe("Command")
  expect(error.detail).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/)
}

describe("RedisCache with Redis out of memory (maxmemory, noeviction)", () => {
  it.live("the README's exception: a write batched after a delete of a missing key is let through", () =>
    Effect.gen(function* () {
      const { redis, raw } = yield* fullServer
      const cache = yield* cacheOn(redis.url)
      yield* fillUntilOom(raw, "fill:")
      // Alone, the write is refused.
      expectOom(yield* Effect.flip(cache.set("alone", "v")))
      // In one scheduler round (one script call), after a delete that found nothing: Redis refuses a script's
      // writes at maxmemory only until its first write, and DEL counts as one.
      const [deleted, written] = yield* Effect.all(
        [cache.delete("missing"), Effect.either(cache.set("after", "v"))],
        {
          concurrency: "unbounded",
        },
      )
      expect(deleted).toBe(false)
      expect(written._tag).toBe("Right")
      expect(yield* Effect.promise(() => raw.get("after"))).toBe("v")
    }).pipe(Effect.scoped),
  )

  it.live("writes fail with Redis's OOM reason; delete, expire and deletePattern free memory", () =>
    Effect.gen(function* () {
      const { redis, raw } = yield* fullServer
      const cache = yield* cacheOn(redis.url)
      const written = yield* fillUntilOom(raw, "fill:")
      expect(written).toBeGreaterThan(10)

      expectOom(yield* Effect.flip(cache.set("new", "v")))
      expectOom(yield* Effect.flip(cache.setMany({ a: "1", b: "2" })))
      expectOom(yield* Effect.flip(cache.increment("counter")))

      expect(yield* cache.delete("fill:0")).toBe(true)
      expect(yield* Effect.promise(() => raw.exists("fill:0"))).toBe(0)
      expect(yield* cache.expire("fill:1", "1 minute")).toBe(true)
      expect(yield* cache.expire("fill:1", 0)).toBe(true)
      expect(yield* Effect.promise(() => raw.exists("fill:1"))).toBe(0)

      expect(yield* cache.deletePattern("fill:*")).toBe(written - 2)
      expect(yield* Effect.promise(() => raw.dbsize())).toBe(0)
      yield* cache.set("new", "v")
      expect(yield* cache.get("new")).toStrictEqual(Option.some("v"))
    }).pipe(Effect.scoped),
  )

  it.live("flush with a key prefix deletes the prefix's keys and leaves the rest", () =>
    Effect.gen(function* () {
      const { redis, raw } = yield* fullServer
      yield* Effect.promise(() => raw.set("other:key", "kept"))
      const cache = yield* cacheOn(redis.url, "tenant:")
      const written = yield* fillUntilOom(raw, "tenant:fill:")
      expectOom(yield* Effect.flip(cache.set("k", "v")))

      yield* cache.flush
      expect(yield* Effect.promise(() => raw.keys("tenant:*"))).toStrictEqual([])
      expect(yield* Effect.promise(() => raw.get("other:key"))).toBe("kept")
      expect(written).toBeGreaterThan(10)
      yield* cache.set("k", "v")
    }).pipe(Effect.scoped),
  )

  it.live("flush without a key prefix empties the database", () =>
    Effect.gen(function* () {
      const { redis, raw } = yield* fullServer
      const cache = yield* cacheOn(redis.url)
      yield* fillUntilOom(raw, "fill:")
      expectOom(yield* Effect.flip(cache.set("k", "v")))

      yield* cache.flush
      expect(yield* Effect.promise(() => raw.dbsize())).toBe(0)
      // FLUSHDB ASYNC frees memory in the background: a write succeeds once it has.
      let wrote = false
      for (let i = 0; i < 50 && !wrote; i++) {
        wrote = (yield* Effect.either(cache.set("k", "v")))._tag === "Right"
        if (!wrote) yield* Effect.sleep("20 millis")
      }
      expect(wrote).toBe(true)
    }).pipe(Effect.scoped),
  )
})
