import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Schema } from "effect"
import { Cache, CacheAside, CacheStats } from "../src/index.js"
import { backends } from "./support/backends.js"
import { captureLogs, failingCache } from "./support/fixtures.js"

class Account extends Schema.Class<Account>("Account")({ id: Schema.String, balance: Schema.Number }) {}

let namespaceCounter = 0
const freshNamespace = () => `test_ns_${process.pid}_${++namespaceCounter}`

describe.each(backends)("CacheAside over $name", ({ layer, elapse }) => {
  const live = () => CacheAside.layer.pipe(Layer.provideMerge(layer()))

  it.effect("a miss runs the lookup and stores; a hit does not; stats count both", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      let lookups = 0
      const lookup = Effect.sync(() => {
        lookups++
        return new Account({ id: "a1", balance: 100 })
      })
      const options = { key: `acct:${namespace}`, schema: Account, ttl: "1 minute", namespace } as const
      expect(yield* aside.getOrLoad(options, lookup)).toStrictEqual(new Account({ id: "a1", balance: 100 }))
      expect(yield* aside.getOrLoad(options, lookup)).toStrictEqual(new Account({ id: "a1", balance: 100 }))
      expect(yield* aside.getOrLoad(options, lookup)).toStrictEqual(new Account({ id: "a1", balance: 100 }))
      expect(lookups).toBe(1)
      expect(yield* CacheStats.get(namespace)).toStrictEqual({
        hits: 2,
        misses: 1,
        errors: 0,
        hitRate: 2 / 3,
      })
      const cache = yield* Cache
      expect(yield* cache.getJson(`acct:${namespace}`)).toStrictEqual(Option.some({ id: "a1", balance: 100 }))
    }).pipe(Effect.provide(live())),
  )

  it.effect("concurrent misses for one key run the lookup once", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      const gate = yield* Deferred.make<void>()
      let lookups = 0
      const lookup = Effect.zipRight(
        Effect.sync(() => lookups++),
        Effect.as(Deferred.await(gate), new Account({ id: "a2", balance: 7 })),
      )
      const options = { key: `sf:${namespace}`, schema: Account, ttl: "1 minute", namespace } as const
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.fork(aside.getOrLoad(options, lookup)),
      )
      // Let every fiber reach the cache and join the flight before the lookup completes.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      expect(results).toHaveLength(50)
      for (const result of results) expect(result).toStrictEqual(new Account({ id: "a2", balance: 7 }))
      expect(lookups).toBe(1)
    }).pipe(Effect.provide(live())),
  )

  it.effect("a failing lookup fails every waiter and caches nothing", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      const options = { key: `fail:${namespace}`, schema: Account, ttl: "1 minute", namespace } as const
      const error = yield* Effect.flip(aside.getOrLoad(options, Effect.fail("db down" as const)))
      expect(error).toBe("db down")
      expect(yield* (yield* Cache).exists(`fail:${namespace}`)).toBe(false)
    }).pipe(Effect.provide(live())),
  )

  it.effect("a ttl function can decline to cache a value; the entry expires with its ttl", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const cache = yield* Cache
      const namespace = freshNamespace()
      yield* aside.getOrLoad(
        { key: `no:${namespace}`, schema: Account, ttl: () => Option.none(), namespace },
        Effect.succeed(new Account({ id: "x", balance: 1 })),
      )
      expect(yield* cache.exists(`no:${namespace}`)).toBe(false)
      yield* aside.getOrLoad(
        { key: `short:${namespace}`, schema: Account, ttl: 300, namespace },
        Effect.succeed(new Account({ id: "x", balance: 1 })),
      )
      expect(yield* cache.exists(`short:${namespace}`)).toBe(true)
      yield* elapse(500)
      expect(yield* cache.exists(`short:${namespace}`)).toBe(false)
    }).pipe(Effect.provide(live())),
  )

  it.effect("a corrupt entry is a miss, counted as an error, and replaced", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const cache = yield* Cache
      const namespace = freshNamespace()
      const key = `corrupt:${namespace}`
      yield* cache.setJson(key, { id: 5 })
      const value = yield* aside.getOrLoad(
        { key, schema: Account, ttl: "1 minute", namespace },
        Effect.succeed(new Account({ id: "fresh", balance: 2 })),
      )
      expect(value.id).toBe("fresh")
      expect(yield* CacheStats.get(namespace)).toMatchObject({ errors: 1, misses: 1 })
      expect(yield* cache.getJson(key)).toStrictEqual(Option.some({ id: "fresh", balance: 2 }))
    }).pipe(Effect.provide(live())),
  )

  it.effect("invalidate removes the entry and keeps an in-flight lookup from storing a stale value", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const cache = yield* Cache
      const namespace = freshNamespace()
      const key = `inv:${namespace}`
      const options = { key, schema: Account, ttl: "1 minute", namespace } as const
      yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "v1", balance: 1 })))
      expect(yield* aside.invalidate(key, namespace)).toBe(true)
      expect(yield* cache.exists(key)).toBe(false)

      const gate = yield* Deferred.make<void>()
      const slow = Effect.as(Deferred.await(gate), new Account({ id: "stale", balance: 0 }))
      const fiber = yield* Effect.fork(aside.getOrLoad(options, slow))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
      yield* aside.invalidate(key, namespace)
      yield* Deferred.succeed(gate, undefined)
      expect((yield* Fiber.join(fiber)).id).toBe("stale")
      expect(yield* cache.exists(key)).toBe(false)
    }).pipe(Effect.provide(live())),
  )
})

describe("CacheAside failing open", () => {
  it.effect("a failing Cache falls back to the lookup every time, counting errors", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      let lookups = 0
      const lookup = Effect.sync(() => new Account({ id: `n${++lookups}`, balance: 0 }))
      const options = { key: "k", schema: Account, ttl: "1 minute", namespace } as const
      expect((yield* aside.getOrLoad(options, lookup)).id).toBe("n1")
      expect((yield* aside.getOrLoad(options, lookup)).id).toBe("n2")
      expect(yield* aside.invalidate("k", namespace)).toBe(false)
      const stats = yield* CacheStats.get(namespace)
      expect(stats).toStrictEqual({ hits: 0, misses: 2, errors: 5, hitRate: 0 })
      // Five failures, but warnings are rate-limited per operation: the second read and write are counted.
      expect(logs.entries.every((e) => e.level === "WARN")).toBe(true)
      expect(logs.entries.map((e) => e.message)).toStrictEqual([
        "CacheAside.read failed open",
        "CacheAside.store failed open",
        "CacheAside.invalidate failed open",
      ])
    }).pipe(
      Effect.provide(CacheAside.layer.pipe(Layer.provide(failingCache), Layer.provideMerge(logs.layer))),
    )
  })
})
