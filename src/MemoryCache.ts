/**
 * An in-memory `Cache` with Redis's semantics, for tests, local development and single-process services.
 * Time is read through Effect's `Clock`, so `TestClock.adjust` expires entries in tests.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Layer, Option, Schedule, type Scope } from "effect"
import { Cache } from "./Cache.js"
import { compileGlob } from "./internal/glob.js"
import { incrementBy, NOT_AN_INTEGER, parseRedisInteger } from "./internal/integer.js"
import { type Backend, type BackendFailure, makeCache } from "./internal/makeCache.js"

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
  /** Record `CacheMetrics` for every operation. Default true. */
  readonly metrics?: boolean | undefined
  /**
   * How often expired entries that nobody reads are swept from memory. Expiry itself is exact at every read;
   * this only bounds memory. Default: 1 second.
   */
  readonly sweepInterval?: Duration.DurationInput | undefined
}

interface Entry {
  /** The value, already in the `Option` a hit returns: a read allocates nothing. */
  readonly found: Option.Some<string>
  /** Epoch milliseconds; the entry is live while `now <= expiresAt`, as in Redis's `keyIsExpired`. */
  expiresAt: number | undefined
}

const entryOf = (value: string, expiresAt: number | undefined): Entry => ({
  found: Option.some(value) as Option.Some<string>,
  expiresAt,
})

/**
 * Builds an in-memory Cache whose sweeper fiber lives in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryCacheOptions = {}): Effect.Effect<Cache.Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const store = new Map<string, Entry>()

    const live = (key: string, now: number): Entry | undefined => {
      const entry = store.get(key)
      if (entry === undefined) return undefined
      if (entry.expiresAt !== undefined && now > entry.expiresAt) {
        store.delete(key)
        return undefined
      }
      return entry
    }

    // The clock of the scope that builds the layer: the live one in production, a TestClock in tests.
    const clock = yield* Effect.clock
    const withNow = <A>(f: (now: number) => A): Effect.Effect<A> =>
      Effect.sync(() => f(clock.unsafeCurrentTimeMillis()))

    const expiresAt = (now: number, ttlMs: number | undefined) =>
      ttlMs === undefined ? undefined : now + ttlMs

    const sweep = withNow((now) => {
      for (const [key, entry] of store) {
        if (entry.expiresAt !== undefined && now > entry.expiresAt) store.delete(key)
      }
    })
    yield* Effect.forkScoped(
      Effect.repeat(sweep, Schedule.spaced(Duration.decode(options.sweepInterval ?? Duration.seconds(1)))),
    )

    const deleteMatching = (pattern: string) =>
      withNow((now) => {
        const glob = compileGlob(pattern)
        let deleted = 0
        for (const key of store.keys()) {
          if (live(key, now) !== undefined && glob.matches(key)) {
            store.delete(key)
            deleted++
          }
        }
        return deleted
      })

    const countMatching = (pattern: string) =>
      withNow((now) => {
        const glob = compileGlob(pattern)
        let count = 0
        for (const key of store.keys()) if (live(key, now) !== undefined && glob.matches(key)) count++
        return count
      })

    const backend: Backend = {
      get: (key) =>
        Effect.sync(() => {
          const entry = live(key, clock.unsafeCurrentTimeMillis())
          return entry === undefined ? Option.none() : entry.found
        }),
      getMany: (keys) => withNow((now) => keys.map((key) => live(key, now)?.found.value ?? null)),
      set: (key, value, ttlMs) =>
        withNow((now) => void store.set(key, entryOf(value, expiresAt(now, ttlMs)))),
      setMany: (entries, ttlMs) =>
        withNow((now) => {
          const at = expiresAt(now, ttlMs)
          for (const [key, value] of entries) store.set(key, entryOf(value, at))
        }),
      delete: (key) => withNow((now) => live(key, now) !== undefined && store.delete(key)),
      exists: (key) => withNow((now) => live(key, now) !== undefined),
      expire: (key, ttlMs) =>
        withNow((now) => {
          const entry = live(key, now)
          if (entry === undefined) return false
          if (ttlMs === "persist") entry.expiresAt = undefined
          else if (ttlMs <= 0) store.delete(key)
          else entry.expiresAt = now + ttlMs
          return true
        }),
      pttl: (key) =>
        withNow((now) => {
          const entry = live(key, now)
          if (entry === undefined) return -2
          return entry.expiresAt === undefined ? -1 : entry.expiresAt - now
        }),
      incrBy: (key, amount, ttlMs) =>
        Effect.flatten(
          withNow((now): Effect.Effect<number, BackendFailure> => {
            const entry = live(key, now)
            const current = entry === undefined ? 0n : parseRedisInteger(entry.found.value)
            if (current === undefined) return Effect.fail({ reason: "Command", detail: NOT_AN_INTEGER })
            const next = incrementBy(current, amount)
            if (typeof next === "string") return Effect.fail({ reason: "Command", detail: next })
            // An existing key keeps its ttl, as INCRBY does.
            store.set(
              key,
              entryOf(String(next), entry === undefined ? expiresAt(now, ttlMs) : entry.expiresAt),
            )
            return Effect.succeed(Number(next))
          }),
        ),
      deletePattern: deleteMatching,
      countPattern: countMatching,
      flushAll: Effect.sync(() => store.clear()),
      ping: Effect.succeed(true),
      setIfAbsent: (key, value, ttlMs) =>
        withNow((now) => {
          if (live(key, now) !== undefined) return false
          store.set(key, entryOf(value, expiresAt(now, ttlMs)))
          return true
        }),
      deleteIfEquals: (key, value) =>
        withNow((now) => live(key, now)?.found.value === value && store.delete(key)),
    }
    return makeCache(backend, { ...options, name: options.name ?? "memory" })
  })

/**
 * The in-memory Cache as a Layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache, MemoryCache } from "effect-provider-cache"
 *
 * const program = Effect.flatMap(Cache, (cache) => cache.increment("visits"))
 * Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer({ keyPrefix: "app:" }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryCacheOptions = {}): Layer.Layer<Cache> =>
  Layer.scoped(Cache, make(options))
