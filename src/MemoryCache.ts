/**
 * An in-memory `Cache` with Redis's semantics, for tests, local development and single-process services.
 * Time is read through Effect's `Clock`, so `TestClock.adjust` expires entries in tests.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, type Scope } from "effect"
import { Cache, type CacheError } from "./Cache.js"
import { compileGlob } from "./internal/glob.js"
import { incrementBy, NOT_AN_INTEGER, parseRedisInteger } from "./internal/integer.js"
import { type Backend, cacheError, contextualize, makeCache, readExit } from "./internal/makeCache.js"
import { MAX_MAP_SIZE, MemoryStore } from "./internal/memoryStore.js"
import { TagIndex } from "./internal/memoryTags.js"
import { ReadNow } from "./internal/readNow.js"
import { durationProblem, positiveIntegerProblem } from "./internal/redisOptions.js"

/**
 * The default `maxEntries`: 100,000 entries. At 100-byte values and 20-byte keys that is about 20 MB, at
 * 1 KB values about 113 MB (measured, strings included): small next to Node's default heap, so the embedded
 * default cannot take a process down, and large enough for the tests, local development and small services
 * this layer is for.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_MAX_ENTRIES = 100_000

/**
 * Options of `MemoryCache.layer` / `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryCacheOptions {
  /** Prepended to every key, as with `RedisCache`. Default: none. */
  readonly keyPrefix?: string | undefined
  /** Wrap every operation in a span. Default: false (see `RedisCacheOptions.spans`). */
  readonly spans?: boolean | undefined
  /** The `cache` label of this cache's metrics (`CacheMetrics`). Default `"memory"`. */
  readonly name?: string | undefined
  /** Record `CacheMetrics` for every operation. Default false (see `RedisCacheOptions.metrics`). */
  readonly metrics?: boolean | undefined
  /**
   * The most entries the cache holds, counted in entries (not bytes), expired ones not reclaimed yet
   * included. Default: `DEFAULT_MAX_ENTRIES` (100,000). Writing a new key into a full cache first reclaims
   * an expired entry if one is due, and otherwise evicts the least recently used key, as Redis does with
   * `maxmemory-policy allkeys-lru` (exactly, where Redis samples). An evicted key is a plain miss. Reads and
   * writes of a key (`get`, `getMany`, `set`, `setMany`, `increment`, `expire`) count as a use; `exists`
   * and `ttl` do not, as in Redis (`LOOKUP_NOTOUCH`). A whole number from 1 to 16,777,216 (V8's most
   * entries in a `Map`), or `Infinity` for no bound of our own: V8's limit then still applies, and the
   * cache evicts there instead of failing the write. Anything else fails the layer with `InvalidArgument`.
   *
   * @since 0.2.0
   */
  readonly maxEntries?: number | undefined
  /**
   * The shortest time between two runs of the active expire cycle (Redis runs it `hz` = 10 times a second).
   * A cycle runs when an entry is due, at most once per interval; it reclaims expired entries, earliest
   * expiry first, for at most 1 ms of real time, and when it runs out of time with entries still due, the
   * next one comes 2 ms later instead. Expiry itself is exact at every read; the cycle only gives memory
   * back for keys nobody reads. Must be positive. Default: 100 milliseconds.
   */
  readonly sweepInterval?: Duration.DurationInput | undefined
}

/**
 * The in-memory Cache: the `Cache` operations plus the size of its store.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryCacheService extends Cache.Service {
  /**
   * Redis `DBSIZE`: the entries held, including expired ones that neither a read nor the expire cycle has
   * reclaimed yet. Never more than `maxEntries`.
   */
  readonly dbSize: Effect.Effect<number>
  /**
   * The live keys that carry at least one tag: the size of the tag bookkeeping, which drops a key as soon as
   * it goes (delete, overwrite without tags, expiry, eviction).
   *
   * @since 0.2.0
   */
  readonly taggedKeys: Effect.Effect<number>
}

/** Real time each expire cycle may use: Redis's fast cycle is 1 ms. */
const CYCLE_BUDGET_MS = 1
/**
 * Entries the expire cycle removes between two looks at the real clock, unless a removal may have made V8
 * rehash a Map. A removal takes well under 1 µs; `performance.now()` about as long, and it allocates (an
 * `hrtime` pair and a boxed result, ~50 bytes): asked after every entry, 1,000,000 expiring entries made
 * 50 MB of garbage.
 */
const CHECK_CLOCK_EVERY = 32
const noWake = () => {}
/** The pause after a cycle that ran out of time: at most a third of the event loop goes to expiry. */
const BEHIND_DELAY_MS = 2

/** `get`: the store looked up when the read runs, answered without a turn of the fiber's loop (readNow.ts). */
class MemoryGet extends ReadNow<Option.Option<string>, never> {
  constructor(
    readonly store: MemoryStore,
    readonly clock: { unsafeCurrentTimeMillis(): number },
    readonly key: string,
  ) {
    super()
  }
  run(): Exit.Exit<Option.Option<string>> {
    return readExit(this.store.getReadingClock(this.key, this.clock))
  }
}

const invalidOption = (detail: string) =>
  Effect.fail(cacheError({ reason: "InvalidArgument", operation: "connect", detail }))

/** What is wrong with the options, as the detail of an `InvalidArgument` error, or `undefined`. */
const optionsProblem = (options: MemoryCacheOptions): string | undefined => {
  const max = options.maxEntries
  if (max !== undefined && max !== Number.POSITIVE_INFINITY) {
    const problem = positiveIntegerProblem(max)
    if (problem !== undefined) return `option maxEntries ${problem} or Infinity`
    if (max > MAX_MAP_SIZE)
      return `option maxEntries must be at most ${MAX_MAP_SIZE} (V8's Map limit) or Infinity`
  }
  if (options.sweepInterval !== undefined) {
    const decoded = Duration.decodeUnknown(options.sweepInterval)
    const problem = Option.isNone(decoded)
      ? "is not a duration"
      : durationProblem(Duration.toMillis(decoded.value))
    if (problem !== undefined) return `option sweepInterval ${problem}`
  }
  return undefined
}

/**
 * Builds an in-memory Cache whose expire cycle runs in the current scope. Fails with a `CacheError` of
 * reason `InvalidArgument` (operation `"connect"`, as `RedisCache.make`) when an option is invalid.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryCache } from "effect-provider-cache"
 *
 * const program = Effect.gen(function* () {
 *   const cache = yield* MemoryCache.make({ maxEntries: 2 })
 *   yield* cache.set("a", "1")
 *   yield* cache.set("b", "2")
 *   yield* cache.set("c", "3") // evicts "a", the least recently used
 *   return yield* cache.dbSize // 2
 * })
 * Effect.runPromise(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: MemoryCacheOptions = {},
): Effect.Effect<MemoryCacheService, CacheError, Scope.Scope> =>
  Effect.gen(function* () {
    const problem = optionsProblem(options)
    if (problem !== undefined) return yield* invalidOption(problem)
    // Tags of live keys only: every entry that goes (delete, expiry, eviction) leaves its tags.
    const tags = new TagIndex()
    const store = new MemoryStore(options.maxEntries ?? DEFAULT_MAX_ENTRIES, tags)

    // The clock of the scope that builds the layer: the live one in production, a TestClock in tests.
    const clock = yield* Effect.clock
    const withNow = <A>(f: (now: number) => A): Effect.Effect<A> =>
      Effect.sync(() => f(clock.unsafeCurrentTimeMillis()))

    const expiresAt = (now: number, ttlMs: number | undefined) =>
      ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs

    // Redis's active expire cycle, incrementally. Which entries are due is read from the Clock (so TestClock
    // drives it); the budget is real CPU time, which no clock adjustment can stretch. Unlike Redis, which
    // wakes 10 times a second whatever the keyspace holds, the cycle sleeps until the earliest expiry (and
    // at least an interval after the last cycle): an idle cache costs nothing, and `TestClock.adjust("1 hour")`
    // steps through the instants where something expires, not through 36,000 empty cycles. A write that
    // expires earlier than the planned wake-up wakes it.
    const intervalMs = Duration.toMillis(Duration.decode(options.sweepInterval ?? Duration.millis(100)))
    let lastCycle = clock.unsafeCurrentTimeMillis()
    const plan = () => Math.max(lastCycle + intervalMs, store.earliestExpiry() + 1)
    const expireCycles = Effect.gen(function* () {
      let wakeAt = plan()
      for (;;) {
        // Only an expiry that moves the plan earlier wakes the fiber: none can once it waits for the floor.
        const wakeBefore = wakeAt > lastCycle + intervalMs ? wakeAt - 1 : Number.NEGATIVE_INFINITY
        const now = clock.unsafeCurrentTimeMillis()
        if (wakeAt > now && wakeBefore === Number.NEGATIVE_INFINITY) {
          // A plain sleep: the wait below forks a fiber. As a race of two fibers it allocated ~60 KB a
          // time, which at one pause every 3 ms while a million entries expire made a scavenge of several
          // ms every half second.
          store.armWake(wakeBefore, noWake)
          yield* Effect.sleep(wakeAt - now)
        } else if (wakeAt > now) {
          // Woken by a write (true) or by a sleeper fiber (false). Not `Effect.raceFirst`: completing the
          // race, which interrupts the losing fiber and waits for it, held the event loop 3-8 ms at the
          // wake-up for a million entries expiring together, against 1-3 ms for this (the sleeper is
          // interrupted only when a write wakes the cycle first, and not waited for).
          const woken = yield* Deferred.make<boolean>()
          store.armWake(wakeBefore, () => Deferred.unsafeDone(woken, Exit.succeed(true)))
          const sleeper =
            wakeAt === Number.POSITIVE_INFINITY
              ? undefined
              : yield* Effect.fork(
                  Effect.zipRight(Effect.sleep(wakeAt - now), Deferred.succeed(woken, false)),
                )
          const early = yield* Deferred.await(woken)
          if (early) {
            if (sleeper !== undefined) yield* Fiber.interruptFork(sleeper)
            wakeAt = plan()
            continue
          }
        }
        lastCycle = clock.unsafeCurrentTimeMillis()
        const deadline = performance.now() + CYCLE_BUDGET_MS
        let unchecked = 0
        const outOfTime = (mayHaveRehashed: boolean) => {
          if (!mayHaveRehashed && ++unchecked < CHECK_CLOCK_EVERY) return false
          unchecked = 0
          return performance.now() > deadline
        }
        const behind = store.expireCycle(lastCycle, outOfTime) || store.purgeRetired(outOfTime)
        // The pause counts from the end of the cycle: from its start, a cycle that overran its budget (a
        // removal that made V8 rehash a Map, a GC pause inside it) would be followed at once, without a
        // turn of the event loop in between, and a run of them blocked it for tens of milliseconds.
        wakeAt = behind ? clock.unsafeCurrentTimeMillis() + BEHIND_DELAY_MS : plan()
      }
    })
    yield* Effect.forkScoped(expireCycles)

    const backend: Backend = {
      get: (key) => new MemoryGet(store, clock, key),
      getMany: (keys) => withNow((now) => keys.map((key) => store.get(key, now) ?? null)),
      // A write without tags leaves the key's tags, as on Redis.
      set: (key, value, ttlMs) =>
        withNow((now) => {
          tags.drop(key)
          store.set(key, value, expiresAt(now, ttlMs), now)
        }),
      setMany: (entries, ttlMs) =>
        withNow((now) => {
          const at = expiresAt(now, ttlMs)
          for (const [key, value] of entries) {
            tags.drop(key)
            store.set(key, value, at, now)
          }
        }),
      // The store may evict on insert (dropping the evicted key's tags), so the tags are set after it.
      setTagged: (entries, ttlMs) =>
        withNow((now) => {
          const at = expiresAt(now, ttlMs)
          for (const [key, value, keyTags] of entries) {
            store.set(key, value, at, now)
            tags.setTags(key, keyTags)
          }
        }),
      invalidateTags: (list) =>
        withNow((now) => {
          let deleted = 0
          for (const tag of list) {
            for (const key of tags.keysOf(tag)) {
              // A lookup reclaims an expired entry (not counted, as on Redis); remove drops its tags.
              const slot = store.lookup(key, now, false)
              if (slot < 0) continue
              store.remove(slot)
              deleted++
            }
          }
          return deleted
        }),
      delete: (key) =>
        withNow((now) => {
          const slot = store.lookup(key, now, false)
          if (slot < 0) return false
          store.remove(slot)
          return true
        }),
      // EXISTS and PTTL look keys up with LOOKUP_NOTOUCH in Redis: they are not a use.
      exists: (key) => withNow((now) => store.lookup(key, now, false) >= 0),
      expire: (key, ttlMs) =>
        withNow((now) => {
          const slot = store.lookup(key, now, true)
          if (slot < 0) return false
          if (ttlMs === "persist") store.setExpiry(slot, Number.POSITIVE_INFINITY)
          else if (ttlMs <= 0) store.remove(slot)
          else store.setExpiry(slot, now + ttlMs)
          return true
        }),
      pttl: (key) =>
        withNow((now) => {
          const slot = store.lookup(key, now, false)
          if (slot < 0) return -2
          const at = store.expiresAtOf(slot)
          return at === Number.POSITIVE_INFINITY ? -1 : at - now
        }),
      incrBy: (key, amount, ttlMs, operation, callerKey) =>
        Effect.flatten(
          withNow((now): Effect.Effect<number, CacheError> => {
            const slot = store.lookup(key, now, true)
            const current = slot < 0 ? 0n : parseRedisInteger(store.valueAt(slot))
            const refused = (detail: string) =>
              Effect.fail(contextualize(operation, callerKey)({ reason: "Command", detail }))
            if (current === undefined) return refused(NOT_AN_INTEGER)
            const next = incrementBy(current, amount)
            if (typeof next === "string") return refused(next)
            // An existing key keeps its ttl, as INCRBY does.
            if (slot < 0) store.insert(key, String(next), expiresAt(now, ttlMs), now)
            else store.setValue(slot, String(next))
            return Effect.succeed(Number(next))
          }),
        ),
      deletePattern: (pattern) =>
        withNow((now) => {
          const glob = compileGlob(pattern)
          return store.deleteIf(now, glob.matches)
        }),
      countPattern: (pattern) =>
        withNow((now) => {
          const glob = compileGlob(pattern)
          return store.countIf(now, glob.matches)
        }),
      flushAll: Effect.sync(() => {
        store.clear()
        tags.clear()
      }),
      ping: Effect.succeed(true),
      // SET NX [PX]: a live key is left alone (and, as a write lookup, counts as a use).
      setIfAbsent: (key, value, ttlMs) =>
        withNow((now) => {
          if (store.lookup(key, now, true) >= 0) return false
          store.insert(key, value, expiresAt(now, ttlMs), now)
          return true
        }),
      // Compare-and-delete (the lease release): only the exact value is removed.
      deleteIfEquals: (key, value) =>
        withNow((now) => {
          const slot = store.lookup(key, now, false)
          if (slot < 0 || store.valueAt(slot) !== value) return false
          store.remove(slot)
          return true
        }),
    }
    return {
      ...makeCache(backend, { ...options, name: options.name ?? "memory" }),
      dbSize: Effect.sync(() => store.size),
      taggedKeys: Effect.sync(() => tags.size),
    }
  })

/**
 * The in-memory Cache as a Layer; its expire cycle lives as long as the layer. Building it fails with a
 * `CacheError` of reason `InvalidArgument` when an option is invalid (see `MemoryCacheOptions`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache, MemoryCache } from "effect-provider-cache"
 *
 * const program = Effect.flatMap(Cache, (cache) => cache.increment("visits"))
 * const CacheLive = MemoryCache.layer({ keyPrefix: "app:", maxEntries: 10_000 })
 * Effect.runPromise(program.pipe(Effect.provide(CacheLive)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryCacheOptions = {}): Layer.Layer<Cache, CacheError> =>
  Layer.scoped(Cache, make(options))
