/**
 * `@effect/platform`'s `KeyValueStore` on a `Cache`: code written against Effect's store runs on
 * `MemoryCache` or `RedisCache`, with their fail-fast behaviour. Import it from
 * `effect-provider-cache/key-value-store`; it needs the optional peer `@effect/platform`.
 *
 * @since 0.1.0
 */
import * as PlatformError from "@effect/platform/Error"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { Effect, Layer } from "effect"
import { Cache, type CacheError } from "./Cache.js"
import { escapeGlob } from "./internal/glob.js"

/**
 * Options of `CacheKeyValueStore.layer` / `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheKeyValueStoreOptions {
  /**
   * Prepended to every key of the store, after the Cache's own `keyPrefix`. `clear` and `size` cover only
   * the keys under it. Default: none, so the store is the whole Cache and `clear` is `Cache.flush`.
   */
  readonly prefix?: string | undefined
}

/**
 * A `CacheError` as the `PlatformError` a `KeyValueStore` fails with: `InvalidArgument` (e.g. a key that
 * is not well-formed UTF-16) is a `BadArgument`; the others a `SystemError` (`Timeout` → `TimedOut`,
 * `Serialization` → `InvalidData`, `Connection` and `Command` → `Unknown`). The `CacheError` is the
 * `cause`, so its `reason` stays available.
 *
 * @since 0.1.0
 * @category errors
 */
export const toPlatformError = (method: string, error: CacheError): PlatformError.PlatformError =>
  error.reason === "InvalidArgument"
    ? new PlatformError.BadArgument({
        module: "KeyValueStore",
        method,
        description: error.message,
        cause: error,
      })
    : new PlatformError.SystemError({
        reason:
          error.reason === "Timeout"
            ? "TimedOut"
            : error.reason === "Serialization"
              ? "InvalidData"
              : "Unknown",
        module: "KeyValueStore",
        method,
        description: error.message,
        cause: error,
      })

/**
 * A `KeyValueStore` over the `Cache` in the context. Strings are stored as they are; a `Uint8Array` is
 * stored as base64 and read back by `getUint8Array` (as `KeyValueStore.makeStringOnly` does). Entries never
 * expire: the store has no ttl (use `Cache` or `CachePersistence` for that).
 *
 * @example
 * ```ts
 * import { KeyValueStore } from "@effect/platform"
 * import { Effect } from "effect"
 * import { MemoryCache } from "effect-provider-cache"
 * import { CacheKeyValueStore } from "effect-provider-cache/key-value-store"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* KeyValueStore.KeyValueStore
 *   yield* store.set("greeting", "hello")
 *   return yield* store.get("greeting") // Option.some("hello")
 * })
 *
 * program.pipe(
 *   Effect.provide(CacheKeyValueStore.layer({ prefix: "kv:" })),
 *   Effect.provide(MemoryCache.layer()),
 *   Effect.runPromise,
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: CacheKeyValueStoreOptions = {},
): Effect.Effect<KeyValueStore.KeyValueStore, never, Cache> =>
  Effect.map(Cache, (cache) => {
    const prefix = options.prefix ?? ""
    const key = prefix === "" ? (k: string) => k : (k: string) => prefix + k
    const all = `${escapeGlob(prefix)}*`
    const failAs =
      (method: string) =>
      <A>(self: Effect.Effect<A, CacheError>): Effect.Effect<A, PlatformError.PlatformError> =>
        Effect.mapError(self, (error) => toPlatformError(method, error))
    return KeyValueStore.makeStringOnly({
      get: (k) => failAs("get")(cache.get(key(k))),
      set: (k, value) => failAs("set")(cache.set(key(k), value)),
      remove: (k) => failAs("remove")(Effect.asVoid(cache.delete(key(k)))),
      has: (k) => failAs("has")(cache.exists(key(k))),
      clear: failAs("clear")(prefix === "" ? cache.flush : Effect.asVoid(cache.deletePattern(all))),
      size: failAs("size")(cache.countPattern(all)),
    })
  })

/**
 * The `KeyValueStore` layer over the `Cache` layer you provide.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { CacheKeyValueStore } from "effect-provider-cache/key-value-store"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const KeyValueStoreLive = CacheKeyValueStore.layer({ prefix: "kv:" }).pipe(
 *   Layer.provide(RedisCache.layer({ url: "redis://127.0.0.1:6379" })),
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: CacheKeyValueStoreOptions = {},
): Layer.Layer<KeyValueStore.KeyValueStore, never, Cache> =>
  Layer.effect(KeyValueStore.KeyValueStore, make(options))
