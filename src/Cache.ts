/**
 * The generic cache service: one interface, implemented by `MemoryCache` and `RedisCache`, with Redis's
 * semantics (TTL at millisecond precision, INCRBY, glob MATCH) in both.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Option } from "effect"
import { Context, Schema } from "effect"

/**
 * Why a cache operation failed. Branch on this, never on the message.
 *
 * - `Connection`: the backend is unreachable, refused the connection (the detail carries Redis's reason:
 *   `WRONGPASS`, `max number of clients reached`, `READONLY`, …), the connection dropped, too many commands
 *   are waiting for replies, or the circuit breaker is open. When the connection dropped while a write
 *   waited for its reply, the write may have been applied (the detail says so); otherwise nothing was sent.
 * - `Timeout`: no answer within the command timeout. **The outcome is unknown**: a write may already have
 *   been applied before its deadline. What is guaranteed is that it is never applied after its deadline:
 *   Redis refuses a write that reaches it late. Retry only what is safe to apply twice, or read back.
 * - `Command`: the backend refused the command (e.g. INCR on a non-integer value).
 * - `Serialization`: a value could not be encoded to or decoded from JSON.
 * - `InvalidArgument`: the caller passed something the cache cannot honour (bad TTL, non-integer amount,
 *   a string that is not well-formed UTF-16). Nothing was written.
 *
 * @since 0.1.0
 */
export const CacheErrorReason = Schema.Literal(
  "Connection",
  "Timeout",
  "Command",
  "Serialization",
  "InvalidArgument",
)

/** @since 0.1.0 */
export type CacheErrorReason = typeof CacheErrorReason.Type

const MAX_KEY_IN_MESSAGE = 120

/**
 * The one error type of every `Cache` operation.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Cache } from "effect-provider-cache"
 *
 * const program = Effect.flatMap(Cache, (cache) => cache.get("user:1")).pipe(
 *   Effect.catchTag("CacheError", (error) =>
 *     error.reason === "Timeout" ? Effect.succeed(Option.none()) : Effect.fail(error)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  reason: CacheErrorReason,
  /** The `Cache` method that failed, e.g. `"getJson"`. */
  operation: Schema.String,
  /** The caller's key (without the key prefix), where the operation has one. */
  key: Schema.optional(Schema.String),
  /** A short human-readable explanation; never contains secrets or values. */
  detail: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect),
}) {
  override get message(): string {
    const key =
      this.key === undefined
        ? ""
        : ` (key ${JSON.stringify(
            this.key.length > MAX_KEY_IN_MESSAGE ? `${this.key.slice(0, MAX_KEY_IN_MESSAGE)}…` : this.key,
          )})`
    return `Cache.${this.operation} failed: ${this.reason}${key}${this.detail === undefined ? "" : `: ${this.detail}`}`
  }
}

/**
 * Options of the write operations. `ttl` must be positive; `Duration.infinity` or no `ttl` means the entry
 * never expires (and, as with Redis `SET`, a write without `ttl` removes an existing expiry).
 *
 * @since 0.1.0
 */
export interface SetOptions {
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * Options of `increment` / `decrement`. `ttl` is applied only when the operation creates the key, in the same
 * atomic step as the increment: the building block of a fixed-window rate limiter.
 *
 * @since 0.1.0
 */
export interface IncrementOptions {
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * The cache service. Every key is a plain string; every failure is a `CacheError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache, MemoryCache } from "effect-provider-cache"
 *
 * const program = Effect.gen(function* () {
 *   const cache = yield* Cache
 *   yield* cache.set("greeting", "hello", { ttl: "30 minutes" })
 *   return yield* cache.get("greeting") // Option.some("hello")
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer())))
 * ```
 *
 * @since 0.1.0
 */
export class Cache extends Context.Tag("effect-provider-cache/Cache")<Cache, Cache.Service>() {}

/** @since 0.1.0 */
export declare namespace Cache {
  /** @since 0.1.0 */
  export interface Service {
    /** Redis `GET`. */
    readonly get: (key: string) => Effect.Effect<Option.Option<string>, CacheError>
    /** `GET` plus `JSON.parse`; a stored JSON `null` is `some(null)`, a miss is `none`. */
    readonly getJson: (key: string) => Effect.Effect<Option.Option<unknown>, CacheError>
    /** Redis `SET key value [PX ms]`. */
    readonly set: (key: string, value: string, options?: SetOptions) => Effect.Effect<void, CacheError>
    /** `JSON.stringify` plus `set`; values JSON cannot represent faithfully fail with `Serialization`. */
    readonly setJson: (key: string, value: unknown, options?: SetOptions) => Effect.Effect<void, CacheError>
    /** Redis `DEL`; `true` if a key was removed. */
    readonly delete: (key: string) => Effect.Effect<boolean, CacheError>
    /** Redis `EXISTS`. */
    readonly exists: (key: string) => Effect.Effect<boolean, CacheError>
    /**
     * Redis `PEXPIRE`; `false` if there is no such key. A non-positive ttl deletes the key, as Redis does;
     * `Duration.infinity` removes the expiry (`PERSIST`).
     */
    readonly expire: (key: string, ttl: Duration.DurationInput) => Effect.Effect<boolean, CacheError>
    /** Redis `PTTL`; `none` when there is no such key or it has no expiry. */
    readonly ttl: (key: string) => Effect.Effect<Option.Option<Duration.Duration>, CacheError>
    /** Redis `INCRBY` (default 1); the result must stay within the safe integer range. */
    readonly increment: (
      key: string,
      amount?: number,
      options?: IncrementOptions,
    ) => Effect.Effect<number, CacheError>
    /** Redis `DECRBY` (default 1). */
    readonly decrement: (
      key: string,
      amount?: number,
      options?: IncrementOptions,
    ) => Effect.Effect<number, CacheError>
    /** Removes every key under the key prefix (`FLUSHDB` when there is no prefix). */
    readonly flush: Effect.Effect<void, CacheError>
    /** Redis `PING`. */
    readonly ping: Effect.Effect<boolean, CacheError>
    /** Deletes the keys matching a Redis glob pattern (`SCAN MATCH` + `UNLINK`); returns how many were deleted. */
    readonly deletePattern: (pattern: string) => Effect.Effect<number, CacheError>
    /** Redis `MGET`; the map has an entry for every requested key. */
    readonly getMany: (
      keys: Iterable<string>,
    ) => Effect.Effect<ReadonlyMap<string, Option.Option<string>>, CacheError>
    /** Writes all entries in one round trip, with `ttl` applied to every key. */
    readonly setMany: (
      entries: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
      options?: SetOptions,
    ) => Effect.Effect<void, CacheError>
  }
}
