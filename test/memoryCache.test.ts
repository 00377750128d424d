/**
 * What the memory layer adds to the contract: a bound with LRU eviction (Redis `allkeys-lru`), an expire
 * cycle that reclaims expired keys nobody reads, a bounded amount of work per cycle, and checked options.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Option, TestClock } from "effect"
import { Cache, MemoryCache } from "../src/index.js"

/** Keys still held, out of `keys`, read without marking them used (EXISTS does not touch LRU). */
const held = (cache: MemoryCache.MemoryCacheService, keys: ReadonlyArray<string>) =>
  Effect.filter(keys, (key) => cache.exists(key))

describe("MemoryCache eviction", () => {
  it.scoped(
    "an evicted or expired-and-reclaimed key leaves its tags; the tag bookkeeping holds live keys only",
    () =>
      Effect.gen(function* () {
        const cache = yield* MemoryCache.make({ maxEntries: 2 })
        yield* cache.set("a", "1", { tags: ["t"] })
        yield* cache.set("b", "2", { tags: ["t", "u"], ttl: 1_000 })
        expect(yield* cache.taggedKeys).toBe(2)
        yield* cache.set("c", "3") // evicts a
        expect(yield* cache.taggedKeys).toBe(1)
        yield* TestClock.adjust(1_001) // b expires; the expire cycle reclaims it
        expect(yield* cache.taggedKeys).toBe(0)
        // A key that comes back under an evicted key's name is not tagged.
        yield* cache.increment("a")
        expect(yield* cache.invalidateTags(["t", "u"])).toBe(0)
        expect(yield* held(cache, ["a", "c"])).toStrictEqual(["a", "c"])
      }),
  )

  it.scoped("a full cache evicts the least recently used key; reads and writes count as a use", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ maxEntries: 3 })
      const all = ["a", "b", "c", "d", "e", "f", "g"]
      yield* cache.set("a", "1")
      yield* cache.set("b", "2")
      yield* cache.set("c", "3")
      yield* cache.get("a") // LRU → MRU: b c a
      yield* cache.set("d", "4") // evicts b: c a d
      expect(yield* held(cache, all)).toStrictEqual(["a", "c", "d"])

      // EXISTS and TTL do not count as a use (Redis's LOOKUP_NOTOUCH): c stays the least recently used.
      expect(yield* cache.exists("c")).toBe(true)
      expect(yield* cache.ttl("c")).toStrictEqual(Option.none())
      yield* cache.set("e", "5") // evicts c: a d e
      expect(yield* held(cache, all)).toStrictEqual(["a", "d", "e"])

      yield* cache.expire("a", "1 hour") // d e a
      yield* cache.increment("d") // e a d
      yield* cache.set("f", "6") // evicts e: a d f
      expect(yield* held(cache, all)).toStrictEqual(["a", "d", "f"])

      yield* cache.getMany(["a"]) // d f a
      yield* cache.setMany([["f", "6b"]]) // d a f
      yield* cache.set("g", "7") // evicts d: a f g
      expect(yield* held(cache, all)).toStrictEqual(["a", "f", "g"])
      expect(yield* cache.dbSize).toBe(3)
      expect(yield* cache.get("f")).toStrictEqual(Option.some("6b"))
      expect(yield* cache.increment("d")).toBe(1) // an evicted counter starts over, as after a Redis eviction
    }),
  )

  it.scoped("an evicted key is a plain miss for every read, and patterns do not see it", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ maxEntries: 2, keyPrefix: "app:" })
      yield* cache.set("user:1", "one")
      yield* cache.set("user:2", "two")
      yield* cache.set("user:3", "three") // evicts user:1
      expect(yield* cache.get("user:1")).toStrictEqual(Option.none())
      expect(yield* cache.getJson("user:1")).toStrictEqual(Option.none())
      expect(yield* cache.exists("user:1")).toBe(false)
      expect(yield* cache.ttl("user:1")).toStrictEqual(Option.none())
      expect(yield* cache.delete("user:1")).toBe(false)
      expect(yield* cache.expire("user:1", "1 minute")).toBe(false)
      const many = yield* cache.getMany(["user:1", "user:2", "user:3"])
      expect(Array.from(many)).toStrictEqual([
        ["user:1", Option.none()],
        ["user:2", Option.some("two")],
        ["user:3", Option.some("three")],
      ])
      expect(yield* cache.countPattern("user:*")).toBe(2)
      expect(yield* cache.countPattern("user:1")).toBe(0)
      expect(yield* cache.deletePattern("user:1*")).toBe(0)
      expect(yield* cache.deletePattern("user:*")).toBe(2)
      expect(yield* cache.dbSize).toBe(0)
    }),
  )

  it.scoped("a write into a full cache reclaims a due expired entry before evicting a live one", () =>
    Effect.gen(function* () {
      // No expire cycle within the test, so the expired entry is still held when the write comes.
      const cache = yield* MemoryCache.make({ maxEntries: 3, sweepInterval: "1 hour" })
      yield* cache.set("live:1", "1")
      yield* cache.set("short", "s", { ttl: "1 second" })
      yield* cache.set("live:2", "2")
      yield* TestClock.adjust("2 seconds")
      expect(yield* cache.dbSize).toBe(3)
      yield* cache.set("live:3", "3") // live:1 is the least recently used, but "short" has expired
      expect(yield* held(cache, ["live:1", "live:2", "live:3", "short"])).toStrictEqual([
        "live:1",
        "live:2",
        "live:3",
      ])
    }),
  )

  it.scoped("setMany larger than the bound keeps the last entries", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ maxEntries: 3 })
      yield* cache.setMany(Array.from({ length: 10 }, (_, i) => [`k${i}`, `${i}`] as const))
      expect(yield* cache.dbSize).toBe(3)
      expect(yield* held(cache, ["k6", "k7", "k8", "k9"])).toStrictEqual(["k7", "k8", "k9"])
    }),
  )

  it.scoped("the default bound is 100,000 entries; Infinity opts out", () =>
    Effect.gen(function* () {
      expect(MemoryCache.DEFAULT_MAX_ENTRIES).toBe(100_000)
      const entries = Array.from({ length: 100_001 }, (_, i) => [`k:${i}`, "v"] as const)
      const bounded = yield* MemoryCache.make()
      yield* bounded.setMany(entries)
      expect(yield* bounded.dbSize).toBe(100_000)
      expect(yield* bounded.exists("k:0")).toBe(false)
      expect(yield* bounded.exists("k:1")).toBe(true)

      const unbounded = yield* MemoryCache.make({ maxEntries: Number.POSITIVE_INFINITY })
      yield* unbounded.setMany(entries)
      expect(yield* unbounded.dbSize).toBe(100_001)
      expect(yield* unbounded.exists("k:0")).toBe(true)
    }),
  )
})

describe("MemoryCache expire cycle", () => {
  it.scoped("reclaims expired keys that nobody reads, driven by the Clock", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make()
      yield* cache.setMany(
        Array.from({ length: 10 }, (_, i) => [`t:${i}`, "v"] as const),
        { ttl: "1 second" },
      )
      yield* cache.set("forever", "v")
      yield* TestClock.adjust("1 second") // still live at exactly its expiry instant, as in Redis
      expect(yield* cache.dbSize).toBe(11)
      yield* TestClock.adjust("100 millis") // the next cycle
      expect(yield* cache.dbSize).toBe(1)
    }),
  )

  it.scoped("a cycle does a bounded amount of work; the rest follows in later cycles", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ maxEntries: Number.POSITIVE_INFINITY })
      const count = 100_000
      yield* cache.setMany(
        Array.from({ length: count }, (_, i) => [`bulk:${i}`, "v"] as const),
        { ttl: "1 second" },
      )
      yield* TestClock.adjust("1 second")
      expect(yield* cache.dbSize).toBe(count)

      yield* TestClock.adjust("1 millis") // one cycle: 1 ms of work, far too little for 100,000 keys
      const afterOne = yield* cache.dbSize
      expect(afterOne).toBeGreaterThan(0)
      expect(afterOne).toBeLessThan(count)

      yield* TestClock.adjust("1 millis") // a cycle that ran out of time is followed 2 ms later, not sooner
      expect(yield* cache.dbSize).toBe(afterOne)
      yield* TestClock.adjust("1 millis")
      const afterTwo = yield* cache.dbSize
      expect(afterTwo).toBeLessThan(afterOne)
      expect(afterTwo).toBeGreaterThan(0)

      // Every cycle reclaims some, so a bounded number of them empties the cache.
      for (let i = 0; i < 2_000 && (yield* cache.dbSize) > 0; i++) yield* TestClock.adjust("2 millis")
      expect(yield* cache.dbSize).toBe(0)
    }),
  )

  it.scoped("an idle cycle sleeps until the earliest expiry, not every interval", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make()
      yield* TestClock.adjust(0) // lets the cycle fiber run until it waits
      expect(Chunk.toArray(yield* TestClock.sleeps())).toStrictEqual([]) // nothing expires: no timer at all
      yield* cache.set("later", "v", { ttl: "1 hour" })
      yield* TestClock.adjust(0)
      expect(Chunk.toArray(yield* TestClock.sleeps())).toStrictEqual([3_600_001])
      yield* cache.set("sooner", "v", { ttl: "1 minute" }) // wakes the cycle, which plans anew
      yield* cache.set("forever", "v")
      yield* TestClock.adjust(0) // lets the cycle fiber run until it waits
      expect(Chunk.toArray(yield* TestClock.sleeps())).toContain(60_001)
      yield* TestClock.adjust("2 hours") // a handful of steps, not 72,000 cycles
      expect(yield* cache.dbSize).toBe(1)
      expect(Chunk.toArray(yield* TestClock.sleeps()).filter((at) => at > 7_200_000)).toStrictEqual([])
    }),
  )

  it.scoped("cycles come at most once per sweepInterval, however soon keys expire", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ sweepInterval: "1 second" })
      yield* cache.set("a", "v", { ttl: "10 millis" })
      yield* TestClock.adjust("500 millis")
      expect(yield* cache.dbSize).toBe(1) // expired, not reclaimed yet: the next cycle is at 1 s
      expect(yield* cache.exists("a")).toBe(false)
      yield* cache.set("b", "v", { ttl: "10 millis" })
      yield* TestClock.adjust("500 millis")
      expect(yield* cache.dbSize).toBe(0)
    }),
  )
})

describe("MemoryCache options", () => {
  const invalid = [
    [{ maxEntries: 0 }, "option maxEntries must be a positive integer or Infinity"],
    [{ maxEntries: -1 }, "option maxEntries must be a positive integer or Infinity"],
    [{ maxEntries: 1.5 }, "option maxEntries must be a positive integer or Infinity"],
    [{ maxEntries: Number.NaN }, "option maxEntries must be a positive integer or Infinity"],
    [{ maxEntries: Number.NEGATIVE_INFINITY }, "option maxEntries must be a positive integer or Infinity"],
    [{ maxEntries: 2 ** 24 + 1 }, "option maxEntries must be at most 16777216 (V8's Map limit) or Infinity"],
    [{ sweepInterval: 0 }, "option sweepInterval must be a positive duration"],
    [{ sweepInterval: "soon" as never }, "option sweepInterval is not a duration"],
  ] as const

  for (const [options, detail] of invalid) {
    const [name, value] = Object.entries(options)[0]!
    it.effect(`${name}: ${String(value)} fails the layer with InvalidArgument`, () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(MemoryCache.layer(options))))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = yield* Effect.flip(Effect.scoped(MemoryCache.make(options)))
        expect(error._tag).toBe("CacheError")
        expect(error.reason).toBe("InvalidArgument")
        expect(error.operation).toBe("connect")
        expect(error.detail).toBe(detail)
      }),
    )
  }

  it.effect("the largest bound and the layer without options build", () =>
    Effect.gen(function* () {
      const cache = yield* Effect.provide(Cache, MemoryCache.layer({ maxEntries: 2 ** 24 }))
      yield* cache.set("k", "v")
      expect(yield* cache.get("k")).toStrictEqual(Option.some("v"))
      yield* Effect.provide(Cache, MemoryCache.layer())
    }),
  )
})
