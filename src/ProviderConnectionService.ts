/**
 * The original handler's provider-connection flow: cache, then the repository (the source of truth), then
 * store, then the ownership check. Updates and disconnects invalidate the cached entry, which the original
 * never did (it served stale connections for up to 5 minutes).
 *
 * A database outage does not take the flow down with it: entries are kept a `grace` past their ttl (default
 * 5 minutes, `CACHE_PROVIDER_GRACE`), and while the repository fails (`RepositoryError`) a connection read
 * within that grace is served from the cache, with a rate-limited warning. The limits, on purpose:
 * - `update` and `disconnect` delete the entry, stale copy included: invalidation is not subject to grace,
 *   so a revoked connection is never served, outage or not.
 * - `ConnectionNotFound` is never answered with a stale connection: a row that is gone stays gone.
 * - A connection changed in the database by someone else (not through this service) is served at most
 *   `ttl + grace` old, and past `ttl` only while the database is failing.
 * - Past `ttl + grace` the entry is gone and the outage reaches the caller as `RepositoryError`.
 *
 * @since 0.1.0
 */
import { Clock, Config, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { CacheAside } from "./CacheAside.js"
import { withDomainSpan } from "./internal/spans.js"
import { ProviderConnection, ProviderConnectionWire } from "./ProviderConnection.js"
import { connectionKey, defaultTtlConfig } from "./ProviderConnectionCache.js"

/**
 * No provider connection has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionNotFound extends Schema.TaggedError<ConnectionNotFound>()("ConnectionNotFound", {
  connectionId: Schema.String,
}) {
  override get message() {
    return `provider connection ${this.connectionId} not found`
  }
}

/**
 * The provider connection belongs to another user.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionNotOwned extends Schema.TaggedError<ConnectionNotOwned>()("ConnectionNotOwned", {
  connectionId: Schema.String,
  userId: Schema.String,
}) {
  override get message() {
    return `provider connection ${this.connectionId} is not owned by user ${this.userId}`
  }
}

/**
 * The repository (the source of truth) failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class RepositoryError extends Schema.TaggedError<RepositoryError>()("RepositoryError", {
  operation: Schema.String,
  cause: Schema.optional(Schema.Defect),
}) {}

/**
 * The source of truth for provider connections (the database in production).
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderConnectionRepository extends Context.Tag(
  "effect-provider-cache/ProviderConnectionRepository",
)<
  ProviderConnectionRepository,
  {
    readonly findById: (id: string) => Effect.Effect<Option.Option<ProviderConnection>, RepositoryError>
    readonly save: (connection: ProviderConnection) => Effect.Effect<void, RepositoryError>
  }
>() {
  /**
   * An in-memory repository for examples and tests; `lookups` counts `findById` calls, so a program can show
   * what the cache saved.
   */
  static readonly inMemory = (
    initial: Iterable<ProviderConnection> = [],
    options: { latency?: Duration.DurationInput } = {},
  ) => {
    const rows = new Map<string, ProviderConnection>(Array.from(initial, (c) => [c.id, c]))
    const stats = { lookups: 0 }
    const latency = Effect.sleep(options.latency ?? Duration.zero)
    const layer = Layer.succeed(this, {
      findById: (id) =>
        Effect.zipRight(
          latency,
          Effect.sync(() => {
            stats.lookups++
            return Option.fromNullable(rows.get(id))
          }),
        ),
      save: (connection) => Effect.sync(() => void rows.set(connection.id, connection)),
    })
    return { layer, stats }
  }
}

/**
 * The fields `update` may change.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionPatch {
  readonly alias?: string | null
  readonly status?: ProviderConnection["status"]
}

/**
 * The operations of `ProviderConnectionService`; all check that the user owns the connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderConnectionServiceApi {
  readonly getForUser: (
    userId: string,
    connectionId: string,
  ) => Effect.Effect<ProviderConnection, ConnectionNotFound | ConnectionNotOwned | RepositoryError>
  readonly update: (
    userId: string,
    connectionId: string,
    patch: ConnectionPatch,
  ) => Effect.Effect<ProviderConnection, ConnectionNotFound | ConnectionNotOwned | RepositoryError>
  readonly disconnect: (
    userId: string,
    connectionId: string,
  ) => Effect.Effect<ProviderConnection, ConnectionNotFound | ConnectionNotOwned | RepositoryError>
}

const NAMESPACE = "provider_connection"
const DEFAULT_GRACE = Duration.minutes(5)

/** Only an unavailable repository may be answered from a stale entry; "not found" is an answer. */
const isOutage = (error: ConnectionNotFound | RepositoryError) => error._tag === "RepositoryError"

/**
 * `CACHE_PROVIDER_GRACE`: seconds a cached provider connection may be served past its ttl while the
 * repository fails; a non-negative integer, default 300, 0 turns it off.
 *
 * @since 0.2.0
 * @category config
 */
export const defaultGraceConfig: Config.Config<Duration.Duration> = Config.integer(
  "CACHE_PROVIDER_GRACE",
).pipe(
  Config.validate({
    message: "CACHE_PROVIDER_GRACE must be a non-negative number of seconds",
    validation: (s) => s >= 0,
  }),
  Config.withDefault(300),
  Config.map(Duration.seconds),
)

/**
 * Builds the service: reads through `CacheAside`, falls back to the repository, invalidates on writes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly ttl: Duration.DurationInput
  /**
   * How long past `ttl` a cached connection may stand in for a failing repository. Default 5 minutes;
   * `Duration.zero` turns it off (an outage then fails every read past `ttl`).
   */
  readonly grace?: Duration.DurationInput | undefined
}): Effect.Effect<ProviderConnectionServiceApi, never, CacheAside | ProviderConnectionRepository> =>
  Effect.gen(function* () {
    const aside = yield* CacheAside
    const repository = yield* ProviderConnectionRepository
    const graceInput = options.grace ?? DEFAULT_GRACE
    const grace = Duration.lessThanOrEqualTo(Duration.decode(graceInput), Duration.zero)
      ? undefined
      : graceInput

    const load = (connectionId: string) =>
      aside.getOrLoad(
        {
          key: connectionKey(connectionId),
          schema: ProviderConnectionWire,
          ttl: options.ttl,
          namespace: NAMESPACE,
          ...(grace === undefined ? {} : { grace, serveStaleOn: isOutage }),
        },
        Effect.flatMap(
          repository.findById(connectionId),
          Option.match({
            onNone: () => Effect.fail(new ConnectionNotFound({ connectionId })),
            onSome: Effect.succeed,
          }),
        ),
      )

    const getForUser = (userId: string, connectionId: string) =>
      load(connectionId).pipe(
        Effect.filterOrFail(
          (connection) => connection.userId === userId,
          () => new ConnectionNotOwned({ connectionId, userId }),
        ),
        withDomainSpan("ProviderConnectionService.getForUser", () => ({ connectionId })),
      )

    // Write the source of truth first, then invalidate: a reader in between sees the old row at worst, and a
    // lookup already in flight is kept from caching it (CacheAside.invalidate).
    const change = (
      userId: string,
      connectionId: string,
      apply: (connection: ProviderConnection, now: Date) => ProviderConnection,
    ) =>
      Effect.gen(function* () {
        const current = yield* getForUser(userId, connectionId)
        const now = new Date(yield* Clock.currentTimeMillis)
        const next = apply(current, now)
        yield* repository.save(next)
        yield* aside.invalidate(connectionKey(connectionId), NAMESPACE)
        return next
      })

    const update = (userId: string, connectionId: string, patch: ConnectionPatch) =>
      change(
        userId,
        connectionId,
        (connection, now) => new ProviderConnection({ ...connection, ...patch, updatedAt: now }),
      ).pipe(withDomainSpan("ProviderConnectionService.update", () => ({ connectionId })))

    // A disconnected connection keeps no credentials.
    const disconnect = (userId: string, connectionId: string) =>
      change(
        userId,
        connectionId,
        (connection, now) =>
          new ProviderConnection({
            ...connection,
            status: "disconnected",
            credentials: null,
            updatedAt: now,
          }),
      ).pipe(withDomainSpan("ProviderConnectionService.disconnect", () => ({ connectionId })))

    return { getForUser, update, disconnect }
  })

/**
 * The provider-connection lookup flow: cache, repository, store, ownership check.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderConnectionService extends Context.Tag("effect-provider-cache/ProviderConnectionService")<
  ProviderConnectionService,
  ProviderConnectionServiceApi
>() {
  /** TTL from `CACHE_PROVIDER_TTL` (seconds, default 300), grace from `CACHE_PROVIDER_GRACE` (default 300). */
  static readonly layer = Layer.effect(
    this,
    Effect.flatMap(Effect.all([defaultTtlConfig, defaultGraceConfig]), ([ttl, grace]) =>
      make({ ttl, grace }),
    ),
  )

  /** With an explicit TTL (and grace, default 5 minutes) instead of configuration. */
  static readonly layerWithTtl = (
    ttl: Duration.DurationInput,
    options: { readonly grace?: Duration.DurationInput | undefined } = {},
  ): Layer.Layer<ProviderConnectionService, never, CacheAside | ProviderConnectionRepository> =>
    Layer.effect(this, make({ ttl, grace: options.grace }))
}
