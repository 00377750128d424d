/**
 * The domain cache of provider connections, over `Cache`. The database stays the source of truth, so this
 * cache is fail-open: an outage or a corrupt entry is a miss (or a no-op) and one warning, never a failure.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  ParseResult,
  Schema,
} from "effect"
import { Cache, CacheError, type SetOptions } from "./Cache.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"
import { withDomainSpan } from "./internal/spans.js"
import { ProviderConnection, ProviderConnectionJson, ProviderCredentials } from "./ProviderConnection.js"

/**
 * The operations of `ProviderConnectionCache`.
 *
 * @since 0.1.0
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
 */
export const connectionKey = (id: string): string => `provider:conn:${id}`

/**
 * `CACHE_PROVIDER_TTL`: seconds, a positive integer, default 300. Zero or garbage fails the layer instead of
 * silently turning caching off.
 *
 * @since 0.1.0
 */
export const defaultTtlConfig: Config.Config<Duration.Duration> = Config.integer("CACHE_PROVIDER_TTL").pipe(
  Config.validate({
    message: "CACHE_PROVIDER_TTL must be a positive number of seconds",
    validation: (s) => s > 0,
  }),
  Config.withDefault(300),
  Config.map(Duration.seconds),
)

// The synchronous decoder, lifted: half the cost of the Effect one (about 50 µs against 90 µs here).
const decodeEither = Schema.decodeUnknownEither(ProviderConnectionJson)

/** How many decoded entries each service keeps, by their exact stored text. */
const DECODED_ENTRIES = 1_024

const copyDate = <D extends Date | null>(date: D): D =>
  date === null ? date : (new Date(date.getTime()) as D)

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable). The values were validated when `c` was decoded, so construction skips it.
 */
const copyConnection = (c: ProviderConnection): ProviderConnection =>
  new ProviderConnection(
    {
      id: c.id,
      userId: c.userId,
      providerId: c.providerId,
      providerSlug: c.providerSlug,
      status: c.status,
      alias: c.alias,
      credentials:
        c.credentials === null
          ? null
          : new ProviderCredentials(
              {
                encryptedData: c.credentials.encryptedData.slice(),
                credentialType: c.credentials.credentialType,
                expiresAt: copyDate(c.credentials.expiresAt),
              },
              true,
            ),
      connectedAt: copyDate(c.connectedAt),
      lastSyncAt: copyDate(c.lastSyncAt),
      createdAt: copyDate(c.createdAt),
      updatedAt: copyDate(c.updatedAt),
    },
    true,
  )

/**
 * Decoding an entry costs about 50 µs (JSON, base64, four dates, every invariant) and allocates enough to
 * drive the garbage collector, while a cached connection is read many times between writes. Decoding is a
 * pure function of the stored text, so the last `DECODED_ENTRIES` results are kept by that exact text
 * (oldest out first), and every read gets its own copy. Failures are not kept.
 */
const makeDecoder = () => {
  const decoded = new Map<string, ProviderConnection>()
  return (text: string): Effect.Effect<ProviderConnection, ParseResult.ParseError> =>
    Effect.suspend(() => {
      const known = decoded.get(text)
      if (known !== undefined) return Effect.succeed(copyConnection(known))
      const result = decodeEither(text)
      if (Either.isRight(result)) {
        if (decoded.size >= DECODED_ENTRIES) decoded.delete(decoded.keys().next().value!)
        decoded.set(text, copyConnection(result.right))
      }
      return result
    })
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

/**
 * Builds the service over the `Cache` in context.
 *
 * @since 0.1.0
 */
export const make = (options: {
  readonly defaultTtl: Duration.DurationInput
}): Effect.Effect<ProviderConnectionCacheService, never, Cache> =>
  Effect.gen(function* () {
    const cache = yield* Cache
    const defaultTtl = options.defaultTtl
    const decodeConnection = makeDecoder()
    // One line per operation every few seconds during an outage, with the number of calls it stands for.
    const failOpenLog = makeFailOpenLog()

    const warn = (operation: string, id: string, error: CacheError | ParseResult.ParseError) =>
      Effect.logWarning(`ProviderConnectionCache.${operation} failed open`).pipe(
        Effect.annotateLogs({ connectionId: id, reason: describe(error) }),
      )

    // Anything unexpected (a defect in a Cache implementation) is also a miss: the caller must never fail.
    const failOpen = <A>(operation: string, id: string, fallback: A) =>
      Effect.catchAllCause((cause: Cause.Cause<CacheError | ParseResult.ParseError>) => {
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
      })

    /** Fail-open plus the operation's span. */
    const guard =
      <A>(operation: string, id: string, fallback: A) =>
      <E extends CacheError | ParseResult.ParseError>(self: Effect.Effect<A, E>): Effect.Effect<A> =>
        self.pipe(
          failOpen(operation, id, fallback),
          withDomainSpan(`ProviderConnectionCache.${operation}`, () => ({ connectionId: id })),
        )

    const get = (id: string) =>
      cache.get(connectionKey(id)).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeedNone,
            onSome: (text) =>
              decodeConnection(text).pipe(
                Effect.map(Option.some),
                // A corrupt entry would fail every read until it expires: drop it (best effort).
                Effect.tapError(() => Effect.ignore(cache.delete(connectionKey(id)))),
              ),
          }),
        ),
        guard("get", id, Option.none<ProviderConnection>()),
      )

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
 */
export class ProviderConnectionCache extends Context.Tag("effect-provider-cache/ProviderConnectionCache")<
  ProviderConnectionCache,
  ProviderConnectionCacheService
>() {
  /** Over the `Cache` in context, with the default TTL read from `CACHE_PROVIDER_TTL`. */
  static readonly layer: Layer.Layer<ProviderConnectionCache, ConfigError.ConfigError, Cache> = Layer.effect(
    this,
    Effect.flatMap(defaultTtlConfig, (defaultTtl) => make({ defaultTtl })),
  )

  /** Over the `Cache` in context, with an explicit default TTL. */
  static readonly layerWithTtl = (
    defaultTtl: Duration.DurationInput,
  ): Layer.Layer<ProviderConnectionCache, never, Cache> => Layer.effect(this, make({ defaultTtl }))
}
