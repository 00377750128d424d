/**
 * The Redis `Cache`, on ioredis, configured to fail fast: no offline queue, no per-request retries, no
 * re-sending of unanswered commands after a reconnect, a bounded reconnect delay, a command timeout, a
 * circuit breaker, and writes that Redis refuses once their deadline has passed.
 *
 * @since 0.1.0
 */

import type { ConnectionOptions } from "node:tls"
import {
  Config,
  ConfigError,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  Redacted,
  Runtime,
  type Scope,
} from "effect"
import { Cluster, Redis, type RedisOptions } from "ioredis"
import { Cache, type CacheError } from "./Cache.js"
import { instrumentLocal } from "./CacheMetrics.js"
import { trackConnection } from "./internal/connectionState.js"
import { cacheError, makeCache } from "./internal/makeCache.js"
import {
  clusterNodes,
  type LocalCacheTuning,
  makeRedisBackend,
  type RedisTuning,
} from "./internal/redisBackend.js"
import {
  durationProblem,
  MAX_TIMER_MS,
  parseSeedNode,
  parseSeedNodes,
  positiveIntegerProblem,
  redisUrlProblem,
} from "./internal/redisOptions.js"
import { makePasswordScrubber, makeSecretScrubber } from "./internal/secrets.js"
import { clusterVersionProblem, serverGuardOf, watchServer } from "./internal/serverGuard.js"
import { watchConnections } from "./internal/watchdog.js"

/**
 * The options of `layer` and `make`. They are checked when the layer is built, before any connection is made:
 * a bad one fails the layer with a `CacheError` of reason `InvalidArgument` (operation `"connect"`) whose
 * detail names the option and what is wrong, never its value.
 *
 * Every duration must be positive and at most 2^31−1 ms (about 24.8 days): Node fires a longer timer after
 * 1 ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisCacheOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. Default `redis://127.0.0.1:6379`.
   * The scheme must be lower case, the port 1-65535, and the database (`/3`, or `?db=3`) a number; reserved
   * characters in the password (`@ : / # ?`) must be percent-encoded. A database the server cannot select
   * fails the layer (or, on a later reconnect, every operation); it never falls back to DB 0.
   */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Prepended to every key. Default: none. */
  readonly keyPrefix?: string | undefined
  /** How long one command may take before it fails with `Timeout`. Default 500 ms. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** How long establishing a connection may take. Default 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** The cap of the exponential reconnect back-off. Default 500 ms. */
  readonly maxReconnectDelay?: Duration.DurationInput | undefined
  /** Consecutive connection/timeout failures that open the circuit breaker; a positive integer. Default 5. */
  readonly breakerThreshold?: number | undefined
  /**
   * How long an open breaker fails calls at once before letting one probe through. Default 1 second. The
   * breaker also closes as soon as the connection is ready again (after a reconnect), whichever is first.
   */
  readonly breakerCooldown?: Duration.DurationInput | undefined
  /**
   * How long a connection may leave sent commands without any reply before it is destroyed and replaced
   * (a peer or a NAT that went silent without closing the socket, a server that accepts connections but
   * never answers). Replies to any command count as signs of life, so a long pipeline that keeps answering
   * is never cut. Default: three command timeouts, at least 1 second.
   */
  readonly unresponsiveTimeout?: Duration.DurationInput | undefined
  /**
   * Commands sent to one node and not yet answered. Past this, operations fail at once with `Connection`
   * instead of queueing in memory (a hung node while callers keep sending). Default 10,000.
   */
  readonly maxPendingCommands?: number | undefined
  /**
   * Wrap every operation in a span (`Cache.get`, …). Default false: a span costs 10-25 µs, a large share of
   * a GET. The domain services (ProviderConnectionCache, CacheAside, …) always have spans.
   */
  readonly spans?: boolean | undefined
  /** The `cache` label of this cache's metrics (`CacheMetrics`). Default `"redis"`. */
  readonly name?: string | undefined
  /**
   * Record `CacheMetrics` (latency histogram, errors by reason, hits and misses) for every operation.
   * Default false: recording costs about 1.7 µs per GET and 4 µs per SET here (the Effect wrapper around
   * each call, measured with metrics on and off in one process), as much as a whole in-memory GET. The
   * domain services' counters (`CacheStats`) are always recorded.
   */
  readonly metrics?: boolean | undefined
  /** Extra TLS options (e.g. `ca`) for `rediss://` URLs. */
  readonly tls?: ConnectionOptions | undefined
  /**
   * Keep the values `get`, `getJson` and `getMany` read in a bounded in-process tier, kept coherent by Redis
   * itself (`CLIENT TRACKING`): a write to a cached key by any client, its expiry or eviction, or a FLUSHDB
   * removes it from the tier of every process that has it. Default: off (every read goes to Redis). See
   * `LocalCacheOptions` and the README's "Local tier".
   */
  readonly localCache?: LocalCacheOptions | undefined
}

/**
 * The local tier of a Redis cache (`RedisCacheOptions.localCache`).
 *
 * @example
 * ```ts
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layer({ localCache: { maxEntries: 10_000, ttl: "1 minute" } })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface LocalCacheOptions {
  /**
   * The most entries kept, a positive integer; required. One entry per key read (a key Redis did not have
   * is kept too, as a miss). Past it, the least recently read entry is dropped (exact LRU). It counts
   * entries, not bytes: memory is about `maxEntries` × (key + value + ~270 bytes).
   */
  readonly maxEntries: number
  /**
   * How long an entry may be served after it was read from Redis, at most. Default: no limit of its own;
   * an entry is then dropped only when Redis invalidates it, when the key's Redis ttl runs out (never served
   * past it, whether or not given here), when LRU evicts it, or when its node's tracking is lost. A bound
   * here limits what a lost invalidation could cost; Redis's guarantees make that loss detectable, so it
   * is not needed for correctness.
   */
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * The defaults, in one place for the README and the Config variant.
 *
 * @since 0.1.0
 * @category config
 */
export const defaults = {
  url: "redis://127.0.0.1:6379",
  commandTimeoutMs: 500,
  connectTimeoutMs: 2_000,
  maxReconnectDelayMs: 500,
  breakerThreshold: 5,
  breakerCooldownMs: 1_000,
  maxPendingCommands: 10_000,
  /** The unresponsive timeout is this many command timeouts, and never less than `minUnresponsiveMs`. */
  unresponsiveCommandTimeouts: 3,
  minUnresponsiveMs: 1_000,
} as const

const millis = (input: Duration.DurationInput | undefined, fallback: number) =>
  input === undefined ? fallback : Duration.toMillis(Duration.decode(input))

/**
 * Turns the options into the numbers the backend runs on.
 *
 * @since 0.1.0
 * @category internal
 */
export const tuning = (options: RedisCacheOptions): RedisTuning => ({
  commandTimeoutMs: millis(options.commandTimeout, defaults.commandTimeoutMs),
  breakerThreshold: options.breakerThreshold ?? defaults.breakerThreshold,
  breakerCooldownMs: millis(options.breakerCooldown, defaults.breakerCooldownMs),
  maxPendingCommands: options.maxPendingCommands ?? defaults.maxPendingCommands,
})

/**
 * See `RedisCacheOptions.unresponsiveTimeout`.
 *
 * @since 0.1.0
 * @category internal
 */
export const unresponsiveMillis = (options: RedisCacheOptions): number =>
  options.unresponsiveTimeout === undefined
    ? Math.max(
        defaults.unresponsiveCommandTimeouts * millis(options.commandTimeout, defaults.commandTimeoutMs),
        defaults.minUnresponsiveMs,
      )
    : millis(options.unresponsiveTimeout, 0)

/**
 * The ioredis options that make a client fail fast instead of queueing and retrying.
 *
 * @since 0.1.0
 * @category config
 */
export const failFastOptions = (options: RedisCacheOptions): RedisOptions => {
  const maxDelay = millis(options.maxReconnectDelay, defaults.maxReconnectDelayMs)
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    connectTimeout: millis(options.connectTimeout, defaults.connectTimeoutMs),
    // 50 ms, 100 ms, 200 ms, … up to the cap: a dropped connection is back in about 50 ms.
    retryStrategy: (attempt) => Math.min(25 * 2 ** Math.min(attempt, 10), maxDelay),
    // READONLY: this node was demoted to a replica (a failover). Drop the connection and send nothing again;
    // the next connection finds the master through the sentinels where there are some. 1 = no resend.
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 1 : false),
    // ioredis's CLIENT SETINFO costs two round trips per connect, and swallows the error reply of a server
    // that turns the connection away.
    disableClientInfo: true,
    // How long a closing socket may linger before it is destroyed.
    disconnectTimeout: millis(options.commandTimeout, defaults.commandTimeoutMs),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  }
}

/**
 * Acquires an ioredis client for the layer's scope: connects once (a failure is logged, not fatal, so the
 * application boots without its cache), logs outages once rather than once per reconnect attempt, and on
 * release quits within the command timeout or drops the socket. It does not check the options (`make` does):
 * given a malformed URL it keeps failing to connect, with the URL's credentials scrubbed from what it logs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClient = (options: RedisCacheOptions = {}): Effect.Effect<Redis, never, Scope.Scope> => {
  const url = Redacted.value(
    options.url === undefined
      ? Redacted.make(defaults.url)
      : Redacted.isRedacted(options.url)
        ? options.url
        : Redacted.make(options.url),
  )
  return acquireClient(
    () => watchServer(new Redis(url, failFastOptions(options))),
    options,
    makeSecretScrubber(url),
  )
}

const acquireClient = <C extends Redis | Cluster>(
  create: () => C,
  options: Pick<RedisCacheOptions, "commandTimeout" | "connectTimeout" | "unresponsiveTimeout">,
  scrub: (text: string) => string,
): Effect.Effect<C, never, Scope.Scope> =>
  Effect.gen(function* () {
    const timeoutMs = millis(options.commandTimeout, defaults.commandTimeoutMs)
    const client = yield* Effect.acquireRelease(Effect.sync(create), (client) =>
      closeClient(client, timeoutMs),
    )
    // Outages and recoveries are logged by the backend (once each); this keeps the reason for the details.
    const connection = trackConnection(client, scrub)
    const stopWatching = watchConnections(client, unresponsiveMillis(options))
    yield* Effect.addFinalizer(() => Effect.sync(stopWatching))

    // A real-time bound (not Effect.timeout, which a TestClock would freeze): the layer must build either way.
    const connected = yield* Effect.promise(() =>
      raceTimeout(
        client.connect().then(
          () => true,
          () => false,
        ),
        millis(options.connectTimeout, defaults.connectTimeoutMs) + 100,
        false,
      ),
    )
    if (!connected) {
      // A network-level failure means "not reachable"; anything else is Redis's own answer (WRONGPASS,
      // max number of clients reached, …), which must not be reported as an unreachable server.
      const reason = connection.lastError() ?? "no answer within the connect timeout"
      const unreachable =
        /^(connect |getaddrinfo |read |write |no reply|no answer|All sentinels are unreachable)/.test(reason)
      yield* Effect.logWarning(
        unreachable
          ? "Redis is not reachable at startup; the cache fails fast and keeps reconnecting"
          : reason.startsWith("LOADING")
            ? "Redis is still loading its dataset at startup; the cache fails fast until it is ready"
            : "Redis refused the connection at startup; the cache fails fast and keeps reconnecting",
      ).pipe(Effect.annotateLogs({ reason }))
    }
    return client
  })

const raceTimeout = <A>(promise: Promise<A>, ms: number, fallback: A): Promise<A> =>
  new Promise<A>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms)
    promise.then((value) => {
      clearTimeout(timer)
      resolve(value)
    })
  })

/**
 * QUIT lets Redis finish what it was sent; a hung or absent server gets the socket dropped after the timeout.
 * Resolves once the client has ended, or after two timeouts at the most.
 *
 * @since 0.1.0
 * @category constructors
 */
export const closeClient = (client: Redis | Cluster, timeoutMs: number) =>
  Effect.promise(async () => {
    if (client.status === "end") return
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()))
    await raceTimeout(
      client.quit().then(
        () => undefined,
        () => undefined,
      ),
      timeoutMs,
      undefined,
    )
    client.disconnect(false)
    await raceTimeout(ended, timeoutMs, undefined)
  })

/**
 * What is wrong with the options `layer`, `layerCluster` and their `make` share, as the detail of an
 * `InvalidArgument` error, or `undefined`.
 */
const tuningProblem = (options: RedisCacheOptions): string | undefined => {
  for (const name of [
    "commandTimeout",
    "connectTimeout",
    "maxReconnectDelay",
    "breakerCooldown",
    "unresponsiveTimeout",
  ] as const) {
    const input = options[name]
    if (input === undefined) continue
    const decoded = Duration.decodeUnknown(input)
    const problem = Option.isNone(decoded)
      ? "is not a duration"
      : durationProblem(Duration.toMillis(decoded.value))
    if (problem !== undefined) return `option ${name} ${problem}`
  }
  for (const name of ["breakerThreshold", "maxPendingCommands"] as const) {
    const value = options[name]
    const problem = value === undefined ? undefined : positiveIntegerProblem(value)
    if (problem !== undefined) return `option ${name} ${problem}`
  }
  const local = options.localCache
  if (local !== undefined) {
    const problem = positiveIntegerProblem(local.maxEntries)
    if (problem !== undefined) return `option localCache.maxEntries ${problem}`
    if (local.ttl !== undefined) {
      const decoded = Duration.decodeUnknown(local.ttl)
      if (Option.isNone(decoded) || !(Duration.toMillis(decoded.value) > 0)) {
        return "option localCache.ttl must be a positive duration"
      }
    }
  }
  return undefined
}

/** The local tier's settings, or undefined when it is off; the options are checked. */
const localCacheTuning = (options: RedisCacheOptions): LocalCacheTuning | undefined => {
  const local = options.localCache
  if (local === undefined) return undefined
  return {
    maxEntries: local.maxEntries,
    ttlMs: local.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(local.ttl)),
    maxReconnectDelayMs: millis(options.maxReconnectDelay, defaults.maxReconnectDelayMs),
    onLookup: options.metrics === true ? instrumentLocal(options.name ?? "redis") : undefined,
  }
}

const invalidOption = (detail: string) =>
  Effect.fail(cacheError({ reason: "InvalidArgument", operation: "connect", detail }))

/** Fails when the options cannot work: a malformed URL, a duration a timer cannot hold, … */
const checkOptions = (options: RedisCacheOptions): Effect.Effect<void, CacheError> => {
  const url =
    options.url === undefined
      ? defaults.url
      : Redacted.isRedacted(options.url)
        ? Redacted.value(options.url)
        : options.url
  const urlProblem = redisUrlProblem(url)
  const problem = urlProblem === undefined ? tuningProblem(options) : `option url ${urlProblem}`
  return problem === undefined ? Effect.void : invalidOption(problem)
}

/**
 * Logs each change of whether the server passes the checks of `watchServer` (database, version), for as
 * long as the scope lives.
 */
const logServerChecks = (onChange: ReturnType<typeof serverGuardOf>["onChange"]) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const stop = onChange((refusal) =>
      Runtime.runFork(runtime)(
        refusal === undefined
          ? Effect.logInfo("Redis passes the server checks again; cache operations resume")
          : Effect.logError("Redis cannot be used; every cache operation fails until it can").pipe(
              Effect.annotateLogs({ reason: refusal.detail ?? "" }),
            ),
      ),
    )
    yield* Effect.addFinalizer(() => Effect.sync(stop))
  })

/**
 * Builds a Redis-backed Cache whose client lives in the current scope.
 *
 * Fails with a `CacheError` (operation `"connect"`) when the options are invalid (reason `InvalidArgument`),
 * or when Redis answers at once but cannot be used: the URL's database cannot be selected, or the server is
 * older than Redis 7.0 (reason `Command`). An unreachable Redis does not fail it: it logs a warning and the
 * cache fails fast until Redis can be reached. A database or version problem found on a later (re)connect
 * fails every operation with reason `Command` until a connection passes the checks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: RedisCacheOptions = {},
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkOptions(options)
    const client = yield* makeClient(options)
    return yield* cacheOnClient(client, options, makeSecretScrubber(options.url))
  })

/**
 * The Cache over a single-node client (a URL's or a Sentinel's): a server that fails the checks of
 * `watchServer` now fails the build; one that fails them later refuses every operation, and is logged.
 */
const cacheOnClient = (
  client: Redis,
  options: RedisCacheOptions,
  scrub: (text: string) => string,
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.gen(function* () {
    const guard = serverGuardOf(client)
    const refusal = guard.refusal()
    if (refusal !== undefined) {
      return yield* Effect.fail(
        cacheError({ reason: "Command", operation: "connect", detail: refusal.detail }),
      )
    }
    yield* logServerChecks(guard.onChange)
    const backend = yield* makeRedisBackend(client, tuning(options), scrub, {
      refusal: guard.refusal,
      localCache: localCacheTuning(options),
      keyPrefix: options.keyPrefix,
    })
    return makeCache(backend, { ...options, name: options.name ?? "redis" })
  })

/**
 * The Redis Cache as a Layer. The client is acquired with the layer and closed with its scope. The layer
 * fails as `make` does: invalid options, or a reachable Redis whose database cannot be selected or whose
 * version is older than 7.0; an unreachable Redis does not fail it.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Cache } from "effect-provider-cache"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layer({ url: Redacted.make("redis://:s3cret@127.0.0.1:6379"), keyPrefix: "app:" })
 * const program = Effect.flatMap(Cache, (cache) => cache.set("k", "v", { ttl: "5 minutes" }))
 * Effect.runPromise(program.pipe(Effect.provide(CacheLive)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisCacheOptions = {}): Layer.Layer<Cache, CacheError> =>
  Layer.scoped(Cache, make(options))

/**
 * Reads the options from configuration:
 *
 * | variable | default |
 * | --- | --- |
 * | `REDIS_URL` (redacted) | `redis://127.0.0.1:6379` (also when set but empty) |
 * | `CACHE_KEY_PREFIX` | none |
 * | `REDIS_COMMAND_TIMEOUT` (ms) | 500 |
 * | `REDIS_CONNECT_TIMEOUT` (ms) | 2000 |
 * | `REDIS_MAX_RECONNECT_DELAY` (ms) | 500 |
 * | `REDIS_BREAKER_THRESHOLD` | 5 |
 * | `REDIS_BREAKER_COOLDOWN` (ms) | 1000 |
 * | `REDIS_LOCAL_CACHE_MAX_ENTRIES` | none: no local tier (`localCache.maxEntries`) |
 * | `REDIS_LOCAL_CACHE_TTL` (ms) | none (`localCache.ttl`; needs `REDIS_LOCAL_CACHE_MAX_ENTRIES`) |
 *
 * A value that cannot work is a `ConfigError` naming the variable, never its value: a `REDIS_URL` that is not
 * a `redis://` or `rediss://` URL with a host (see `RedisCacheOptions.url`), a millisecond value that is not
 * a whole number from 1 to 2^31−1, a threshold that is not a positive integer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * // The options as configured, e.g. to adjust one before building the layer.
 * const CacheLive = RedisCache.layerConfig(RedisCache.config)
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<RedisCacheOptions> = Config.all({
  url: redisUrl("REDIS_URL"),
  ...tuningConfig(),
})

/** The configuration shared by the single-node and the cluster layers: all but the URL. */
function tuningConfig() {
  return {
    keyPrefix: Config.string("CACHE_KEY_PREFIX").pipe(Config.option, Config.map(Option.getOrUndefined)),
    commandTimeout: positiveMillis("REDIS_COMMAND_TIMEOUT", defaults.commandTimeoutMs),
    connectTimeout: positiveMillis("REDIS_CONNECT_TIMEOUT", defaults.connectTimeoutMs),
    maxReconnectDelay: positiveMillis("REDIS_MAX_RECONNECT_DELAY", defaults.maxReconnectDelayMs),
    breakerThreshold: Config.integer("REDIS_BREAKER_THRESHOLD").pipe(
      Config.validate({
        message: "REDIS_BREAKER_THRESHOLD must be a positive integer",
        validation: (n) => n > 0,
      }),
      Config.withDefault(defaults.breakerThreshold),
    ),
    breakerCooldown: positiveMillis("REDIS_BREAKER_COOLDOWN", defaults.breakerCooldownMs),
    // Unset: derived from the command timeout (see RedisCacheOptions.unresponsiveTimeout).
    unresponsiveTimeout: millisConfig("REDIS_UNRESPONSIVE_TIMEOUT").pipe(
      Config.option,
      Config.map(Option.getOrUndefined),
    ),
    maxPendingCommands: Config.integer("REDIS_MAX_PENDING_COMMANDS").pipe(
      Config.validate({
        message: "REDIS_MAX_PENDING_COMMANDS must be a positive integer",
        validation: (n) => n > 0,
      }),
      Config.withDefault(defaults.maxPendingCommands),
    ),
    localCache: localCacheConfig(),
  }
}

/** `REDIS_LOCAL_CACHE_MAX_ENTRIES` and `REDIS_LOCAL_CACHE_TTL`; unset: no local tier. */
function localCacheConfig(): Config.Config<LocalCacheOptions | undefined> {
  const maxEntries = Config.integer("REDIS_LOCAL_CACHE_MAX_ENTRIES").pipe(
    Config.validate({
      message: "REDIS_LOCAL_CACHE_MAX_ENTRIES must be a positive integer",
      validation: (n) => n > 0,
    }),
    Config.option,
  )
  const ttl = Config.integer("REDIS_LOCAL_CACHE_TTL").pipe(
    Config.validate({
      message: "REDIS_LOCAL_CACHE_TTL must be a positive whole number of milliseconds",
      validation: (n) => n > 0,
    }),
    Config.map(Duration.millis),
    Config.option,
  )
  return Config.all([maxEntries, ttl]).pipe(
    Config.mapOrFail(([entries, ttlMs]) =>
      Option.isNone(entries)
        ? Option.isSome(ttlMs)
          ? Either.left(
              ConfigError.InvalidData(
                ["REDIS_LOCAL_CACHE_TTL"],
                "REDIS_LOCAL_CACHE_TTL is set but REDIS_LOCAL_CACHE_MAX_ENTRIES is not: the local tier is off without it",
              ),
            )
          : Either.right(undefined)
        : Either.right({ maxEntries: entries.value, ttl: Option.getOrUndefined(ttlMs) }),
    ),
  )
}

/** A Redis URL from `name`: unset or empty means the default; a malformed one fails without showing it. */
function redisUrl(name: string): Config.Config<Redacted.Redacted<string>> {
  return Config.redacted().pipe(
    Config.mapOrFail((url) => {
      if (Redacted.value(url).trim() === "") return Either.right(Redacted.make(defaults.url))
      const problem = redisUrlProblem(Redacted.value(url))
      return problem === undefined
        ? Either.right(url)
        : Either.left(
            ConfigError.InvalidData(
              [],
              `${name} ${problem} (the value is not shown: it may hold a password)`,
            ),
          )
    }),
    // Nested after the check, so its error is reported at the variable's path.
    Config.nested(name),
    Config.withDefault(Redacted.make(defaults.url)),
  )
}

function positiveMillis(name: string, fallback: number): Config.Config<Duration.Duration> {
  return millisConfig(name).pipe(Config.withDefault(Duration.millis(fallback)))
}

function millisConfig(name: string): Config.Config<Duration.Duration> {
  return Config.integer(name).pipe(
    Config.validate({
      message: `${name} must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS} (2^31-1)`,
      validation: (n) => n > 0 && n <= MAX_TIMER_MS,
    }),
    Config.map(Duration.millis),
  )
}

/**
 * `layer` with its options from a `Config` for each (Effect's `Config.Wrap` convention): the caller decides
 * where every value comes from. Options the `Config`s leave out take their defaults. Fails with the
 * `ConfigError` of a missing or malformed value, or as `layer` does.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layerConfig({
 *   url: Config.redacted("SESSIONS_REDIS_URL"),
 *   keyPrefix: Config.succeed("sessions:"),
 *   commandTimeout: Config.succeed("200 millis"),
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<RedisCacheOptions>,
): Layer.Layer<Cache, ConfigError.ConfigError | CacheError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * `layer` with its options read from the documented environment variables (`config`: `REDIS_URL`,
 * `CACHE_KEY_PREFIX`, `REDIS_COMMAND_TIMEOUT`, …), through the current `ConfigProvider`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache } from "effect-provider-cache"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * Effect.runPromise(Effect.flatMap(Cache, (cache) => cache.ping).pipe(Effect.provide(RedisCache.layerFromEnv)))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<Cache, ConfigError.ConfigError | CacheError> = layerConfig(config)

// ---------------------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------------------

/**
 * The options of `layerCluster` and `makeCluster`: the seed nodes and credentials, plus every option of
 * `RedisCacheOptions` but the URL, checked the same way. A seed node must have a host and a port in 1-65535.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisClusterOptions extends Omit<RedisCacheOptions, "url"> {
  /**
   * Seed nodes, `"host:port"` (`"host"` alone means port 6379; IPv6 as `"[::1]:7000"`) or `{ host, port }`;
   * the rest of the cluster is discovered. At least one.
   */
  readonly nodes: ReadonlyArray<string | { readonly host: string; readonly port: number }>
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted<string> | undefined
}

/** A seed node as ioredis takes it; `makeCluster` has already refused the malformed ones. */
const seedNode = (node: string | { readonly host: string; readonly port: number }) => {
  const parsed = parseSeedNode(node)
  return typeof parsed === "string" ? (typeof node === "string" ? { host: node, port: 6379 } : node) : parsed
}

/**
 * Acquires an ioredis `Cluster` with the same fail-fast settings as `makeClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClusterClient = (
  options: RedisClusterOptions,
): Effect.Effect<Cluster, never, Scope.Scope> => {
  const password =
    options.password === undefined
      ? undefined
      : Redacted.isRedacted(options.password)
        ? Redacted.value(options.password)
        : options.password
  const single = failFastOptions(options)
  const maxDelay = millis(options.maxReconnectDelay, defaults.maxReconnectDelayMs)
  const {
    retryStrategy: _retry,
    enableOfflineQueue: _offline,
    lazyConnect: _lazy,
    enableAutoPipelining: _auto,
    ...nodeOptions
  } = single
  const create = () =>
    new Cluster(options.nodes.map(seedNode), {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      scaleReads: "master",
      maxRedirections: 16,
      // Cluster-level waits turn an outage into latency; fail instead and let the breaker and the caller decide.
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 0,
      retryDelayOnFailover: 50,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
      slotsRefreshTimeout: millis(options.connectTimeout, defaults.connectTimeoutMs),
      redisOptions: {
        ...nodeOptions,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(password === undefined ? {} : { password }),
      },
    })
  return acquireClient(create, options, makePasswordScrubber(password))
}

/**
 * Builds a Cache over a Redis Cluster: multi-key operations are split by hash slot, `deletePattern` and
 * `flush` visit every master, and each master has a circuit breaker of its own.
 *
 * Fails with a `CacheError` (operation `"connect"`) on invalid options (reason `InvalidArgument`) and when a
 * master that answers at build time runs a Redis older than 7.0 (reason `Command`). An unreachable cluster
 * does not fail it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCluster = (
  options: RedisClusterOptions,
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.gen(function* () {
    const nodes = parseSeedNodes(options.nodes)
    const problem = typeof nodes === "string" ? `option nodes ${nodes}` : tuningProblem(options)
    if (problem !== undefined) return yield* invalidOption(problem)
    const cluster = yield* makeClusterClient(options)
    const tooOld =
      cluster.status === "ready"
        ? yield* Effect.promise(() => clusterVersionProblem(cluster.nodes("master")))
        : undefined
    if (tooOld !== undefined) {
      return yield* Effect.fail(cacheError({ reason: "Command", operation: "connect", detail: tooOld }))
    }
    const backend = yield* makeRedisBackend(
      cluster,
      tuning(options),
      makePasswordScrubber(options.password),
      {
        topology: clusterNodes(cluster),
        keyPrefix: options.keyPrefix,
        localCache: localCacheTuning(options),
      },
    )
    return makeCache(backend, { ...options, name: options.name ?? "redis" })
  })

/**
 * The Cache on a Redis Cluster, as a Layer. Calling code does not change.
 *
 * @example
 * ```ts
 * const CacheLive = RedisCache.layerCluster({ nodes: ["10.0.0.1:6379", "10.0.0.2:6379"], keyPrefix: "app:" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCluster = (options: RedisClusterOptions): Layer.Layer<Cache, CacheError> =>
  Layer.scoped(Cache, makeCluster(options))

/**
 * Cluster options from configuration: `REDIS_CLUSTER_NODES` (comma-separated `host:port`, required),
 * optional `REDIS_CLUSTER_USERNAME` and `REDIS_CLUSTER_PASSWORD` (redacted), and the same tuning variables as
 * `config` (`REDIS_URL` is not read). An empty `REDIS_CLUSTER_NODES`, an empty entry or one without a valid
 * port is a `ConfigError` naming the variable.
 *
 * @since 0.1.0
 * @category config
 */
export const clusterConfig: Config.Config<RedisClusterOptions> = Config.all({
  nodes: Config.array(Config.string()).pipe(
    Config.mapOrFail((nodes) => {
      const parsed = parseSeedNodes(nodes)
      return typeof parsed === "string"
        ? Either.left(ConfigError.InvalidData([], `REDIS_CLUSTER_NODES ${parsed}`))
        : Either.right(parsed)
    }),
    Config.nested("REDIS_CLUSTER_NODES"),
  ),
  username: Config.string("REDIS_CLUSTER_USERNAME").pipe(Config.option, Config.map(Option.getOrUndefined)),
  password: Config.redacted("REDIS_CLUSTER_PASSWORD").pipe(Config.option, Config.map(Option.getOrUndefined)),
  ...tuningConfig(),
})

/**
 * `layerCluster` with its options from a `Config` for each (Effect's `Config.Wrap` convention).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layerClusterConfig({
 *   nodes: Config.array(Config.string(), "CACHE_NODES"),
 *   password: Config.redacted("CACHE_PASSWORD"),
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClusterConfig = (
  options: Config.Config.Wrap<RedisClusterOptions>,
): Layer.Layer<Cache, ConfigError.ConfigError | CacheError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layerCluster))

/**
 * `layerCluster` with its options read from the documented environment variables (`clusterConfig`:
 * `REDIS_CLUSTER_NODES`, `REDIS_CLUSTER_USERNAME`, `REDIS_CLUSTER_PASSWORD` and the tuning variables).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClusterFromEnv: Layer.Layer<Cache, ConfigError.ConfigError | CacheError> =
  layerClusterConfig(clusterConfig)

// ---------------------------------------------------------------------------------------------------------
// Redis Sentinel
// ---------------------------------------------------------------------------------------------------------

/**
 * A master-replica deployment watched by Redis Sentinel: where the sentinels are, which master group to
 * follow, credentials, and the same fail-fast options as `layer`.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import type { RedisCache } from "effect-provider-cache/redis"
 *
 * const options: RedisCache.RedisSentinelOptions = {
 *   sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26379 }],
 *   name: "mymaster",
 *   password: Redacted.make("s3cret"),
 * }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RedisSentinelOptions extends Omit<RedisCacheOptions, "url" | "tls"> {
  /**
   * The sentinels to ask where the master is, tried in order until one answers. At least one; the others
   * a sentinel knows (`SENTINEL SENTINELS`) are added as they are learnt.
   */
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** The master group name, as in the sentinels' `sentinel monitor <name> …`. */
  readonly name: string
  /** ACL user on the Redis nodes. Default: none (the `default` user). */
  readonly username?: string | undefined
  /** Password on the Redis nodes (`requirepass`, or the ACL user's). Default: none. */
  readonly password?: string | Redacted.Redacted<string> | undefined
  /** ACL user on the sentinels. Default: none. */
  readonly sentinelUsername?: string | undefined
  /** Password on the sentinels (their own `requirepass`), which may differ from the nodes'. Default: none. */
  readonly sentinelPassword?: string | Redacted.Redacted<string> | undefined
  /** Database index, selected on every connection. Default 0. */
  readonly db?: number | undefined
  /** TLS options (e.g. `ca`); when given, both the nodes and the sentinels are reached over TLS. Default: plain TCP. */
  readonly tls?: ConnectionOptions | undefined
}

const reveal = (secret: string | Redacted.Redacted<string> | undefined): string | undefined => {
  const value =
    secret === undefined ? undefined : Redacted.isRedacted(secret) ? Redacted.value(secret) : secret
  return value === "" ? undefined : value
}

/** Scrubs both passwords: a sentinel's error may carry either. */
const sentinelScrubber = (options: RedisSentinelOptions) => {
  const nodes = makeSecretScrubber(reveal(options.password))
  const sentinels = makeSecretScrubber(reveal(options.sentinelPassword))
  return (text: string) => sentinels(nodes(text))
}

/**
 * Acquires an ioredis client that finds the master through the sentinels, with the same fail-fast settings
 * and connection handling as `makeClient`. It reconnects (asking the sentinels again) as soon as a sentinel
 * announces a new master (`+switch-master`), and when the node it is on answers `READONLY`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const role = Effect.scoped(
 *   Effect.flatMap(
 *     RedisCache.makeSentinelClient({ sentinels: [{ host: "10.0.0.1", port: 26379 }], name: "mymaster" }),
 *     (client) => Effect.promise(() => client.role()),
 *   ),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeSentinelClient = (
  options: RedisSentinelOptions,
): Effect.Effect<Redis, never, Scope.Scope> => {
  const maxDelay = millis(options.maxReconnectDelay, defaults.maxReconnectDelayMs)
  const username = options.username
  const password = reveal(options.password)
  const sentinelUsername = options.sentinelUsername
  const sentinelPassword = reveal(options.sentinelPassword)
  const create = () =>
    watchServer(
      new Redis({
        ...failFastOptions(options),
        sentinels: options.sentinels.map(({ host, port }) => ({ host, port })),
        name: options.name,
        role: "master",
        // Subscribes to +switch-master on the sentinels and drops the connection the moment one announces a
        // new master. Without it the client keeps writing to the old master, and every write is lost, until
        // the old master is demoted, about 10 s later.
        failoverDetector: true,
        // Finding the master loops over the sentinels inside one connection attempt: pace the rounds like
        // reconnects, and never give up (ioredis ends the client for good when this returns no number).
        sentinelRetryStrategy: (attempt) => Math.min(25 * 2 ** Math.min(attempt, 10), maxDelay),
        // A failover-detector subscription whose sentinel went away: retried after 1 s, up to every 10 s
        // (ioredis: every minute). Each retry of a dead sentinel prints one ioredis line to stderr.
        sentinelReconnectStrategy: (attempt) => Math.min(1_000 * 2 ** Math.min(attempt - 1, 4), 10_000),
        // A sentinel that accepts the connection and never answers must not stall finding the master.
        sentinelCommandTimeout: millis(options.commandTimeout, defaults.commandTimeoutMs),
        ...(options.db === undefined ? {} : { db: options.db }),
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        ...(sentinelUsername === undefined ? {} : { sentinelUsername }),
        ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
        ...(options.tls === undefined
          ? {}
          : { tls: options.tls, sentinelTLS: options.tls, enableTLSForSentinelMode: true }),
      }),
    )
  return acquireClient(create, options, sentinelScrubber(options))
}

/**
 * Builds a Cache on the master of a Sentinel deployment, in the current scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const program = Effect.scoped(
 *   Effect.flatMap(
 *     RedisCache.makeSentinel({ sentinels: [{ host: "10.0.0.1", port: 26379 }], name: "mymaster" }),
 *     (cache) => cache.set("k", "v"),
 *   ),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeSentinel = (
  options: RedisSentinelOptions,
): Effect.Effect<Cache.Service, CacheError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkSentinelOptions(options)
    const client = yield* makeSentinelClient(options)
    return yield* cacheOnClient(client, options, sentinelScrubber(options))
  })

/** Fails when the sentinel options cannot work: no sentinel, an empty name, a port out of range, bad tuning. */
const checkSentinelOptions = (options: RedisSentinelOptions): Effect.Effect<void, CacheError> => {
  const sentinels = parseSeedNodes(options.sentinels, null)
  if (typeof sentinels === "string") return invalidOption(`option sentinels ${sentinels}`)
  if (options.name === "") return invalidOption("option name must name the master group")
  if (options.db !== undefined && (!Number.isInteger(options.db) || options.db < 0)) {
    return invalidOption("option db must be a non-negative integer")
  }
  const problem = tuningProblem(options)
  return problem === undefined ? Effect.void : invalidOption(problem)
}

/**
 * The Cache on the master of a Sentinel deployment, as a Layer; it follows failovers. Calling code does not
 * change.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layerSentinel({
 *   sentinels: [
 *     { host: "10.0.0.1", port: 26379 },
 *     { host: "10.0.0.2", port: 26379 },
 *     { host: "10.0.0.3", port: 26379 },
 *   ],
 *   name: "mymaster",
 *   password: Redacted.make("s3cret"),
 *   keyPrefix: "app:",
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSentinel = (options: RedisSentinelOptions): Layer.Layer<Cache, CacheError> =>
  Layer.scoped(Cache, makeSentinel(options))

/** `REDIS_SENTINELS`: comma-separated `host:port` (a sentinel has no default port), as the cluster's seeds. */
const sentinelAddresses = (variable: string) => (text: string) => {
  const parsed = parseSeedNodes(text.split(","), null)
  return typeof parsed === "string"
    ? Either.left(ConfigError.InvalidData([], `${variable} ${parsed}`))
    : Either.right(parsed)
}

/**
 * Sentinel options from configuration, beside the tuning variables of `config`:
 *
 * | variable | default |
 * | --- | --- |
 * | `REDIS_SENTINELS` | required: comma-separated `host:port` (an IPv6 host in brackets) |
 * | `REDIS_SENTINEL_NAME` | required: the master group name |
 * | `REDIS_USERNAME`, `REDIS_PASSWORD` (redacted) | none: the nodes' ACL user and password |
 * | `REDIS_SENTINEL_USERNAME`, `REDIS_SENTINEL_PASSWORD` (redacted) | none: the sentinels' own |
 *
 * An empty `REDIS_SENTINELS`, or an entry without a host or with a port that is not 1-65535, is a
 * `ConfigError` naming the variable. `REDIS_URL` is not read.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * // REDIS_SENTINELS=10.0.0.1:26379,10.0.0.2:26379 REDIS_SENTINEL_NAME=mymaster
 * const options = Effect.runSync(RedisCache.sentinelConfig)
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const sentinelConfig: Config.Config<RedisSentinelOptions> = Config.all({
  sentinels: Config.string("REDIS_SENTINELS").pipe(Config.mapOrFail(sentinelAddresses("REDIS_SENTINELS"))),
  name: Config.nonEmptyString("REDIS_SENTINEL_NAME"),
  username: Config.string("REDIS_USERNAME").pipe(Config.option, Config.map(Option.getOrUndefined)),
  password: Config.redacted("REDIS_PASSWORD").pipe(Config.option, Config.map(Option.getOrUndefined)),
  sentinelUsername: Config.string("REDIS_SENTINEL_USERNAME").pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
  ),
  sentinelPassword: Config.redacted("REDIS_SENTINEL_PASSWORD").pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
  ),
  ...tuningConfig(),
})

/**
 * `layerSentinel` with its options from a `Config` for each (Effect's `Config.Wrap` convention).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const CacheLive = RedisCache.layerSentinelConfig({
 *   sentinels: Config.succeed([{ host: "10.0.0.1", port: 26379 }]),
 *   name: Config.string("CACHE_SENTINEL_GROUP"),
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSentinelConfig = (
  options: Config.Config.Wrap<RedisSentinelOptions>,
): Layer.Layer<Cache, ConfigError.ConfigError | CacheError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layerSentinel))

/**
 * `layerSentinel` with its options read from the documented environment variables (`sentinelConfig`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache } from "effect-provider-cache"
 * import { RedisCache } from "effect-provider-cache/redis"
 *
 * const program = Effect.flatMap(Cache, (cache) => cache.get("k"))
 * Effect.runPromise(program.pipe(Effect.provide(RedisCache.layerSentinelFromEnv)))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSentinelFromEnv: Layer.Layer<Cache, ConfigError.ConfigError | CacheError> =
  layerSentinelConfig(sentinelConfig)
