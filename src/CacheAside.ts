/**
 * Cache-aside: read the cache, on a miss run the lookup and store its result. Fail-open (a cache failure
 * falls back to the lookup), single-flight (concurrent misses for one key in this process run the lookup
 * once), with hit/miss/error statistics per namespace.
 *
 * @since 0.1.0
 */
import {
  Context,
  Deferred,
  type Duration,
  Effect,
  Layer,
  Option,
  type ParseResult,
  Schema,
  type Scope,
} from "effect"
import { Cache, type CacheError } from "./Cache.js"
import * as CacheStats from "./CacheStats.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"

/**
 * What `getOrLoad` reads and stores: key, Schema, ttl and the statistics namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAsideOptions<A, I> {
  /** The cache key (under the Cache's key prefix). */
  readonly key: string
  /** How the value is stored: encoded with this Schema to JSON, decoded (and validated) on the way back. */
  readonly schema: Schema.Schema<A, I>
  /**
   * How long to keep the value; a function can decide per value, and `Option.none()` means "do not cache
   * this one" (e.g. a token about to expire).
   */
  readonly ttl: Duration.DurationInput | ((value: A) => Option.Option<Duration.DurationInput>)
  /** The statistics namespace. Default `"default"`. */
  readonly namespace?: string | undefined
}

interface InFlight {
  readonly deferred: Deferred.Deferred<unknown, unknown>
  /** Set by `invalidate` while the lookup runs: its result must not be stored. */
  invalidated: boolean
}

/**
 * The operations of `CacheAside`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheAsideService {
  /** The cached value, or the lookup's (stored for next time). Fails only as the lookup fails. */
  readonly getOrLoad: <A, I, E, R>(
    options: CacheAsideOptions<A, I>,
    lookup: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>
  /**
   * Removes a cached value, and keeps a lookup already running for the key from storing what it read
   * before the change. Fail-open: `false` if the cache failed (the entry then expires with its ttl).
   */
  readonly invalidate: (key: string, namespace?: string) => Effect.Effect<boolean>
}

/**
 * Builds the service over the `Cache` in context; its in-flight lookups live in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<CacheAsideService, never, Cache | Scope.Scope> = Effect.gen(function* () {
  const cache = yield* Cache
  const scope = yield* Effect.scope
  const inFlight = new Map<string, InFlight>()
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

  const read = <A, I>(options: CacheAsideOptions<A, I>, namespace: string) =>
    cache.getJson(options.key).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (json) => Effect.map(Schema.decodeUnknown(options.schema)(json), Option.some),
        }),
      ),
      Effect.catchAll((error) =>
        Effect.as(failedOpen(namespace, options.key, "read", error), Option.none<A>()),
      ),
    )

  const store = <A, I>(options: CacheAsideOptions<A, I>, namespace: string, value: A) => {
    const ttl = typeof options.ttl === "function" ? options.ttl(value) : Option.some(options.ttl)
    if (Option.isNone(ttl)) return Effect.void
    return Schema.encode(options.schema)(value).pipe(
      Effect.flatMap((encoded) => cache.setJson(options.key, encoded, { ttl: ttl.value })),
      Effect.catchAll((error) => failedOpen(namespace, options.key, "store", error)),
    )
  }

  const load = <A, I, E, R>(
    options: CacheAsideOptions<A, I>,
    namespace: string,
    lookup: Effect.Effect<A, E, R>,
    flight: InFlight,
  ): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const cached = yield* read(options, namespace)
      if (Option.isSome(cached)) {
        yield* CacheStats.record(namespace, "hit")
        return cached.value
      }
      yield* CacheStats.record(namespace, "miss")
      const value = yield* lookup
      if (!flight.invalidated) yield* store(options, namespace, value)
      return value
    })

  // Checking the map and registering a flight happen in one synchronous step, so two fibers can never both
  // become the loader of a key.
  const getOrLoad = <A, I, E, R>(options: CacheAsideOptions<A, I>, lookup: Effect.Effect<A, E, R>) =>
    Effect.fiberIdWith((fiberId): Effect.Effect<A, E, R> => {
      const namespace = options.namespace ?? "default"
      const running = inFlight.get(options.key)
      if (running !== undefined) {
        // Same key, same value type: the caller's Schema says so.
        return Deferred.await(running.deferred as Deferred.Deferred<A, E>)
      }
      const flight: InFlight = { deferred: Deferred.unsafeMake(fiberId), invalidated: false }
      inFlight.set(options.key, flight)
      // The load runs in the service's scope, so interrupting one waiter (even the first) never strands the
      // others; it inherits the caller's context, so the lookup's requirements are the caller's.
      return load(options, namespace, lookup, flight).pipe(
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
      const running = inFlight.get(key)
      if (running !== undefined) {
        running.invalidated = true
        inFlight.delete(key)
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
