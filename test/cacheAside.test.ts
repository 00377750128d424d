import { describe, expect, it } from "@effect/vitest"
import {
  type Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schema,
  Scope,
  TestClock,
} from "effect"
import { Cache, CacheAside, type CacheAsideOptions, CacheStats, leaseKey, MemoryCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { backends } from "./support/backends.js"
import { captureLogs, failingCache } from "./support/fixtures.js"
import { hasRedisServerBinary, startRedisServer } from "./support/redisServer.js"
import { startProxy } from "./support/tcpProxy.js"
import { redisUrl, uniquePrefix } from "./support/testRedis.js"

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

  it.effect(
    "grace: past ttl a failing lookup is answered with the stale value, logged; past grace it fails",
    () => {
      const logs = captureLogs()
      return Effect.gen(function* () {
        const aside = yield* CacheAside
        const cache = yield* Cache
        const namespace = freshNamespace()
        const key = `grace:${namespace}`
        const options = { key, schema: Account, ttl: 300, grace: 1_000, namespace } as const
        const down = Effect.fail("db down" as const)
        yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "v1", balance: 1 })))
        // Kept ttl + grace, with the logical expiry beside the value.
        const pttl = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(key)))
        expect(pttl).toBeGreaterThan(1_000)
        expect(pttl).toBeLessThanOrEqual(1_300)
        expect(yield* cache.getJson(key)).toMatchObject(Option.some({ __cacheAside: 1, v: { id: "v1" } }))
        // Fresh: no lookup at all.
        expect((yield* aside.getOrLoad(options, down)).id).toBe("v1")
        yield* elapse(400)
        // Stale: the lookup runs again; it fails, so the stale value answers and the failure is logged.
        expect((yield* aside.getOrLoad(options, down)).id).toBe("v1")
        expect(logs.entries.map((e) => e.message)).toContain(
          "CacheAside lookup failed; served the stale value within its grace",
        )
        // Stale: a lookup that succeeds replaces it, with a new ttl.
        expect(
          (yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "v2", balance: 2 })))).id,
        ).toBe("v2")
        expect((yield* aside.getOrLoad(options, down)).id).toBe("v2")
        // Past ttl + grace the entry is gone: the failure is the caller's.
        yield* elapse(1_500)
        expect(yield* Effect.flip(aside.getOrLoad(options, down))).toBe("db down")
        // Invalidation is not subject to grace: the stale copy goes too.
        yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "v3", balance: 3 })))
        yield* elapse(400)
        expect(yield* aside.invalidate(key, namespace)).toBe(true)
        expect(yield* Effect.flip(aside.getOrLoad(options, down))).toBe("db down")
        // Without grace, as before: past ttl a failing lookup fails.
        const plain = { key: `nograce:${namespace}`, schema: Account, ttl: 300, namespace } as const
        yield* aside.getOrLoad(plain, Effect.succeed(new Account({ id: "p", balance: 0 })))
        expect(yield* cache.getJson(plain.key)).toStrictEqual(Option.some({ id: "p", balance: 0 }))
        yield* elapse(400)
        expect(yield* Effect.flip(aside.getOrLoad(plain, down))).toBe("db down")
      }).pipe(Effect.provide(live()), Effect.provide(logs.layer))
    },
  )

  it.effect("grace: an entry in the format written without grace is read as fresh, not a miss", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const cache = yield* Cache
      const namespace = freshNamespace()
      const key = `legacy:${namespace}`
      yield* cache.setJson(key, { id: "old-format", balance: 5 }, { ttl: "1 minute" })
      const value = yield* aside.getOrLoad(
        { key, schema: Account, ttl: "1 minute", grace: "1 minute", namespace },
        Effect.die("the lookup must not run"),
      )
      expect(value).toStrictEqual(new Account({ id: "old-format", balance: 5 }))
    }).pipe(Effect.provide(live())),
  )
})

/** Lets forked fibers run up to their next sleep (TestClock does not move on its own). */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))

describe("CacheAside over MemoryCache with TestClock: softTimeout and eagerRefresh", () => {
  const live = () => CacheAside.layer.pipe(Layer.provideMerge(MemoryCache.layer()))

  it.effect("softTimeout: a slow lookup answers with the stale value at once, then stores its own", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      const key = `soft:${namespace}`
      const options = {
        key,
        schema: Account,
        ttl: "1 minute",
        grace: "10 minutes",
        softTimeout: "100 millis",
        namespace,
      } as const
      let lookups = 0
      const slow = Effect.sync(() => ++lookups).pipe(
        Effect.zipLeft(Effect.sleep("1 second")),
        Effect.map((n) => new Account({ id: `v${n}`, balance: n })),
      )
      yield* aside.getOrLoad(
        { ...options, softTimeout: undefined },
        Effect.succeed(new Account({ id: "v0", balance: 0 })),
      )
      yield* TestClock.adjust("61 seconds")
      const first = yield* Effect.fork(aside.getOrLoad(options, slow))
      yield* settle
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(first)).id).toBe("v0")
      // The lookup still runs, in the background; a caller meanwhile joins it instead of starting another.
      const second = yield* Effect.fork(aside.getOrLoad(options, slow))
      yield* settle
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(second)).id).toBe("v0")
      expect(lookups).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect((yield* aside.getOrLoad(options, Effect.die("fresh now"))).id).toBe("v1")
      // Without grace, softTimeout is ignored: a miss waits for the lookup.
      const missing = yield* Effect.fork(
        aside.getOrLoad({ ...options, key: `soft-miss:${namespace}`, grace: undefined }, slow),
      )
      yield* settle
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(missing)).id).toBe("v2")
    }).pipe(Effect.provide(live())),
  )

  it.effect("softTimeout: a fast lookup's value is returned, not the stale one", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      const options = {
        key: `soft-fast:${namespace}`,
        schema: Account,
        ttl: "1 minute",
        grace: "10 minutes",
        softTimeout: "100 millis",
        namespace,
      } as const
      yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "old", balance: 0 })))
      yield* TestClock.adjust("61 seconds")
      const fast = Effect.as(Effect.sleep("50 millis"), new Account({ id: "new", balance: 1 }))
      const fiber = yield* Effect.fork(aside.getOrLoad(options, fast))
      yield* settle
      yield* TestClock.adjust("50 millis")
      expect((yield* Fiber.join(fiber)).id).toBe("new")
    }).pipe(Effect.provide(live())),
  )

  it.effect("eagerRefresh: a hit past the fraction returns at once and starts one background refresh", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const cache = yield* Cache
      const namespace = freshNamespace()
      const key = `eager:${namespace}`
      const options = { key, schema: Account, ttl: "100 seconds", eagerRefresh: 0.5, namespace } as const
      const gate = yield* Deferred.make<void>()
      let lookups = 0
      const lookup = Effect.sync(() => ++lookups).pipe(
        Effect.tap((n) => (n === 1 ? Effect.void : Deferred.await(gate))),
        Effect.map((n) => new Account({ id: `v${n}`, balance: n })),
      )
      yield* aside.getOrLoad(options, lookup)
      yield* TestClock.adjust("40 seconds")
      expect((yield* aside.getOrLoad(options, lookup)).id).toBe("v1")
      yield* settle
      expect(lookups).toBe(1)
      yield* TestClock.adjust("20 seconds")
      // Past 50 s: every hit answers v1 without waiting (the refresh is held at the gate), and one refresh runs.
      const hits = yield* Effect.forEach(Array.from({ length: 10 }), () => aside.getOrLoad(options, lookup))
      expect(hits.map((a) => a.id)).toStrictEqual(Array.from({ length: 10 }, () => "v1"))
      yield* settle
      expect(lookups).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      expect((yield* aside.getOrLoad(options, lookup)).id).toBe("v2")
      expect(lookups).toBe(2)
      // The refreshed entry has a whole new ttl.
      expect(Duration.toMillis(Option.getOrThrow(yield* cache.ttl(key)))).toBe(100_000)
      expect(yield* CacheStats.get(namespace)).toMatchObject({ misses: 1, hits: 12 })
    }).pipe(Effect.provide(live())),
  )

  it.effect("eagerRefresh: a failed refresh keeps the current value, and the next hit tries again", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const namespace = freshNamespace()
      const options = {
        key: `eager-fail:${namespace}`,
        schema: Account,
        ttl: "100 seconds",
        eagerRefresh: 0.5,
        namespace,
      } as const
      let attempts = 0
      yield* aside.getOrLoad(options, Effect.succeed(new Account({ id: "v1", balance: 1 })))
      yield* TestClock.adjust("60 seconds")
      const failing = Effect.zipRight(
        Effect.sync(() => attempts++),
        Effect.fail("db down" as const),
      )
      expect((yield* aside.getOrLoad(options, failing)).id).toBe("v1")
      yield* settle
      expect((yield* aside.getOrLoad(options, failing)).id).toBe("v1")
      yield* settle
      expect(attempts).toBe(2)
    }).pipe(Effect.provide(live())),
  )

  it.effect("eagerRefresh outside (0, 1) is a defect", () =>
    Effect.gen(function* () {
      const aside = yield* CacheAside
      const exit = yield* Effect.exit(
        aside.getOrLoad(
          { key: "bad", schema: Account, ttl: "1 minute", eagerRefresh: 1 },
          Effect.succeed(new Account({ id: "x", balance: 0 })),
        ),
      )
      expect(exit._tag).toBe("Failure")
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

/**
 * One "instance": its own RedisCache (its own connection) and its own CacheAside, as a separate process
 * would have, built in the given scope.
 */
const instance = (url: string, keyPrefix: string, scope: Scope.Scope) =>
  Layer.buildWithScope(
    CacheAside.layer.pipe(Layer.provideMerge(RedisCache.layer({ url, keyPrefix, commandTimeout: 300 }))),
    scope,
  )

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))
const waitFor = (condition: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 500 && !condition(); i++) yield* sleep(10)
    expect(condition()).toBe(true)
  })

const getOrLoad = <E>(
  context: Context.Context<CacheAside>,
  options: CacheAsideOptions<Account, typeof Account.Encoded>,
  lookup: Effect.Effect<Account, E>,
) => Effect.flatMap(CacheAside, (aside) => aside.getOrLoad(options, lookup)).pipe(Effect.provide(context))

describe("CacheAside singleFlight: distributed, over two RedisCache instances", () => {
  it.live("100 concurrent calls in each of two instances on one cold key run the lookup once in total", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = uniquePrefix("sf")
        const a = yield* instance(redisUrl(0), prefix, scope)
        const b = yield* instance(redisUrl(0), prefix, scope)
        let lookups = 0
        const lookup = Effect.sync(() => ++lookups).pipe(
          Effect.zipLeft(Effect.sleep("100 millis")),
          Effect.map((n) => new Account({ id: `v${n}`, balance: n })),
        )
        const options = {
          key: "cold",
          schema: Account,
          ttl: "1 minute",
          singleFlight: "distributed",
        } as const
        const calls = [a, b].flatMap((context) =>
          Array.from({ length: 100 }, () => getOrLoad(context, options, lookup)),
        )
        const results = yield* Effect.all(calls, { concurrency: "unbounded" })
        expect(lookups).toBe(1)
        expect(new Set(results.map((r) => r.id))).toStrictEqual(new Set(["v1"]))
        // The lease is released once the value is stored.
        expect(
          yield* Effect.flatMap(Cache, (cache) => cache.exists(leaseKey("cold"))).pipe(Effect.provide(a)),
        ).toBe(false)
      }),
    ),
  )

  it.live("an interrupted holder releases its lease: another instance takes over at once", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const prefix = uniquePrefix("sf")
        const scopeA = yield* Scope.make()
        const a = yield* instance(redisUrl(0), prefix, scopeA)
        const b = yield* instance(redisUrl(0), prefix, yield* Effect.scope)
        const options = {
          key: "k",
          schema: Account,
          ttl: "1 minute",
          singleFlight: "distributed",
          lease: "10 seconds",
        } as const
        let startedA = false
        const fiberA = yield* Effect.fork(
          getOrLoad(
            a,
            options,
            Effect.zipRight(
              Effect.sync(() => (startedA = true)),
              Effect.never,
            ),
          ),
        )
        yield* waitFor(() => startedA)
        const fiberB = yield* Effect.fork(
          getOrLoad(b, options, Effect.succeed(new Account({ id: "b", balance: 2 }))),
        )
        yield* sleep(100)
        const before = Date.now()
        // Instance A shuts down mid-lookup: its lookup is interrupted, and its lease released.
        yield* Scope.close(scopeA, Exit.void)
        expect((yield* Fiber.join(fiberB)).id).toBe("b")
        expect(Date.now() - before).toBeLessThan(2_000)
        yield* Fiber.interrupt(fiberA)
      }),
    ),
  )

  it.live("a holder that dies without releasing: another instance takes over after the lease", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const prefix = uniquePrefix("sf")
        const proxy = yield* Effect.promise(() => startProxy(Number(new URL(redisUrl(0)).port)))
        yield* Effect.addFinalizer(() => Effect.promise(() => proxy.close()))
        const scopeA = yield* Scope.make()
        const a = yield* instance(`redis://127.0.0.1:${proxy.port}/0`, prefix, scopeA)
        const b = yield* instance(redisUrl(0), prefix, yield* Effect.scope)
        const options = {
          key: "k",
          schema: Account,
          ttl: "1 minute",
          singleFlight: "distributed",
          lease: 800,
        } as const
        let startedA = 0
        let lookupsB = 0
        yield* Effect.fork(
          getOrLoad(
            a,
            options,
            Effect.zipRight(
              Effect.sync(() => (startedA = Date.now())),
              Effect.never,
            ),
          ),
        )
        yield* waitFor(() => startedA > 0)
        const fiberB = yield* Effect.fork(
          getOrLoad(
            b,
            options,
            Effect.sync(() => new Account({ id: "b", balance: ++lookupsB })),
          ),
        )
        // A's process dies: its connection is gone, so its release cannot reach Redis.
        yield* Effect.promise(() => proxy.close())
        yield* Effect.forkDaemon(Scope.close(scopeA, Exit.void))
        const value = yield* Fiber.join(fiberB)
        const tookOverAfter = Date.now() - startedA
        expect(value.id).toBe("b")
        expect(lookupsB).toBe(1)
        // Not before A's lease lapsed, and not much later: the waiter polls at most every 50 ms.
        expect(tookOverAfter).toBeGreaterThanOrEqual(700)
        expect(tookOverAfter).toBeLessThan(2_500)
      }),
    ),
  )

  it.live("lock safety: a holder whose lease lapsed cannot release the next holder's lease", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const prefix = uniquePrefix("sf")
        const a = yield* instance(redisUrl(0), prefix, scope)
        const b = yield* instance(redisUrl(0), prefix, scope)
        const options = {
          key: "k",
          schema: Account,
          ttl: "1 minute",
          singleFlight: "distributed",
          lease: 300,
        } as const
        let startedA = false
        let startedB = false
        const gateB = yield* Deferred.make<void>()
        const fiberA = yield* Effect.fork(
          getOrLoad(
            a,
            options,
            Effect.sync(() => (startedA = true)).pipe(
              Effect.zipRight(Effect.sleep("900 millis")),
              Effect.as(new Account({ id: "a", balance: 1 })),
            ),
          ),
        )
        yield* waitFor(() => startedA)
        // B's own lease outlasts the whole test, so only A's release could remove it.
        const fiberB = yield* Effect.fork(
          getOrLoad(
            b,
            { ...options, lease: "10 seconds" },
            Effect.sync(() => (startedB = true)).pipe(
              Effect.zipRight(Deferred.await(gateB)),
              Effect.as(new Account({ id: "b", balance: 2 })),
            ),
          ),
        )
        // A's lookup outlives its lease: B takes the lease over and looks up itself.
        yield* waitFor(() => startedB)
        const leaseOfB = yield* Effect.flatMap(Cache, (cache) => cache.get(leaseKey("k"))).pipe(
          Effect.provide(b),
        )
        expect(Option.isSome(leaseOfB)).toBe(true)
        // A finishes and releases with its own token: B's lease stays.
        expect((yield* Fiber.join(fiberA)).id).toBe("a")
        expect(
          yield* Effect.flatMap(Cache, (cache) => cache.get(leaseKey("k"))).pipe(Effect.provide(b)),
        ).toStrictEqual(leaseOfB)
        yield* Deferred.succeed(gateB, undefined)
        expect((yield* Fiber.join(fiberB)).id).toBe("b")
        expect(
          yield* Effect.flatMap(Cache, (cache) => cache.exists(leaseKey("k"))).pipe(Effect.provide(b)),
        ).toBe(false)
      }),
    ),
  )

  it.live("a waiter waits one lease at most, then looks up itself", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* instance(redisUrl(0), uniquePrefix("sf"), yield* Effect.scope)
        // A lease held by a process that never stores nor releases, for far longer than ours.
        yield* Effect.flatMap(Cache, (cache) =>
          cache.setIfAbsent(leaseKey("k"), "foreign", { ttl: "1 minute" }),
        ).pipe(Effect.provide(a))
        const options = {
          key: "k",
          schema: Account,
          ttl: "1 minute",
          singleFlight: "distributed",
          lease: 400,
        } as const
        const before = Date.now()
        const value = yield* getOrLoad(a, options, Effect.succeed(new Account({ id: "own", balance: 0 })))
        const waited = Date.now() - before
        expect(value.id).toBe("own")
        expect(waited).toBeGreaterThanOrEqual(390)
        expect(waited).toBeLessThan(1_500)
      }),
    ),
  )

  it.live.skipIf(!hasRedisServerBinary())(
    "Redis down: falls back to in-process single-flight, never an error",
    () => {
      const logs = captureLogs()
      return Effect.scoped(
        Effect.gen(function* () {
          const server = yield* Effect.acquireRelease(
            Effect.promise(() => startRedisServer()),
            (s) => Effect.promise(() => s.stop()),
          )
          const a = yield* instance(server.url, "", yield* Effect.scope)
          yield* Effect.promise(() => server.kill())
          let lookups = 0
          const lookup = Effect.sync(() => ++lookups).pipe(
            Effect.zipLeft(Effect.sleep("50 millis")),
            Effect.map((n) => new Account({ id: `v${n}`, balance: n })),
          )
          const options = { key: "k", schema: Account, ttl: "1 minute", singleFlight: "distributed" } as const
          const before = Date.now()
          const results = yield* Effect.all(
            Array.from({ length: 20 }, () => getOrLoad(a, options, lookup)),
            { concurrency: "unbounded" },
          )
          expect(Date.now() - before).toBeLessThan(2_000)
          expect(lookups).toBe(1)
          expect(new Set(results.map((r) => r.id))).toStrictEqual(new Set(["v1"]))
          expect(logs.entries.map((e) => e.message)).toContain("CacheAside.lease failed open")
        }).pipe(Effect.provide(logs.layer)),
      )
    },
  )
})
