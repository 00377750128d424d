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
import { Cache } from "./Cache.js"
import { makeCache } from "./internal/makeCache.js"
import { clusterNodes, makeRedisBackend, type RedisTuning } from "./internal/redisBackend.js"
import { makeSecretScrubber } from "./internal/secrets.js"

/**
 * @since 0.1.0
 */
export interface RedisCacheOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. Default `redis://127.0.0.1:6379`. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Prepended to every key. Default: none. */
  readonly keyPrefix?: string | undefined
  /** How long one command may take before it fails with `Timeout`. Default 500 ms. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** How long establishing a connection may take. Default 2 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** The cap of the exponential reconnect back-off. Default 500 ms. */
  readonly maxReconnectDelay?: Duration.DurationInput | undefined
  /** Consecutive connection/timeout failures that open the circuit breaker. Default 5. */
  readonly breakerThreshold?: number | undefined
  /** How long an open breaker fails calls at once before letting one probe through. Default 1 second. */
  readonly breakerCooldown?: Duration.DurationInput | undefined
  /**
   * Wrap every operation in a span (`Cache.get`, …). Default false: a span costs 10-25 µs, a large share of
   * a GET. The domain services (ProviderConnectionCache, CacheAside, …) always have spans.
   */
  readonly spans?: boolean | undefined
  /** Extra TLS options (e.g. `ca`) for `rediss://` URLs. */
  readonly tls?: ConnectionOptions | undefined
}

/** The defaults, in one place for the README and the Config variant. */
export const defaults = {
  url: "redis://127.0.0.1:6379",
  commandTimeoutMs: 500,
  connectTimeoutMs: 2_000,
  maxReconnectDelayMs: 500,
  breakerThreshold: 5,
  breakerCooldownMs: 1_000,
} as const

const millis = (input: Duration.DurationInput | undefined, fallback: number) =>
  input === undefined ? fallback : Duration.toMillis(Duration.decode(input))

/** Turns the options into the numbers the backend runs on. */
export const tuning = (options: RedisCacheOptions): RedisTuning => ({
  commandTimeoutMs: millis(options.commandTimeout, defaults.commandTimeoutMs),
  breakerThreshold: options.breakerThreshold ?? defaults.breakerThreshold,
  breakerCooldownMs: millis(options.breakerCooldown, defaults.breakerCooldownMs),
})

/** The ioredis options that make a client fail fast instead of queueing and retrying. */
export const failFastOptions = (options: RedisCacheOptions): RedisOptions => {
  const maxDelay = millis(options.maxReconnectDelay, defaults.maxReconnectDelayMs)
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    connectTimeout: millis(options.connectTimeout, defaults.connectTimeoutMs),
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    // READONLY: this node was demoted to a replica (a failover). Drop the connection and send nothing again;
    // the next connection finds the master through the sentinels where there are some. 1 = no resend.
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 1 : false),
    // How long a closing socket may linger before it is destroyed.
    disconnectTimeout: millis(options.commandTimeout, defaults.commandTimeoutMs),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  }
}

/**
 * Acquires an ioredis client for the layer's scope: connects once (a failure is logged, not fatal, so the
 * application boots without its cache), logs outages once rather than once per reconnect attempt, and on
 * release quits within the command timeout or drops the socket.
 *
 * @since 0.1.0
 */
export const makeClient = (options: RedisCacheOptions = {}): Effect.Effect<Redis, never, Scope.Scope> => {
  const url = Redacted.value(
    options.url === undefined
      ? Redacted.make(defaults.url)
      : Redacted.isRedacted(options.url)
        ? options.url
        : Redacted.make(options.url),
  )
  return acquireClient(() => new Redis(url, failFastOptions(options)), options, makeSecretScrubber(url))
}

const acquireClient = <C extends Redis | Cluster>(
  create: () => C,
  options: Pick<RedisCacheOptions, "commandTimeout" | "connectTimeout">,
  scrub: (text: string) => string,
): Effect.Effect<C, never, Scope.Scope> =>
  Effect.gen(function* () {
    const timeoutMs = millis(options.commandTimeout, defaults.commandTimeoutMs)
    const runtime = yield* Effect.runtime<never>()
    const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)

    const client = yield* Effect.acquireRelease(Effect.sync(create), (client) =>
      closeClient(client, timeoutMs),
    )

    let healthy = true
    client.on("error", (error: unknown) => {
      if (!healthy) return
      healthy = false
      log(
        Effect.logWarning("Redis connection error; cache operations fail fast until it recovers").pipe(
          Effect.annotateLogs({ error: scrub(String(error instanceof Error ? error.message : error)) }),
        ),
      )
    })
    client.on("ready", () => {
      if (healthy) return
      healthy = true
      log(Effect.logInfo("Redis connection ready"))
    })

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
      yield* Effect.logWarning(
        "Redis is not reachable at startup; the cache fails fast and keeps reconnecting",
      )
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
 * Builds a Redis-backed Cache whose client lives in the current scope.
 *
 * @since 0.1.0
 */
export const make = (options: RedisCacheOptions = {}): Effect.Effect<Cache.Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* makeClient(options)
    const backend = yield* makeRedisBackend(client, tuning(options), makeSecretScrubber(options.url))
    return makeCache(backend, options)
  })

/**
 * The Redis Cache as a Layer. The client is acquired with the layer and closed with its scope.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Cache, RedisCache } from "effect-provider-cache"
 *
 * const CacheLive = RedisCache.layer({ url: Redacted.make("redis://:s3cret@127.0.0.1:6379"), keyPrefix: "app:" })
 * const program = Effect.flatMap(Cache, (cache) => cache.set("k", "v", { ttl: "5 minutes" }))
 * Effect.runPromise(program.pipe(Effect.provide(CacheLive)))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: RedisCacheOptions = {}): Layer.Layer<Cache> =>
  Layer.scoped(Cache, make(options))

/**
 * Reads the options from configuration:
 *
 * | variable | default |
 * | --- | --- |
 * | `REDIS_URL` (redacted) | `redis://127.0.0.1:6379` |
 * | `CACHE_KEY_PREFIX` | none |
 * | `REDIS_COMMAND_TIMEOUT` (ms) | 500 |
 * | `REDIS_CONNECT_TIMEOUT` (ms) | 2000 |
 * | `REDIS_MAX_RECONNECT_DELAY` (ms) | 500 |
 * | `REDIS_BREAKER_THRESHOLD` | 5 |
 * | `REDIS_BREAKER_COOLDOWN` (ms) | 1000 |
 *
 * @since 0.1.0
 */
export const config: Config.Config<RedisCacheOptions> = Config.all({
  url: Config.redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make(defaults.url))),
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
})

function positiveMillis(name: string, fallback: number): Config.Config<Duration.Duration> {
  return Config.integer(name).pipe(
    Config.validate({
      message: `${name} must be a positive number of milliseconds`,
      validation: (n) => n > 0,
    }),
    Config.withDefault(fallback),
    Config.map(Duration.millis),
  )
}

/**
 * `layer` with its options read from `config` (environment variables by default).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<Cache, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, layer),
)

// ---------------------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export interface RedisClusterOptions extends Omit<RedisCacheOptions, "url"> {
  /** Seed nodes, `"host:port"` or `{ host, port }`; the rest of the cluster is discovered. */
  readonly nodes: ReadonlyArray<string | { readonly host: string; readonly port: number }>
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted<string> | undefined
}

const seedNode = (node: string | { readonly host: string; readonly port: number }) => {
  if (typeof node !== "string") return { host: node.host, port: node.port }
  const at = node.lastIndexOf(":")
  return at === -1
    ? { host: node, port: 6379 }
    : { host: node.slice(0, at), port: Number(node.slice(at + 1)) }
}

/**
 * Acquires an ioredis `Cluster` with the same fail-fast settings as `makeClient`.
 *
 * @since 0.1.0
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
  return acquireClient(create, options, makeSecretScrubber(password))
}

/**
 * Builds a Cache over a Redis Cluster: multi-key operations are split by hash slot, `deletePattern` and
 * `flush` visit every master, and each master has a circuit breaker of its own.
 *
 * @since 0.1.0
 */
export const makeCluster = (options: RedisClusterOptions): Effect.Effect<Cache.Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const cluster = yield* makeClusterClient(options)
    const backend = yield* makeRedisBackend(
      cluster,
      tuning(options),
      makeSecretScrubber(options.password),
      clusterNodes(cluster),
    )
    return makeCache(backend, options)
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
 */
export const layerCluster = (options: RedisClusterOptions): Layer.Layer<Cache> =>
  Layer.scoped(Cache, makeCluster(options))

/**
 * Cluster options from configuration: `REDIS_CLUSTER_NODES` (comma-separated `host:port`), optional
 * `REDIS_CLUSTER_USERNAME` and `REDIS_CLUSTER_PASSWORD` (redacted), and the same tuning variables as `config`.
 *
 * @since 0.1.0
 */
export const clusterConfig: Config.Config<RedisClusterOptions> = Config.all({
  nodes: Config.array(Config.string(), "REDIS_CLUSTER_NODES").pipe(
    Config.validate({
      message: "REDIS_CLUSTER_NODES must name at least one host:port",
      validation: (n) => n.length > 0,
    }),
  ),
  username: Config.string("REDIS_CLUSTER_USERNAME").pipe(Config.option, Config.map(Option.getOrUndefined)),
  password: Config.redacted("REDIS_CLUSTER_PASSWORD").pipe(Config.option, Config.map(Option.getOrUndefined)),
  rest: config,
}).pipe(Config.map(({ rest: { url: _url, ...rest }, ...cluster }) => ({ ...rest, ...cluster })))

/**
 * `layerCluster` with its options read from `clusterConfig`.
 *
 * @since 0.1.0
 */
export const layerClusterConfig: Layer.Layer<Cache, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(clusterConfig, layerCluster),
)

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
 * import type { RedisCache } from "effect-provider-cache"
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
 * import { RedisCache } from "effect-provider-cache"
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
      sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
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
    })
  return acquireClient(create, options, sentinelScrubber(options))
}

/**
 * Builds a Cache on the master of a Sentinel deployment, in the current scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisCache } from "effect-provider-cache"
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
): Effect.Effect<Cache.Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* makeSentinelClient(options)
    const backend = yield* makeRedisBackend(client, tuning(options), sentinelScrubber(options))
    return makeCache(backend, options)
  })

/**
 * The Cache on the master of a Sentinel deployment, as a Layer; it follows failovers. Calling code does not
 * change.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { RedisCache } from "effect-provider-cache"
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
export const layerSentinel = (options: RedisSentinelOptions): Layer.Layer<Cache> =>
  Layer.scoped(Cache, makeSentinel(options))

const sentinelAddresses = (variable: string) => (text: string) => {
  const invalid = (detail: string) =>
    Either.left(
      ConfigError.InvalidData(
        [],
        `${variable} must be comma-separated host:port pairs (port 1-65535): ${detail}`,
      ),
    )
  const entries = text.split(",").map((entry) => entry.trim())
  if (entries.every((entry) => entry === "")) return invalid("it is empty")
  const addresses: Array<{ host: string; port: number }> = []
  for (const entry of entries) {
    const at = entry.lastIndexOf(":")
    const host = at === -1 ? "" : entry.slice(0, at).replace(/^\[(.*)\]$/, "$1")
    const port = at === -1 ? "" : entry.slice(at + 1)
    const number = Number(port)
    if (host === "" || !/^\d+$/.test(port) || number < 1 || number > 65_535) {
      return invalid(`${JSON.stringify(entry)} is not host:port`)
    }
    addresses.push({ host, port: number })
  }
  return Either.right(addresses)
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
 * import { RedisCache } from "effect-provider-cache"
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
  rest: config,
}).pipe(Config.map(({ rest: { url: _url, ...rest }, ...sentinel }) => ({ ...rest, ...sentinel })))

/**
 * `layerSentinel` with its options read from `sentinelConfig` (environment variables by default).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cache, RedisCache } from "effect-provider-cache"
 *
 * const program = Effect.flatMap(Cache, (cache) => cache.get("k"))
 * Effect.runPromise(program.pipe(Effect.provide(RedisCache.layerSentinelConfig)))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSentinelConfig: Layer.Layer<Cache, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(sentinelConfig, layerSentinel),
)
