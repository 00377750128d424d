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
 * @category errors
 */
export const CacheErrorReason = Schema.Literal(
  "Connection",
  "Timeout",
  "Command",
  "Serialization",
  "InvalidArgument",
)

/**
 * The reasons as a union type.
 *
 * @since 0.1.0
 * @category errors
 */
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
 * @category errors
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
 * @category models
 */
export interface SetOptions {
  readonly ttl?: Duration.DurationInput | undefined
  /**
   * Tags of the entry, for `invalidateTags`. The value and its tags are written in one atomic step. A write
   * replaces the key's tags: a key rewritten without a tag (or without `tags`) leaves that tag. Default:
   * none. At most 1,000 tags per write, each a well-formed string; duplicates count once. On Redis a tagged
   * write is one script call of its own (it bypasses the write batcher); see the README's "Tags" section.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Cache } from "effect-provider-cache"
   *
   * const program = Effect.flatMap(Cache, (cache) =>
   *   cache.set("quote:AAPL", "189.30", { ttl: "1 minute", tags: ["quotes", "exchange:NASDAQ"] })
   * )
   * ```
   *
   * @since 0.2.0
   */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * One entry of `setMany`: a key, its value and, optionally, options of its own. An entry's `ttl` replaces
 * the `ttl` of the call for that key (`Duration.infinity`: no expiry); an entry without one gets the call's.
 *
 * @example
 * ```ts
 * import type { SetManyEntry } from "effect-provider-cache"
 *
 * const entries: ReadonlyArray<SetManyEntry> = [
 *   ["quote:AAPL", "189.30", { ttl: "15 seconds" }],
 *   ["profile:AAPL", "{}"], // the call's ttl, or none
 * ]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type SetManyEntry =
  | readonly [key: string, value: string]
  | readonly [key: string, value: string, options: SetOptions]

/**
 * Options of `increment` / `decrement`. `ttl` is applied only when the operation creates the key, in the same
 * atomic step as the increment: the building block of a fixed-window rate limiter.
 *
 * @since 0.1.0
 * @category models
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
 * @category tags
 */
export class Cache extends Context.Tag("effect-provider-cache/Cache")<Cache, Cache.Service>() {}

/**
 * The types of the `Cache` tag.
 *
 * @since 0.1.0
 * @category models
 */
export declare namespace Cache {
  /**
   * The operations of a `Cache`, with the Redis command each mirrors.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Redis `GET` (concurrent GETs are batched into one `MGET`). */
    readonly get: (key: string) => Effect.Effect<Option.Option<string>, CacheError>
    /** `GET` plus `JSON.parse`; a stored JSON `null` is `some(null)`, a miss is `none`. */
    readonly getJson: (key: string) => Effect.Effect<Option.Option<unknown>, CacheError>
    /**
     * Redis `SET key value [PX ms]`. No ttl or `Duration.infinity`: no expiry, and an existing ttl is
     * removed.
     */
    readonly set: (key: string, value: string, options?: SetOptions) => Effect.Effect<void, CacheError>
    /**
     * `JSON.stringify` plus `set`. Values JSON cannot represent faithfully (BigInt, cycles, functions,
     * symbols, NaN/±Infinity, `undefined` at the top level or in an array) fail with `Serialization`, and
     * nothing is written.
     */
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
    /**
     * Redis `INCRBY` (default 1), starting at 0. Keeps an existing ttl; `ttl` is set atomically only when the
     * key is created. A stored non-integer is `Command`; a non-safe-integer amount is `InvalidArgument`; a
     * result outside ±(2^53−1) is `Command` and nothing changes.
     */
    readonly increment: (
      key: string,
      amount?: number,
      options?: IncrementOptions,
    ) => Effect.Effect<number, CacheError>
    /** Redis `DECRBY` (default 1): `increment` by the negated amount, with the same rules. */
    readonly decrement: (
      key: string,
      amount?: number,
      options?: IncrementOptions,
    ) => Effect.Effect<number, CacheError>
    /** Removes every key under the key prefix (`FLUSHDB` when there is no prefix). */
    readonly flush: Effect.Effect<void, CacheError>
    /** Redis `PING`. */
    readonly ping: Effect.Effect<boolean, CacheError>
    /**
     * Deletes the keys matching a Redis glob pattern (`SCAN MATCH` + `UNLINK` inside Redis, at most 5 ms of
     * Redis time per call, never `KEYS`); returns how many were actually deleted.
     */
    readonly deletePattern: (pattern: string) => Effect.Effect<number, CacheError>
    /**
     * Counts the keys matching a Redis glob pattern (`SCAN MATCH`, counted inside Redis at most 5 ms per
     * call, never `KEYS`), with the same glob semantics as `deletePattern`. The count is of one SCAN pass
     * over a keyspace that may change meanwhile: a key present for the whole scan is counted once; one
     * added or removed meanwhile may or may not be.
     */
    readonly countPattern: (pattern: string) => Effect.Effect<number, CacheError>
    /** Redis `MGET`; the map has an entry for every requested key. No round trip for an empty input. */
    readonly getMany: (
      keys: Iterable<string>,
    ) => Effect.Effect<ReadonlyMap<string, Option.Option<string>>, CacheError>
    /**
     * Writes all entries (`[key, value]` or `[key, value, { ttl }]` pairs, or a record) with the call's
     * `ttl`, or an entry's own. Every argument is checked before anything is written; a later duplicate key
     * wins. Entries that share a ttl are written in one step (one Lua script per 1,000 keys and hash slot
     * on Redis); each distinct ttl is a step of its own, run concurrently, so a batch of mixed ttls that
     * fails part-way may be partly written.
     */
    readonly setMany: (
      entries: Iterable<SetManyEntry> | Readonly<Record<string, string>>,
      options?: SetOptions,
    ) => Effect.Effect<void, CacheError>
    /**
     * Redis `SET key value NX [PX ms]`: writes only when the key does not exist; `true` if it wrote. The
     * building block of a lease lock (a random value as the holder's token, a ttl as the lease). Same
     * argument rules as `set`; a `Timeout` leaves unknown whether it wrote, but never writes after it.
     *
     * @since 0.2.0
     */
    readonly setIfAbsent: (
      key: string,
      value: string,
      options?: SetOptions,
    ) => Effect.Effect<boolean, CacheError>
    /**
     * Compare-and-delete (`DEL` only if `GET` equals `value`, in one atomic step; Redis 8.4's `DELEX key
     * IFEQ value`): `true` if it deleted. Releases a lease only while it is still the caller's: a holder whose
     * lease lapsed cannot delete the next holder's.
     *
     * @since 0.2.0
     */
    readonly deleteIfEquals: (key: string, value: string) => Effect.Effect<boolean, CacheError>
    /**
     * Deletes every key written with one of `tags` (`SetOptions.tags`) before the call and not rewritten
     * since without that tag; returns how many keys it deleted. Keys written after it resolves are untouched.
     * Costs in proportion to the keys of those tags, never to the size of the keyspace (on Redis: the tag's
     * index sets, `SPOP` + `UNLINK` inside Redis; in a cluster, one index per hash slot that holds a key of
     * the tag).
     *
     * @example
     * ```ts
     * import { Effect } from "effect"
     * import { Cache } from "effect-provider-cache"
     *
     * const program = Effect.gen(function* () {
     *   const cache = yield* Cache
     *   yield* cache.set("session:u1:a", "…", { tags: ["user:u1"] })
     *   yield* cache.set("session:u1:b", "…", { tags: ["user:u1"] })
     *   return yield* cache.invalidateTags(["user:u1"]) // 2
     * })
     * ```
     *
     * @since 0.2.0
     */
    readonly invalidateTags: (tags: Iterable<string>) => Effect.Effect<number, CacheError>
  }
}
