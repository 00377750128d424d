/**
 * The domain cache of provider connections, over `Cache`. The database stays the source of truth, so this
 * cache is fail-open: an outage or a corrupt entry is a miss (or a no-op) and one warning, never a failure.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Option,
  ParseResult,
  Schema,
} from "effect"
import { Cache, CacheError, type SetOptions } from "./Cache.js"
import { envelopeExpiry } from "./internal/asideEnvelope.js"
import { makeConnectionDecoder } from "./internal/connectionDecoder.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"
import { ReadNow } from "./internal/readNow.js"
import { spanCollectedNow, withDomainSpan } from "./internal/spans.js"
import { type ProviderConnection, ProviderConnectionJson } from "./ProviderConnection.js"

/**
 * The operations of `ProviderConnectionCache`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderConnectionCacheService {
  /** The cached connection, or `none` on a miss, an outage or a corrupt entry. Never fails. */
  readonly get: (id: string) => Effect.Effect<Option.Option<ProviderConnection>>
  /** Caches a connection under `provider:conn:{id}`; a failure is logged and ignored. */
  readonly set: (connection: ProviderConnection, options?: SetOptions) => Effect.Effect<void>
  /** Removes a cached connection; `false` if there was none or the cache failed. */
  readonly delete: (id: string) => Effect.Effect<boolean>
  /** Whether a connection is cached; `false` if the cache failed. */
  readonly exists: (id: string) => Effect.Effect<boolean>
}

/**
 * The cache key of a connection (under the Cache's own key prefix, if it has one).
 *
 * @since 0.1.0
 * @category keys
 */
export const connectionKey = (id: string): string => `provider:conn:${id}`

/**
 * `CACHE_PROVIDER_TTL`: seconds, a positive integer, default 300. Zero or garbage fails the layer instead of
 * silently turning caching off.
 *
 * @since 0.1.0
 * @category config
 */
export const defaultTtlConfig: Config.Config<Duration.Duration> = Config.integer("CACHE_PROVIDER_TTL").pipe(
  Config.validate({
    message: "CACHE_PROVIDER_TTL must be a positive number of seconds",
    validation: (s) => s > 0,
  }),
  Config.withDefault(300),
  Config.map(Duration.seconds),
)

/** See `ProviderConnectionCacheOptions.decodeCacheSize`. */
const DEFAULT_DECODE_CACHE_SIZE = 10_000

/**
 * `CACHE_PROVIDER_DECODE_CACHE_SIZE`: how many decoded connections a service keeps (see
 * `ProviderConnectionCacheOptions.decodeCacheSize`); a whole number, 0 disables, default 10,000.
 *
 * @since 0.2.0
 * @category config
 */
export const decodeCacheSizeConfig: Config.Config<number> = Config.integer(
  "CACHE_PROVIDER_DECODE_CACHE_SIZE",
).pipe(
  Config.validate({
    message: "CACHE_PROVIDER_DECODE_CACHE_SIZE must be a whole number of entries (0 disables the memo)",
    validation: (n) => n >= 0,
  }),
  Config.withDefault(DEFAULT_DECODE_CACHE_SIZE),
)

/**
 * How `ProviderConnectionCache` is built.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderConnectionCacheOptions {
  /** The ttl `set` uses when it is given none. */
  readonly defaultTtl: Duration.DurationInput
  /**
   * How many decoded connections the service keeps in memory, by connection id; the least recently read is
   * dropped first when the bound is reached. Default 10,000. Each kept connection costs about 1.4 KB of heap
   * with 48 bytes of ciphertext (the stored text, the decoded fields and the bookkeeping), plus about 2.4
   * bytes per further byte of ciphertext (base64 text and decoded bytes): about 14 MB at the default bound.
   * `0` turns the memo off: every hit is decoded. Must be a whole number (`Infinity` is not accepted: an
   * unbounded memo grows with every connection ever read).
   *
   * A kept decode is only reused for a read that returns exactly the same stored text, so a changed entry
   * is never served from the memo, and every `get` returns its own copy.
   */
  readonly decodeCacheSize?: number | undefined
}

const encodeConnection = Schema.encode(ProviderConnectionJson)

/**
 * Where a decode failed, without the offending values: a corrupt entry may hold ciphertext, and parse errors
 * quote what they reject.
 */
const describeParseError = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "(root)" : issue.path.map(String).join("."),
  )
  return `entry does not decode (invalid at: ${Array.from(new Set(paths)).join(", ")})`
}

const describe = (error: CacheError | ParseResult.ParseError): string =>
  error instanceof CacheError ? `cache ${error.reason}: ${error.message}` : describeParseError(error)

/** `get`, looked up each time it runs (readNow.ts). */
class ProviderGet extends ReadNow<Option.Option<ProviderConnection>, never> {
  constructor(
    readonly getNow: (id: string) => Effect.Effect<Option.Option<ProviderConnection>>,
    readonly id: string,
  ) {
    super()
  }
  run(): Effect.Effect<Option.Option<ProviderConnection>> {
    return this.getNow(this.id)
  }
}

/**
 * Builds the service over the `Cache` in context. A `decodeCacheSize` that is not a whole number of entries
 * (negative, fractional, `Infinity`) is a defect (`IllegalArgumentException`): it is a programming error, and
 * `CACHE_PROVIDER_DECODE_CACHE_SIZE` is checked as config before it gets here.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ProviderConnectionCacheOptions,
): Effect.Effect<ProviderConnectionCacheService, never, Cache> =>
  Effect.gen(function* () {
    const decodeCacheSize = options.decodeCacheSize ?? DEFAULT_DECODE_CACHE_SIZE
    if (!Number.isSafeInteger(decodeCacheSize) || decodeCacheSize < 0) {
      return yield* Effect.die(
        new Cause.IllegalArgumentException(
          `ProviderConnectionCache: decodeCacheSize must be a whole number of entries, got ${decodeCacheSize}`,
        ),
      )
    }
    const cache = yield* Cache
    const defaultTtl = options.defaultTtl
    const decodeConnection = makeConnectionDecoder(decodeCacheSize, connectionKey)
    // One line per operation every few seconds during an outage, with the number of calls it stands for.
    const failOpenLog = makeFailOpenLog()

    const warn = (operation: string, id: string, error: CacheError | ParseResult.ParseError) =>
      Effect.logWarning(`ProviderConnectionCache.${operation} failed open`).pipe(
        Effect.annotateLogs({ connectionId: id, reason: describe(error) }),
      )

    // Anything unexpected (a defect in a Cache implementation) is also a miss: the caller must never fail.
    const failedOpen = <A>(
      operation: string,
      id: string,
      fallback: A,
      cause: Cause.Cause<CacheError | ParseResult.ParseError>,
    ): Effect.Effect<A> => {
      const failure = Cause.failureOption(cause)
      // A defect's text could quote anything the Cache implementation held, so it is not logged.
      const log = Option.isSome(failure)
        ? warn(operation, id, failure.value)
        : Effect.logWarning(`ProviderConnectionCache.${operation} failed open`).pipe(
            Effect.annotateLogs({
              connectionId: id,
              reason: "unexpected defect in the Cache implementation",
            }),
          )
      return Effect.as(failOpenLog.warn(operation, log), fallback)
    }
    const failOpen = <A>(operation: string, id: string, fallback: A) =>
      Effect.catchAllCause((cause: Cause.Cause<CacheError | ParseResult.ParseError>) =>
        failedOpen(operation, id, fallback, cause),
      )

    /** Fail-open plus the operation's span. */
    const guard =
      <A>(operation: string, id: string, fallback: A) =>
      <E extends CacheError | ParseResult.ParseError>(self: Effect.Effect<A, E>): Effect.Effect<A> =>
        self.pipe(
          failOpen(operation, id, fallback),
          withDomainSpan(`ProviderConnectionCache.${operation}`, () => ({ connectionId: id })),
        )

    // The hot path, in one continuation: a lookup's success and failure meet one `matchCauseEffect`, not a
    // `flatMap` inside a `catchAllCause` (two more turns of the fiber's loop on every hit). So that it still
    // fails open on everything, the success side hands a decode failure, and anything it throws, to the
    // same `failedOpen`. The helpers take the id and key, so a read allocates no closures beyond its own two.
    const getFailed = (id: string, cause: Cause.Cause<CacheError | ParseResult.ParseError>) =>
      failedOpen("get", id, Option.none<ProviderConnection>(), cause)
    const decode = (
      id: string,
      key: string,
      text: string,
    ): Effect.Effect<Option.Option<ProviderConnection>> => {
      const decoded = decodeConnection(id, text)
      if (Either.isRight(decoded)) return Effect.succeed(Option.some(decoded.right))
      // A corrupt entry would fail every read until it expires: drop it (best effort).
      return Effect.zipRight(Effect.ignore(cache.delete(key)), getFailed(id, Cause.fail(decoded.left)))
    }
    const found = (
      id: string,
      key: string,
      text: string,
    ): Effect.Effect<Option.Option<ProviderConnection>> => {
      // Written by CacheAside (ProviderConnectionService) with grace: past its logical expiry it is a miss
      // here, and stays for CacheAside to serve during an outage. Its clock is the Clock.
      const expiresAt = envelopeExpiry(text)
      if (expiresAt === undefined) return decode(id, key, text)
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now >= expiresAt ? Effect.succeedNone : decode(id, key, text),
      )
    }
    const onSuccess = (id: string, key: string, value: Option.Option<string>) => {
      if (Option.isNone(value)) return Effect.succeedNone
      try {
        return found(id, key, value.value)
      } catch (defect) {
        return getFailed(id, Cause.die(defect))
      }
    }
    const lookup = (id: string, key: string, read: Effect.Effect<Option.Option<string>, CacheError>) =>
      Effect.matchCauseEffect(read, {
        onFailure: (cause) => getFailed(id, cause),
        onSuccess: (value) => onSuccess(id, key, value),
      })
    const traced = (id: string) => {
      const key = decodeConnection.cacheKey(id)
      return lookup(id, key, cache.get(key)).pipe(
        withDomainSpan("ProviderConnectionCache.get", () => ({ connectionId: id })),
      )
    }
    // Each time the read runs (readNow.ts). Without a tracer to collect its span, a read the Cache answers
    // from process memory (the local tier, MemoryCache) is decoded here and now, and a `yield*` of it
    // takes no turn of the fiber's loop; anything else goes through `lookup` as a traced read does.
    const getNow = (id: string): Effect.Effect<Option.Option<ProviderConnection>> => {
      try {
        if (spanCollectedNow()) return traced(id)
        const key = decodeConnection.cacheKey(id)
        const read = cache.get(key)
        const answer = read instanceof ReadNow ? read.run() : read
        if (!Exit.isExit(answer)) return lookup(id, key, answer)
        const exit = answer as Exit.Exit<Option.Option<string>, CacheError>
        return Exit.isSuccess(exit) ? onSuccess(id, key, exit.value) : getFailed(id, exit.cause)
      } catch (defect) {
        return getFailed(id, Cause.die(defect))
      }
    }
    const get = (id: string): Effect.Effect<Option.Option<ProviderConnection>> => new ProviderGet(getNow, id)

    const set = (connection: ProviderConnection, setOptions?: SetOptions) =>
      encodeConnection(connection).pipe(
        Effect.flatMap((json) =>
          cache.set(connectionKey(connection.id), json, { ttl: setOptions?.ttl ?? defaultTtl }),
        ),
        guard<void>("set", connection.id, undefined),
      )

    const del = (id: string) => cache.delete(connectionKey(id)).pipe(guard("delete", id, false))

    const exists = (id: string) => cache.exists(connectionKey(id)).pipe(guard("exists", id, false))

    return { get, set, delete: del, exists }
  })

/**
 * The provider-connection cache service.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { MemoryCache, ProviderConnectionCache } from "effect-provider-cache"
 *
 * // Default TTL from CACHE_PROVIDER_TTL (seconds, default 300).
 * const Live = ProviderConnectionCache.layer.pipe(Layer.provide(MemoryCache.layer()))
 * const program = Effect.flatMap(ProviderConnectionCache, (connections) => connections.get(connectionId))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderConnectionCache extends Context.Tag("effect-provider-cache/ProviderConnectionCache")<
  ProviderConnectionCache,
  ProviderConnectionCacheService
>() {
  /**
   * Over the `Cache` in context, with the default TTL read from `CACHE_PROVIDER_TTL` and the decode memo's
   * size from `CACHE_PROVIDER_DECODE_CACHE_SIZE`.
   */
  static readonly layer: Layer.Layer<ProviderConnectionCache, ConfigError.ConfigError, Cache> = Layer.effect(
    this,
    Effect.flatMap(Config.all([defaultTtlConfig, decodeCacheSizeConfig]), ([defaultTtl, decodeCacheSize]) =>
      make({ defaultTtl, decodeCacheSize }),
    ),
  )

  /** Over the `Cache` in context, with an explicit default TTL (and, optionally, the decode memo's size). */
  static readonly layerWithTtl = (
    defaultTtl: Duration.DurationInput,
    options?: { readonly decodeCacheSize?: number | undefined },
  ): Layer.Layer<ProviderConnectionCache, never, Cache> =>
    Layer.effect(this, make({ defaultTtl, decodeCacheSize: options?.decodeCacheSize }))
}
