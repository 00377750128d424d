/**
 * `@effect/experimental`'s `BackingPersistence` on a `Cache`, so `PersistedCache`, `ResultPersistence` and
 * everything else built on Effect's Persistence run on `MemoryCache` or `RedisCache`: with their fail-fast
 * behaviour, Redis Cluster support, and a `CacheError` as the cause of every `PersistenceBackingError`.
 * Import it from `effect-provider-cache/persistence`; it needs the optional peers `@effect/experimental`
 * and `@effect/platform`.
 *
 * @since 0.1.0
 */
import * as Persistence from "@effect/experimental/Persistence"
import { Duration, Effect, Either, Layer, Option } from "effect"
import { Cache, CacheError, type SetManyEntry } from "./Cache.js"
import { decodeJson, encodeJson } from "./internal/arguments.js"
import { escapeGlob } from "./internal/glob.js"

/**
 * Options of `CachePersistence.layer` / `layerResult` / `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CachePersistenceOptions {
  /**
   * Prepended to every key, after the Cache's own `keyPrefix`. A store's entries live under
   * `{prefix}{storeId}:`, and its `clear` deletes only those. Default: none.
   */
  readonly prefix?: string | undefined
}

const backingError = (method: string) => (error: CacheError) =>
  Persistence.PersistenceBackingError.make(method, error)

const serialization = (operation: string, key: string, detail: string) =>
  new CacheError({ reason: "Serialization", operation, key, detail })

/** A positive ttl, or undefined for "already expired" (Persistence's memory store expires those at once). */
const positive = (ttl: Duration.Duration): Duration.Duration | undefined =>
  Duration.greaterThan(ttl, Duration.zero) ? ttl : undefined

/**
 * A `BackingPersistence` over the `Cache` in the context. Values are stored as JSON (what
 * `ResultPersistence` hands a backing store is the Schema-encoded form, so JSON holds it); a value JSON
 * cannot represent fails with a `Serialization` cause and writes nothing. A ttl becomes the Cache entry's
 * ttl, so Redis expires entries itself; `setMany` writes entries of one ttl in one step (`Cache.setMany`
 * with per-entry ttls). A zero ttl removes the entry, as Persistence's own stores treat it as expired.
 *
 * @example
 * ```ts
 * import { Persistence } from "@effect/experimental"
 * import { Duration, Effect, Option } from "effect"
 * import { MemoryCache } from "effect-provider-cache"
 * import { CachePersistence } from "effect-provider-cache/persistence"
 *
 * const program = Effect.gen(function* () {
 *   const backing = yield* Persistence.BackingPersistence
 *   const store = yield* backing.make("quotes")
 *   yield* store.set("AAPL", { price: 189.3 }, Option.some(Duration.seconds(15)))
 *   return yield* store.get("AAPL") // Option.some({ price: 189.3 })
 * })
 *
 * program.pipe(
 *   Effect.scoped,
 *   Effect.provide(CachePersistence.layer({ prefix: "persisted:" })),
 *   Effect.provide(MemoryCache.layer()),
 *   Effect.runPromise,
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: CachePersistenceOptions = {},
): Effect.Effect<Persistence.BackingPersistence, never, Cache> =>
  Effect.map(Cache, (cache) =>
    Persistence.BackingPersistence.of({
      [Persistence.BackingPersistenceTypeId]: Persistence.BackingPersistenceTypeId,
      make: (storeId) =>
        Effect.sync(() => {
          const storePrefix = `${options.prefix ?? ""}${storeId}:`
          const cacheKey = (key: string) => storePrefix + key

          const decode = (
            method: string,
            key: string,
            found: Option.Option<string>,
          ): Effect.Effect<Option.Option<unknown>, Persistence.PersistenceError> => {
            if (Option.isNone(found)) return Effect.succeed(Option.none<unknown>())
            const parsed = decodeJson(found.value)
            return Either.isRight(parsed)
              ? Effect.succeed(Option.some(parsed.right))
              : Effect.fail(
                  Persistence.PersistenceBackingError.make(method, serialization(method, key, parsed.left)),
                )
          }

          const encode = (
            method: string,
            key: string,
            value: unknown,
          ): Effect.Effect<string, Persistence.PersistenceError> => {
            const json = encodeJson(value)
            return Either.isRight(json)
              ? Effect.succeed(json.right)
              : Effect.fail(
                  Persistence.PersistenceBackingError.make(method, serialization(method, key, json.left)),
                )
          }

          const remove = (key: string) =>
            Effect.asVoid(Effect.mapError(cache.delete(cacheKey(key)), backingError("remove")))

          const store: Persistence.BackingPersistenceStore = {
            get: (key) =>
              cache.get(cacheKey(key)).pipe(
                Effect.mapError(backingError("get")),
                Effect.flatMap((found) => decode("get", key, found)),
              ),
            getMany: (keys) =>
              cache.getMany(keys.map(cacheKey)).pipe(
                Effect.mapError(backingError("getMany")),
                Effect.flatMap((found) =>
                  Effect.forEach(keys, (key) =>
                    decode("getMany", key, found.get(cacheKey(key)) ?? Option.none()),
                  ),
                ),
              ),
            set: (key, value, ttl) => {
              const live = Option.map(ttl, positive)
              if (Option.isSome(live) && live.value === undefined) return remove(key)
              return encode("set", key, value).pipe(
                Effect.flatMap((json) =>
                  Effect.mapError(
                    cache.set(cacheKey(key), json, { ttl: Option.getOrUndefined(live) }),
                    backingError("set"),
                  ),
                ),
              )
            },
            setMany: (entries) =>
              Effect.suspend(() => {
                const writes: Array<SetManyEntry> = []
                const expired: Array<string> = []
                for (const [key, value, ttl] of entries) {
                  const live = Option.map(ttl, positive)
                  if (Option.isSome(live) && live.value === undefined) {
                    expired.push(key)
                    continue
                  }
                  const json = encodeJson(value)
                  if (Either.isLeft(json)) {
                    return Effect.fail(
                      Persistence.PersistenceBackingError.make(
                        "setMany",
                        serialization("setMany", key, json.left),
                      ),
                    )
                  }
                  // No ttl is stated as infinity: an entry's own options replace the call's.
                  writes.push([
                    cacheKey(key),
                    json.right,
                    { ttl: Option.getOrElse(live, () => Duration.infinity) },
                  ])
                }
                return Effect.zipRight(
                  Effect.mapError(cache.setMany(writes), backingError("setMany")),
                  Effect.forEach(expired, remove, { discard: true }),
                )
              }),
            remove,
            clear: Effect.asVoid(
              Effect.mapError(cache.deletePattern(`${escapeGlob(storePrefix)}*`), backingError("clear")),
            ),
          }
          return store
        }),
    }),
  )

/**
 * `BackingPersistence` over the `Cache` layer you provide.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: CachePersistenceOptions = {},
): Layer.Layer<Persistence.BackingPersistence, never, Cache> =>
  Layer.effect(Persistence.BackingPersistence, make(options))

/**
 * `ResultPersistence` (what `PersistedCache` needs) over the `Cache` layer you provide.
 *
 * @example
 * ```ts
 * import { PersistedCache } from "@effect/experimental"
 * import { Effect, Layer, PrimaryKey, Schema } from "effect"
 * import { CachePersistence } from "effect-provider-cache/persistence"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * class GetQuote extends Schema.TaggedRequest<GetQuote>()("GetQuote", {
 *   failure: Schema.String,
 *   success: Schema.Struct({ price: Schema.Number }),
 *   payload: { symbol: Schema.String },
 * }) {
 *   [PrimaryKey.symbol]() {
 *     return this.symbol
 *   }
 * }
 *
 * const program = Effect.gen(function* () {
 *   const quotes = yield* PersistedCache.make({
 *     storeId: "quotes",
 *     lookup: (request: GetQuote) => Effect.succeed({ price: 189.3 }),
 *     timeToLive: () => "15 seconds",
 *   })
 *   return yield* quotes.get(new GetQuote({ symbol: "AAPL" }))
 * })
 *
 * const Live = CachePersistence.layerResult().pipe(Layer.provide(RedisCache.layer()))
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Live)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerResult = (
  options: CachePersistenceOptions = {},
): Layer.Layer<Persistence.ResultPersistence, never, Cache> =>
  Persistence.layerResult.pipe(Layer.provide(layer(options)))
