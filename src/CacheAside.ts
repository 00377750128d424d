/**
 * Cache-aside: read the cache, on a miss run the lookup and store its result. Fail-open (a cache failure
 * falls back to the lookup), single-flight (concurrent misses for one key run the lookup once: in this
 * process, or with `singleFlight: "distributed"` across every process sharing the cache), stale-on-error
 * (`grace`, `softTimeout`), refresh ahead of expiry (`eagerRefresh`), with hit/miss/error statistics per
 * namespace.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  FiberId,
  Layer,
  Option,
  type ParseResult,
  Predicate,
  Schema,
  type Scope,
} from "effect"
import { Cache, type CacheError } from "./Cache.js"
import * as CacheStats from "./CacheStats.js"
import { isEnvelope, makeEnvelope } from "./internal/asideEnvelope.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"

/**
 * What `getOrLoad` reads and stores: key, Schema, ttl, the statistics namespace, and how it behaves when
 * the lookup is slow or failing and when many callers miss at once.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import type { CacheAsideOptions } from "effect-provider-cache"
 *
 * const Quote = Schema.Struct({ symbol: Schema.String, price: Schema.Number })
 * const options: CacheAsideOptions<typeof Quote.Type, typeof Quote.Encoded> = {
 *   key: "quote:AAPL",
 *   schema: Quote,
 *   ttl: "1 minute", // fresh for a minute
 *   grace: "10 minutes", // then, while the source fails, the last value for up to 10 more
 *   softTimeout: "200 millis", // a refresh slower than this answers with the last value
 *   eagerRefresh: 0.8, // a hit after 48 s refreshes in the background
 *   singleFlight: "distributed", // one lookup per key across every instance
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAsideOptions<A, I, E = unknown> {
  /** The cache key (under the Cache's key prefix). */
  readonly key: string
  /** How the value is stored: encoded with this Schema to JSON, decoded (and validated) on the way back. */
  readonly schema: Schema.Schema<A, I>
  /**
   * How long the value is fresh; a function can decide per value, and `Option.none()` means "do not cache
   * this one" (e.g. a token about to expire). `Duration.infinity`: never stale (then `grace` and
   * `eagerRefresh` do nothing for that value).
   */
  readonly ttl: Duration.DurationInput | ((value: A) => Option.Option<Duration.DurationInput>)
  /** The statistics namespace. Default `"default"`. */
  readonly namespace?: string | undefined
  /**
   * How long past its `ttl` a value is kept as a fallback. Default: none (behaviour as without this option:
   * the entry is gone at `ttl`). With a grace, the entry is stored for `ttl + grace`; a read after `ttl`
   * runs the lookup again (single-flight, as a miss does), and if the lookup **fails** (a typed failure;
   * defects and interruptions are not hidden) or is slower than `softTimeout`, the stale value is returned
   * and the failure logged (one warning per 5 s, with a `suppressed` count). Past `ttl + grace` the entry
   * is gone and a failing lookup fails the call. `invalidate` is not subject to grace: it deletes the
   * entry, stale copy included, and a lookup that fails after an `invalidate` of its key fails the call.
   *
   * Stored as an envelope `{"__cacheAside":1,"at":…,"exp":…,"v":…}` (write time and logical expiry in
   * epoch ms of the writer's clock, so instances' clocks should agree to well within `ttl`). Entries
   * written without an envelope (no grace, or before this option existed) are read as fresh until they
   * expire.
   */
  readonly grace?: Duration.DurationInput | undefined
  /**
   * Which lookup failures the stale value may answer for, within `grace`. Default: every typed failure. A
   * failure that says the value is gone for good (not found, revoked, forbidden) should return `false`, so
   * it reaches the caller instead of a value that no longer exists. Ignored without `grace`.
   */
  // Method syntax: options typed with the default `E` stay assignable wherever a specific `E` is expected.
  serveStaleOn?(error: E): boolean
  /**
   * With a stale value in hand (inside its `grace`), how long a caller waits for the lookup before it is
   * answered with the stale value; the lookup then finishes in the background (in the service's scope) and
   * stores its result. Default: none (the caller waits for the lookup, and gets the stale value only if it
   * fails). Ignored without `grace`, and on a miss (no stale value: the caller waits for the lookup).
   */
  readonly softTimeout?: Duration.DurationInput | undefined
  /**
   * A fraction of `ttl`, strictly between 0 and 1 (anything else is a defect). A hit on a value older than
   * `eagerRefresh × ttl` returns that value at once and starts one background refresh (single-flight with
   * every other lookup of the key, in this process or, with `singleFlight: "distributed"`, in the fleet),
   * so a hot key is refreshed before it expires and no caller waits. Default: none. Works with or without
   * `grace` (it stores the envelope described there); a failed refresh is logged and the current value
   * stays until its `ttl` (plus `grace`).
   */
  readonly eagerRefresh?: number | undefined
  /**
   * `"process"` (default): concurrent misses for one key in this process run the lookup once.
   * `"distributed"`: once across every process sharing the cache, through a lease lock: `SET NX PX` of
   * `leaseKey(key)` with a random token for `lease`, released with compare-and-delete (so a holder whose
   * lease lapsed cannot release the next holder's). The other processes poll the cache (10 ms, doubling up
   * to 50 ms) for the holder's value, and take the lease over when it is released without a value (the
   * holder's lookup failed or declined to cache) or lapses (the holder died). A waiter that has seen no
   * value within one `lease` runs the lookup itself, so no caller waits longer than `lease` plus the
   * lookup's own time. If the cache fails (Redis down), it falls back to in-process single-flight: a
   * warning, never an error.
   */
  readonly singleFlight?: "process" | "distributed" | undefined
  /**
   * With `singleFlight: "distributed"`, how long a lease lasts, and so the longest a waiter waits for
   * another process's lookup before running its own. Choose it longer than the lookup's own timeout: a
   * lookup that outlives its lease may run again elsewhere (twice, never wrongly: each stores what it
   * read). Default 5 seconds. Ignored with `"process"`.
   */
  readonly lease?: Duration.DurationInput | undefined
}

/**
 * The key of the lease lock `singleFlight: "distributed"` takes for `key` (under the Cache's key prefix).
 *
 * @example
 * ```ts
 * import { leaseKey } from "effect-provider-cache"
 *
 * leaseKey("account:1") // "lease:account:1"
 * ```
 *
 * @since 0.2.0
 * @category keys
 */
export const leaseKey = (key: string): string => `lease:${key}`

const DEFAULT_LEASE_MS = 5_000
const FIRST_POLL_MS = 10
const MAX_POLL_MS = 50

/** A decoded entry: `exp` and `at` are known only for values stored in an envelope. */
interface Entry<A> {
  readonly value: A
  readonly at: number | undefined
  readonly exp: number | undefined
}

interface Flight {
  readonly deferred: Deferred.Deferred<unknown, unknown>
  /** Set by `invalidate` while the flight runs: its result must not be stored, nor a stale value served. */
  invalidated: boolean
}

const newFlight = (): Flight => ({ deferred: Deferred.unsafeMake(FiberId.none), invalidated: false })

/** The parsed timing options of one call. */
interface Timing {
  readonly graceMs: number | undefined
  readonly softTimeout: Duration.Duration | undefined
  readonly eagerRefresh: number | undefined
  readonly leaseMs: number
  readonly distributed: boolean
  /** Whether values are stored in an envelope (their write time and logical expiry are needed). */
  readonly envelope: boolean
}

const timingOf = <A, I>(options: CacheAsideOptions<A, I>): Timing => {
  const graceMs = options.grace === undefined ? undefined : Duration.toMillis(Duration.decode(options.grace))
  if (graceMs !== undefined && !(graceMs >= 0)) throw new Error("CacheAside: grace must not be negative")
  const eagerRefresh = options.eagerRefresh
  if (eagerRefresh !== undefined && !(eagerRefresh > 0 && eagerRefresh < 1)) {
    throw new Error(`CacheAside: eagerRefresh must be strictly between 0 and 1, got ${eagerRefresh}`)
  }
  const leaseMs =
    options.lease === undefined ? DEFAULT_LEASE_MS : Duration.toMillis(Duration.decode(options.lease))
  if (!(leaseMs >= 1 && Number.isFinite(leaseMs)))
    throw new Error("CacheAside: lease must be finite and at least 1 ms")
  return {
    graceMs,
    softTimeout:
      options.softTimeout === undefined || graceMs === undefined
        ? undefined
        : Duration.decode(options.softTimeout),
    eagerRefresh,
    leaseMs: Math.ceil(leaseMs),
    distributed: options.singleFlight === "distributed",
    envelope: graceMs !== undefined || eagerRefresh !== undefined,
  }
}

/** Fresh: before its logical expiry (an entry without one is fresh for as long as it exists). */
const isFresh = (entry: Entry<unknown>, now: number) => entry.exp === undefined || now <= entry.exp

/** Past the point where a hit starts a background refresh. */
const isDueForRefresh = (entry: Entry<unknown>, timing: Timing, now: number) =>
  timing.eagerRefresh !== undefined &&
  entry.at !== undefined &&
  entry.exp !== undefined &&
  now >= entry.at + timing.eagerRefresh * (entry.exp - entry.at)

/**
 * The operations of `CacheAside`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAsideService {
  /**
   * The cached value, or the lookup's (stored for next time); within `grace`, the stale value when the
   * lookup fails or is slower than `softTimeout`. Fails only as the lookup fails.
   */
  readonly getOrLoad: <A, I, E, R>(
    options: CacheAsideOptions<A, I, NoInfer<E>>,
    lookup: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>
  /**
   * Removes a cached value (its stale copy too: invalidation is not subject to `grace`), and keeps a lookup
   * already running for the key from storing what it read before the change. Fail-open: `false` if the
   * cache failed (the entry then expires with its ttl, plus its grace).
   */
  readonly invalidate: (key: string, namespace?: string) => Effect.Effect<boolean>
}

/**
 * Builds the service over the `Cache` in context; its in-flight and background lookups live in the current
 * scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CacheAsideService, never, Cache | Scope.Scope> = Effect.gen(function* () {
  const cache = yield* Cache
  const scope = yield* Effect.scope
  /** A getOrLoad per key: the read, the decision, and the wait for a lookup. */
  const inFlight = new Map<string, Flight>()
  /** A lookup (and its store) per key; it may outlive the getOrLoad that started it (softTimeout, refresh). */
  const lookups = new Map<string, Flight>()
  const failOpenLog = makeFailOpenLog()

  const failedOpen = (
    namespace: string,
    key: string,
    operation: string,
    error: CacheError | ParseResult.ParseError,
  ) =>
    Effect.zipRight(
      CacheStats.record(namespace, "error"),
      failOpenLog.warn(
        operation,
        Effect.logWarning(`CacheAside.${operation} failed open`).pipe(
          Effect.annotateLogs({
            namespace,
            key,
            reason:
              error._tag === "CacheError"
                ? `${error.reason}: ${error.message}`
                : "cached entry does not decode",
          }),
        ),
      ),
    )

  // Only the failure's tag is logged: a lookup's error may carry what must not reach a log.
  const lookupFailed = (namespace: string, key: string, error: unknown, message: string) =>
    failOpenLog.warn(
      "lookup",
      Effect.logWarning(message).pipe(
        Effect.annotateLogs({
          namespace,
          key,
          failure: Predicate.hasProperty(error, "_tag") ? String(error._tag) : "lookup failed",
        }),
      ),
    )

  const read = <A, I>(options: CacheAsideOptions<A, I>, namespace: string) =>
    cache.getJson(options.key).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (json) =>
            isEnvelope(json)
              ? Effect.map(
                  Schema.decodeUnknown(options.schema)(json.v),
                  (value): Option.Option<Entry<A>> => Option.some({ value, at: json.at, exp: json.exp }),
                )
              : Effect.map(
                  Schema.decodeUnknown(options.schema)(json),
                  (value): Option.Option<Entry<A>> => Option.some({ value, at: undefined, exp: undefined }),
                ),
        }),
      ),
      Effect.catchAll((error) =>
        Effect.as(failedOpen(namespace, options.key, "read", error), Option.none<Entry<A>>()),
      ),
    )

  const store = <A, I>(options: CacheAsideOptions<A, I>, timing: Timing, namespace: string, value: A) => {
    const ttl = typeof options.ttl === "function" ? options.ttl(value) : Option.some(options.ttl)
    if (Option.isNone(ttl)) return Effect.void
    return Effect.gen(function* () {
      const encoded = yield* Schema.encode(options.schema)(value)
      const ttlMs = Duration.toMillis(Duration.decode(ttl.value))
      if (!timing.envelope || !Number.isFinite(ttlMs)) {
        return yield* cache.setJson(options.key, encoded, { ttl: ttl.value })
      }
      const now = yield* Clock.currentTimeMillis
      const envelope = makeEnvelope(now, now + ttlMs, encoded)
      yield* cache.setJson(options.key, envelope, { ttl: ttlMs + (timing.graceMs ?? 0) })
    }).pipe(Effect.catchAll((error) => failedOpen(namespace, options.key, "store", error)))
  }

  /** The lookup, then the store unless the key was invalidated meanwhile. */
  const lookupAndStore = <A, I, E, R>(
    options: CacheAsideOptions<A, I>,
    timing: Timing,
    namespace: string,
    lookup: Effect.Effect<A, E, R>,
    flight: Flight,
  ) =>
    Effect.tap(lookup, (value) =>
      flight.invalidated ? Effect.void : store(options, timing, namespace, value),
    )

  /** A value another caller stored that this one may use instead of looking up. */
  const readCurrent = <A, I>(options: CacheAsideOptions<A, I>, timing: Timing, namespace: string) =>
    Effect.flatMap(read(options, namespace), (entry) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        entry.pipe(
          Option.filter((e) => isFresh(e, now) && !isDueForRefresh(e, timing, now)),
          Option.map((e) => e.value),
        ),
      ),
    )

  /**
   * One lookup per key across every process sharing the cache. Whoever takes the lease looks up (after
   * checking once more that nobody stored a value meanwhile) and releases it; the others poll for the
   * value, and take the lease when it is free again. Fail-open: a cache failure means a local lookup.
   */
  const distributedLookup = <A, I, E, R>(
    options: CacheAsideOptions<A, I>,
    timing: Timing,
    namespace: string,
    lookup: Effect.Effect<A, E, R>,
    flight: Flight,
  ): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const lease = leaseKey(options.key)
      const token = randomUUID()
      const local = lookupAndStore(options, timing, namespace, lookup, flight)
      const release = cache
        .deleteIfEquals(lease, token)
        .pipe(Effect.catchAll((error) => failedOpen(namespace, options.key, "release", error)))
      const giveUpAt = (yield* Clock.currentTimeMillis) + timing.leaseMs
      let pollMs = FIRST_POLL_MS
      while (true) {
        const acquired = yield* Effect.either(cache.setIfAbsent(lease, token, { ttl: timing.leaseMs }))
        if (Either.isLeft(acquired)) {
          yield* failedOpen(namespace, options.key, "lease", acquired.left)
          return yield* local
        }
        if (acquired.right) {
          return yield* Effect.ensuring(
            Effect.flatMap(
              readCurrent(options, timing, namespace),
              Option.match({ onSome: Effect.succeed, onNone: () => local }),
            ),
            release,
          )
        }
        if ((yield* Clock.currentTimeMillis) >= giveUpAt) return yield* local
        yield* Effect.sleep(Duration.millis(pollMs))
        pollMs = Math.min(pollMs * 2, MAX_POLL_MS)
        const current = yield* readCurrent(options, timing, namespace)
        if (Option.isSome(current)) return current.value
      }
    })

  /** The running lookup of the key, or a new one forked in the service's scope. */
  const startLookup = <A, I, E, R>(
    options: CacheAsideOptions<A, I>,
    timing: Timing,
    namespace: string,
    lookup: Effect.Effect<A, E, R>,
  ): Effect.Effect<Deferred.Deferred<A, E>, never, R> =>
    Effect.suspend(() => {
      const running = lookups.get(options.key)
      // Same key, same value type: the caller's Schema says so.
      if (running !== undefined) return Effect.succeed(running.deferred as Deferred.Deferred<A, E>)
      const flight = newFlight()
      lookups.set(options.key, flight)
      const deferred = flight.deferred as Deferred.Deferred<A, E>
      const run = timing.distributed
        ? distributedLookup(options, timing, namespace, lookup, flight)
        : lookupAndStore(options, timing, namespace, lookup, flight)
      return run.pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.zipRight(
            Effect.sync(() => {
              if (lookups.get(options.key) === flight) lookups.delete(options.key)
            }),
            Deferred.done(deferred, exit),
          ),
        ),
        Effect.forkIn(scope),
        Effect.as(deferred),
      )
    })

  const answer = <A, I, E, R>(
    options: CacheAsideOptions<A, I, E>,
    timing: Timing,
    namespace: string,
    lookup: Effect.Effect<A, E, R>,
    flight: Flight,
  ): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const cached = yield* read(options, namespace)
      const now = yield* Clock.currentTimeMillis
      if (Option.isSome(cached) && isFresh(cached.value, now)) {
        yield* CacheStats.record(namespace, "hit")
        if (isDueForRefresh(cached.value, timing, now)) {
          const refresh = yield* startLookup(options, timing, namespace, lookup)
          // A failed refresh is the next caller's to retry; the value in hand is still fresh.
          yield* Deferred.await(refresh).pipe(
            Effect.catchAll((error) =>
              lookupFailed(
                namespace,
                options.key,
                error,
                "CacheAside refresh failed; the current value stays",
              ),
            ),
            Effect.forkIn(scope),
          )
        }
        return cached.value.value
      }
      yield* CacheStats.record(namespace, "miss")
      const running = yield* startLookup(options, timing, namespace, lookup)
      if (Option.isNone(cached)) return yield* Deferred.await(running)
      // Stale, within its grace.
      const stale = cached.value.value
      const outcome = yield* Deferred.await(running).pipe(
        Effect.either,
        timing.softTimeout === undefined ? Effect.asSome : Effect.timeoutOption(timing.softTimeout),
      )
      if (Option.isNone(outcome)) return stale
      if (Either.isRight(outcome.value)) return outcome.value.right
      // A revoked entry is never served: invalidate counts even against a stale copy read before it.
      const error = outcome.value.left
      if (flight.invalidated || options.serveStaleOn?.(error) === false) return yield* Effect.fail(error)
      yield* lookupFailed(
        namespace,
        options.key,
        error,
        "CacheAside lookup failed; served the stale value within its grace",
      )
      return stale
    })

  // Checking the map and registering a flight happen in one synchronous step, so two fibers can never both
  // become the reader of a key.
  const getOrLoad = <A, I, E, R>(options: CacheAsideOptions<A, I, E>, lookup: Effect.Effect<A, E, R>) =>
    Effect.suspend((): Effect.Effect<A, E, R> => {
      const running = inFlight.get(options.key)
      if (running !== undefined) return Deferred.await(running.deferred as Deferred.Deferred<A, E>)
      const timing = timingOf(options)
      const namespace = options.namespace ?? "default"
      const flight = newFlight()
      inFlight.set(options.key, flight)
      // The flight runs in the service's scope, so interrupting one waiter (even the first) never strands
      // the others; it inherits the caller's context, so the lookup's requirements are the caller's.
      return answer(options, timing, namespace, lookup, flight).pipe(
        Effect.exit,
        Effect.tap((exit) =>
          Effect.sync(() => {
            if (inFlight.get(options.key) === flight) inFlight.delete(options.key)
          }).pipe(Effect.zipRight(Deferred.done(flight.deferred as Deferred.Deferred<A, E>, exit))),
        ),
        Effect.forkIn(scope),
        Effect.flatMap(() => Deferred.await(flight.deferred as Deferred.Deferred<A, E>)),
      )
    })

  const invalidate = (key: string, namespace = "default") =>
    Effect.suspend(() => {
      for (const flights of [inFlight, lookups]) {
        const running = flights.get(key)
        if (running !== undefined) {
          running.invalidated = true
          flights.delete(key)
        }
      }
      return cache
        .delete(key)
        .pipe(Effect.catchAll((error) => Effect.as(failedOpen(namespace, key, "invalidate", error), false)))
    })

  return { getOrLoad, invalidate }
})

/**
 * The cache-aside service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CacheAside } from "effect-provider-cache"
 *
 * const getUser = (id: string) =>
 *   Effect.flatMap(CacheAside, (aside) =>
 *     aside.getOrLoad({ key: `user:${id}`, schema: User, ttl: "5 minutes", namespace: "user" }, repository.find(id))
 *   )
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheAside extends Context.Tag("effect-provider-cache/CacheAside")<
  CacheAside,
  CacheAsideService
>() {
  /** Over the `Cache` in context. */
  static readonly layer: Layer.Layer<CacheAside, never, Cache> = Layer.scoped(this, make)
}
