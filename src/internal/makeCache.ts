/**
 * The part of a Cache that is the same for every backend: argument checks, key prefixing, JSON, result
 * shapes, error context and spans. A backend only moves strings in and out of storage, with keys already
 * prefixed and arguments already valid, so two backends cannot disagree on what is valid input.
 */
import { Cause, Duration, Effect, Either, Exit, identity, Option } from "effect"
import {
  Cache,
  CacheError,
  type CacheErrorReason,
  type IncrementOptions,
  type SetManyEntry,
  type SetOptions,
} from "../Cache.js"
import { instrument } from "../CacheMetrics.js"
import {
  decodeJson,
  encodeJson,
  expireTtlMillis,
  isStorableString,
  isValidAmount,
  writeTtlMillis,
} from "./arguments.js"
import { escapeGlob } from "./glob.js"

/**
 * Why a backend call failed, before the front adds the operation and the caller's key.
 *
 * @since 0.1.0
 * @category internal
 */
export interface BackendFailure {
  readonly reason: CacheErrorReason
  readonly detail?: string | undefined
  readonly cause?: unknown
}

/**
 * What a storage backend implements. Keys are prefixed; ttls are positive whole milliseconds.
 *
 * @since 0.1.0
 * @category internal
 */
export interface Backend {
  /**
   * The hot path, so it skips the generic plumbing: it answers an Option and fails with the finished
   * CacheError (`callerKey` is the key without prefix, for that error).
   */
  readonly get: (key: string, callerKey: string) => Effect.Effect<Option.Option<string>, CacheError>
  /** One value (or null) per key, in order. Never called with an empty array. */
  readonly getMany: (
    keys: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlyArray<string | null>, BackendFailure>
  /**
   * The single-key writes are hot paths too, as `get`: each fails with the finished CacheError of `operation`
   * on `callerKey` (the key without prefix), so the front adds no error handler around them.
   */
  readonly set: (
    key: string,
    value: string,
    ttlMs: number | undefined,
    operation: string,
    callerKey: string,
  ) => Effect.Effect<void, CacheError>
  /** All entries in one step; keys are distinct. Never called with an empty array. */
  readonly setMany: (
    entries: ReadonlyArray<readonly [string, string]>,
    ttlMs: number | undefined,
  ) => Effect.Effect<void, BackendFailure>
  readonly delete: (key: string, operation: string, callerKey: string) => Effect.Effect<boolean, CacheError>
  readonly exists: (key: string) => Effect.Effect<boolean, BackendFailure>
  /** PEXPIRE (ms <= 0 deletes the key) or PERSIST; false when there is no such key. */
  readonly expire: (
    key: string,
    ttlMs: number | "persist",
    operation: string,
    callerKey: string,
  ) => Effect.Effect<boolean, CacheError>
  /** PTTL: -2 no key, -1 no expiry, otherwise remaining milliseconds. */
  readonly pttl: (key: string) => Effect.Effect<number, BackendFailure>
  /** INCRBY with an expiry set only when the key is created; fails when the result is not a safe integer. */
  readonly incrBy: (
    key: string,
    amount: number,
    ttlMs: number | undefined,
    operation: string,
    callerKey: string,
  ) => Effect.Effect<number, CacheError>
  /** Deletes every key matching a full (prefixed) glob pattern; the number deleted. */
  readonly deletePattern: (pattern: string) => Effect.Effect<number, BackendFailure>
  /** Counts the keys matching a full (prefixed) glob pattern. */
  readonly countPattern: (pattern: string) => Effect.Effect<number, BackendFailure>
  /** FLUSHDB. Only called when there is no key prefix. */
  readonly flushAll: Effect.Effect<void, BackendFailure>
  readonly ping: Effect.Effect<boolean, BackendFailure>
  /** SET NX [PX ttl]; true if it wrote. */
  readonly setIfAbsent: (
    key: string,
    value: string,
    ttlMs: number | undefined,
  ) => Effect.Effect<boolean, BackendFailure>
  /** DEL if the value equals `value`, atomically; true if it deleted. */
  readonly deleteIfEquals: (key: string, value: string) => Effect.Effect<boolean, BackendFailure>
  /**
   * Writes each entry with its tags (distinct, non-empty), value and tags in one atomic step per entry;
   * replaces the key's previous tags. Keys are distinct. Never called with an empty array.
   */
  readonly setTagged: (
    entries: ReadonlyArray<readonly [key: string, value: string, tags: ReadonlyArray<string>]>,
    ttlMs: number | undefined,
  ) => Effect.Effect<void, BackendFailure>
  /** Deletes the keys still carrying one of the tags (distinct, non-empty list); the number deleted. */
  readonly invalidateTags: (tags: ReadonlyArray<string>) => Effect.Effect<number, BackendFailure>
}

/** The most tags one write may carry (a Lua `unpack` of them must stay far below its 8,000-slot stack). */
const MAX_TAGS = 1_000

/**
 * Options every Cache layer takes.
 *
 * @since 0.1.0
 * @category internal
 */
export interface FrontOptions {
  readonly keyPrefix?: string | undefined
  /**
   * Wrap every operation in a span (`Cache.get`, …). Off by default: a span costs 10-25 µs here, more than
   * an in-memory GET and a good part of a Redis round trip. The domain services always have spans.
   */
  readonly spans?: boolean | undefined
  /** The `cache` label of this cache's metrics (`CacheMetrics`). Default `"default"`. */
  readonly name?: string | undefined
  /** Record `CacheMetrics` for every operation. Default false (see `RedisCacheOptions.metrics`). */
  readonly metrics?: boolean | undefined
}

// Internal errors are built from values we produced ourselves: skip Schema validation (~50 µs each).
/**
 * @since 0.1.0
 * @category internal
 */
export const cacheError = (props: ConstructorParameters<typeof CacheError>[0]) => new CacheError(props, true)

const MISS: Exit.Exit<Option.Option<string>> = Exit.succeed(Option.none())

/**
 * A `get`'s answer as a finished `Exit`: the value, or for a miss (`null` from Redis, `undefined` from
 * memory) one `Exit` shared by every miss.
 *
 * @since 0.2.0
 * @category internal
 */
export const readExit = (value: string | null | undefined): Exit.Exit<Option.Option<string>> =>
  value === null || value === undefined ? MISS : Exit.succeed(Option.some(value))

const UNTAGGED: Either.Either<ReadonlyArray<string>, string> = Either.right([])

const invalid = (operation: string, key: string | undefined, detail: string) =>
  cacheError({ reason: "InvalidArgument", operation, key, detail })

/**
 * A backend's failure as the CacheError of `operation` on the caller's `key`.
 *
 * @since 0.1.0
 * @category internal
 */
export const contextualize =
  (operation: string, key?: string) =>
  (failure: BackendFailure): CacheError =>
    cacheError({ reason: failure.reason, operation, key, detail: failure.detail, cause: failure.cause })

/**
 * `Effect.mapError(self, contextualize(operation, key))` for the per-key operations, built on `catchAllCause`:
 * `mapError` is a match on both channels, so every success is wrapped again and takes one more turn of the
 * fiber's loop; here a success passes the handler by. Failures and defects come out as `mapError` gives them.
 */
const contextualized = <A, R>(
  self: Effect.Effect<A, BackendFailure, R>,
  operation: string,
  key: string,
): Effect.Effect<A, CacheError, R> =>
  Effect.catchAllCause(self, (cause) => {
    const failure = Cause.failureOrCause(cause)
    return Either.isLeft(failure)
      ? Effect.fail(contextualize(operation, key)(failure.left))
      : Effect.failCause(failure.right)
  })

const toEntries = (
  entries: Iterable<SetManyEntry> | Readonly<Record<string, string>>,
): ReadonlyArray<SetManyEntry> =>
  Symbol.iterator in entries
    ? Array.from(entries as Iterable<SetManyEntry>)
    : Object.entries(entries as Readonly<Record<string, string>>)

/**
 * Builds the `Cache` service over a backend.
 *
 * @since 0.1.0
 * @category internal
 */
export const makeCache = (backend: Backend, options: FrontOptions = {}): Cache.Service => {
  const prefix = options.keyPrefix ?? ""
  const span: (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =
    options.spans ? (name) => Effect.withSpan(name, { captureStackTrace: false }) : () => identity
  const withPrefix = prefix === "" ? (key: string) => key : (key: string) => prefix + key
  const escapedPrefix = escapeGlob(prefix)

  const checkKey = (operation: string, key: string): CacheError | undefined =>
    isStorableString(key)
      ? undefined
      : invalid(operation, undefined, "key must be a well-formed UTF-16 string")

  /** The distinct tags of a write (empty: untagged), or why they are invalid. */
  const tagsOf = (tags: ReadonlyArray<string> | undefined): Either.Either<ReadonlyArray<string>, string> => {
    if (tags === undefined || tags.length === 0) return UNTAGGED
    const distinct = Array.from(new Set(tags))
    if (distinct.length > MAX_TAGS) return Either.left(`at most ${MAX_TAGS} tags per write`)
    for (const tag of distinct) {
      if (typeof tag !== "string" || !isStorableString(tag))
        return Either.left("a tag must be a well-formed UTF-16 string")
    }
    return Either.right(distinct)
  }

  const get = (key: string) => {
    const bad = checkKey("get", key)
    if (bad) return Effect.fail(bad)
    return span("Cache.get")(backend.get(withPrefix(key), key))
  }

  const getJson = (key: string) => {
    const bad = checkKey("getJson", key)
    if (bad) return Effect.fail(bad)
    return backend.get(withPrefix(key), key).pipe(
      Effect.mapError((error) => cacheError({ ...error, operation: "getJson" })),
      Effect.flatMap((found) => {
        if (Option.isNone(found)) return Effect.succeed(Option.none())
        const parsed = decodeJson(found.value)
        return Either.isRight(parsed)
          ? Effect.succeed(Option.some(parsed.right))
          : Effect.fail(
              cacheError({ reason: "Serialization", operation: "getJson", key, detail: parsed.left }),
            )
      }),
      span("Cache.getJson"),
    )
  }

  const writeString = (operation: string, key: string, value: string, options: SetOptions | undefined) => {
    const bad = checkKey(operation, key)
    if (bad) return Effect.fail(bad)
    if (!isStorableString(value))
      return Effect.fail(invalid(operation, key, "value must be a well-formed UTF-16 string"))
    const ttl = writeTtlMillis(options?.ttl)
    if (Either.isLeft(ttl)) return Effect.fail(invalid(operation, key, ttl.left))
    const tags = tagsOf(options?.tags)
    if (Either.isLeft(tags)) return Effect.fail(invalid(operation, key, tags.left))
    return tags.right.length === 0
      ? backend.set(withPrefix(key), value, ttl.right, operation, key)
      : contextualized(backend.setTagged([[withPrefix(key), value, tags.right]], ttl.right), operation, key)
  }

  const set = (key: string, value: string, options?: SetOptions) =>
    writeString("set", key, value, options).pipe(span("Cache.set"))

  const setJson = (key: string, value: unknown, options?: SetOptions) => {
    const json = encodeJson(value)
    if (Either.isLeft(json)) {
      return Effect.fail(
        cacheError({ reason: "Serialization", operation: "setJson", key, detail: json.left }),
      )
    }
    return writeString("setJson", key, json.right, options).pipe(span("Cache.setJson"))
  }

  /** A single-key operation whose backend call fails with the finished CacheError (the hot writes). */
  const keyedWrite =
    <A>(
      operation: string,
      run: (prefixedKey: string, operation: string, key: string) => Effect.Effect<A, CacheError>,
    ) =>
    (key: string): Effect.Effect<A, CacheError> => {
      const bad = checkKey(operation, key)
      if (bad) return Effect.fail(bad)
      return span(`Cache.${operation}`)(run(withPrefix(key), operation, key))
    }

  /** A single-key operation whose backend call fails with a BackendFailure, given its context here. */
  const keyed = <A>(operation: string, run: (prefixedKey: string) => Effect.Effect<A, BackendFailure>) =>
    keyedWrite(operation, (prefixedKey, operation, key) => contextualized(run(prefixedKey), operation, key))

  const expire = (key: string, ttl: Duration.DurationInput) => {
    const millis = expireTtlMillis(ttl)
    if (Either.isLeft(millis)) return Effect.fail(invalid("expire", key, millis.left))
    return keyedWrite("expire", (k, operation, callerKey) =>
      backend.expire(k, millis.right, operation, callerKey),
    )(key)
  }

  const ttl = keyed("ttl", (k) =>
    Effect.map(backend.pttl(k), (ms) => (ms < 0 ? Option.none() : Option.some(Duration.millis(ms)))),
  )

  const incrBy = (operation: string, key: string, amount: number, options: IncrementOptions | undefined) => {
    if (!isValidAmount(amount)) return Effect.fail(invalid(operation, key, "amount must be a safe integer"))
    const ttl = writeTtlMillis(options?.ttl)
    if (Either.isLeft(ttl)) return Effect.fail(invalid(operation, key, ttl.left))
    return keyedWrite(operation, (k, operation, callerKey) =>
      backend.incrBy(k, amount, ttl.right, operation, callerKey),
    )(key)
  }

  const deletePattern = (pattern: string) => {
    if (!isStorableString(pattern)) {
      return Effect.fail(invalid("deletePattern", undefined, "pattern must be a well-formed UTF-16 string"))
    }
    return backend
      .deletePattern(escapedPrefix + pattern)
      .pipe(Effect.mapError(contextualize("deletePattern")), span("Cache.deletePattern"))
  }

  const countPattern = (pattern: string) => {
    if (!isStorableString(pattern)) {
      return Effect.fail(invalid("countPattern", undefined, "pattern must be a well-formed UTF-16 string"))
    }
    return backend
      .countPattern(escapedPrefix + pattern)
      .pipe(Effect.mapError(contextualize("countPattern")), span("Cache.countPattern"))
  }

  const flush = (
    prefix === "" ? backend.flushAll : Effect.asVoid(backend.deletePattern(`${escapedPrefix}*`))
  ).pipe(Effect.mapError(contextualize("flush")), span("Cache.flush"))

  const getMany = (keys: Iterable<string>) => {
    // A copy, so the keys checked are the keys sent. A repeated key is read twice and lands once in the
    // result Map: cheaper than de-duplicating first, and rare.
    const list = Array.from(keys)
    for (const key of list) {
      const bad = checkKey("getMany", key)
      if (bad) return Effect.fail(bad)
    }
    if (list.length === 0) return Effect.succeed(new Map<string, Option.Option<string>>())
    return backend.getMany(prefix === "" ? list : list.map(withPrefix)).pipe(
      Effect.map((values) => {
        const result = new Map<string, Option.Option<string>>()
        for (let i = 0; i < list.length; i++) result.set(list[i]!, Option.fromNullable(values[i] ?? null))
        return result as ReadonlyMap<string, Option.Option<string>>
      }),
      Effect.mapError(contextualize("getMany")),
      span("Cache.getMany"),
    )
  }

  const setMany = (
    entries: Iterable<SetManyEntry> | Readonly<Record<string, string>>,
    options?: SetOptions,
  ) => {
    const ttl = writeTtlMillis(options?.ttl)
    if (Either.isLeft(ttl)) return Effect.fail(invalid("setMany", undefined, ttl.left))
    const callTags = tagsOf(options?.tags)
    if (Either.isLeft(callTags)) return Effect.fail(invalid("setMany", undefined, callTags.left))
    // Later entries win, as with MSET; de-duplicating keeps the backend's "distinct keys" contract.
    const byKey = new Map<
      string,
      readonly [value: string, ttlMs: number | undefined, tags: ReadonlyArray<string>]
    >()
    for (const [key, value, own] of toEntries(entries)) {
      if (!isStorableString(key))
        return Effect.fail(invalid("setMany", undefined, "key must be a well-formed UTF-16 string"))
      if (!isStorableString(value))
        return Effect.fail(invalid("setMany", key, "value must be a well-formed UTF-16 string"))
      let entryTtl = ttl.right
      if (own?.ttl !== undefined) {
        const parsed = writeTtlMillis(own.ttl)
        if (Either.isLeft(parsed)) return Effect.fail(invalid("setMany", key, parsed.left))
        entryTtl = parsed.right
      }
      let entryTags = callTags.right
      if (own?.tags !== undefined) {
        const parsed = tagsOf(own.tags)
        if (Either.isLeft(parsed)) return Effect.fail(invalid("setMany", key, parsed.left))
        entryTags = parsed.right
      }
      byKey.set(withPrefix(key), [value, entryTtl, entryTags])
    }
    if (byKey.size === 0) return Effect.void
    // The backends take one ttl per call: one call per distinct ttl (usually just one). Tagged entries are
    // a call of their own (one atomic step per key on Redis).
    const byTtl = new Map<number | undefined, Array<readonly [string, string]>>()
    const taggedByTtl = new Map<number | undefined, Array<readonly [string, string, ReadonlyArray<string>]>>()
    for (const [key, [value, entryTtl, entryTags]] of byKey) {
      if (entryTags.length > 0) {
        let group = taggedByTtl.get(entryTtl)
        if (group === undefined) {
          group = []
          taggedByTtl.set(entryTtl, group)
        }
        group.push([key, value, entryTags])
        continue
      }
      let group = byTtl.get(entryTtl)
      if (group === undefined) {
        group = []
        byTtl.set(entryTtl, group)
      }
      group.push([key, value])
    }
    const groups = Array.from(byTtl)
    const writes: Array<Effect.Effect<void, BackendFailure>> = groups.map(([groupTtl, group]) =>
      backend.setMany(group, groupTtl),
    )
    for (const [groupTtl, group] of taggedByTtl) writes.push(backend.setTagged(group, groupTtl))
    const write =
      writes.length === 1
        ? writes[0]!
        : Effect.forEach(writes, identity, { concurrency: "unbounded", discard: true })
    return write.pipe(Effect.mapError(contextualize("setMany")), span("Cache.setMany"))
  }

  const setIfAbsent = (key: string, value: string, options?: SetOptions) => {
    const bad = checkKey("setIfAbsent", key)
    if (bad) return Effect.fail(bad)
    if (!isStorableString(value))
      return Effect.fail(invalid("setIfAbsent", key, "value must be a well-formed UTF-16 string"))
    const ttl = writeTtlMillis(options?.ttl)
    if (Either.isLeft(ttl)) return Effect.fail(invalid("setIfAbsent", key, ttl.left))
    return backend
      .setIfAbsent(withPrefix(key), value, ttl.right)
      .pipe(Effect.mapError(contextualize("setIfAbsent", key)), span("Cache.setIfAbsent"))
  }

  const deleteIfEquals = (key: string, value: string) => {
    if (!isStorableString(value))
      return Effect.fail(invalid("deleteIfEquals", key, "value must be a well-formed UTF-16 string"))
    return keyed("deleteIfEquals", (k) => backend.deleteIfEquals(k, value))(key)
  }

  const invalidateTags = (tags: Iterable<string>) => {
    const distinct = Array.from(new Set(tags))
    for (const tag of distinct) {
      if (typeof tag !== "string" || !isStorableString(tag))
        return Effect.fail(invalid("invalidateTags", undefined, "a tag must be a well-formed UTF-16 string"))
    }
    if (distinct.length === 0) return Effect.succeed(0)
    return backend
      .invalidateTags(distinct)
      .pipe(Effect.mapError(contextualize("invalidateTags")), span("Cache.invalidateTags"))
  }

  const service: Cache.Service = {
    get,
    getJson,
    set,
    setJson,
    delete: keyedWrite("delete", backend.delete),
    exists: keyed("exists", backend.exists),
    expire,
    ttl,
    increment: (key, amount = 1, options) => incrBy("increment", key, amount, options),
    decrement: (key, amount = 1, options) => incrBy("decrement", key, 0 - amount, options),
    flush,
    ping: backend.ping.pipe(Effect.mapError(contextualize("ping")), span("Cache.ping")),
    deletePattern,
    countPattern,
    getMany,
    setMany,
    setIfAbsent,
    deleteIfEquals,
    invalidateTags,
  }
  return Cache.of(options.metrics === true ? withMetrics(service, options.name ?? "default") : service)
}

/** Every operation of `service`, recording `CacheMetrics` under the cache's name. */
const withMetrics = (service: Cache.Service, name: string): Cache.Service => {
  const of = (operation: string) => instrument(name, operation)
  const get = of("get")
  const getJson = of("getJson")
  const getMany = of("getMany")
  const set = of("set")
  const setJson = of("setJson")
  const del = of("delete")
  const exists = of("exists")
  const expire = of("expire")
  const ttl = of("ttl")
  const increment = of("increment")
  const decrement = of("decrement")
  const flush = of("flush")
  const ping = of("ping")
  const deletePattern = of("deletePattern")
  const countPattern = of("countPattern")
  const setMany = of("setMany")
  const setIfAbsent = of("setIfAbsent")
  const deleteIfEquals = of("deleteIfEquals")
  const invalidateTags = of("invalidateTags")
  return {
    get: (key) => get.lookup(service.get(key)),
    getJson: (key) => getJson.lookup(service.getJson(key)),
    getMany: (keys) => getMany.lookupMany(service.getMany(keys)),
    set: (key, value, options) => set.timed(service.set(key, value, options)),
    setJson: (key, value, options) => setJson.timed(service.setJson(key, value, options)),
    delete: (key) => del.timed(service.delete(key)),
    exists: (key) => exists.timed(service.exists(key)),
    expire: (key, ttlInput) => expire.timed(service.expire(key, ttlInput)),
    ttl: (key) => ttl.timed(service.ttl(key)),
    increment: (key, amount, options) => increment.timed(service.increment(key, amount, options)),
    decrement: (key, amount, options) => decrement.timed(service.decrement(key, amount, options)),
    flush: flush.timed(service.flush),
    ping: ping.timed(service.ping),
    deletePattern: (pattern) => deletePattern.timed(service.deletePattern(pattern)),
    countPattern: (pattern) => countPattern.timed(service.countPattern(pattern)),
    setMany: (entries, options) => setMany.timed(service.setMany(entries, options)),
    setIfAbsent: (key, value, options) => setIfAbsent.timed(service.setIfAbsent(key, value, options)),
    deleteIfEquals: (key, value) => deleteIfEquals.timed(service.deleteIfEquals(key, value)),
    invalidateTags: (tags) => invalidateTags.timed(service.invalidateTags(tags)),
  }
}
