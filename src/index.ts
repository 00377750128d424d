/**
 * `effect-provider-cache`: the `Cache` contract, the in-memory layer and the domain services. Nothing here
 * loads ioredis or an optional peer: `RedisCache` is on `effect-provider-cache/redis`, the adapters on
 * `effect-provider-cache/key-value-store` and `effect-provider-cache/persistence`.
 *
 * @since 0.1.0
 */

/**
 * The `Cache` service tag, its error and its option types.
 *
 * @since 0.1.0
 * @category models
 */
export {
  Cache,
  CacheError,
  CacheErrorReason,
  type IncrementOptions,
  type SetManyEntry,
  type SetOptions,
} from "./Cache.js"
/**
 * Cache-aside with single-flight over a `Cache`.
 *
 * @since 0.1.0
 * @category services
 */
export { CacheAside, type CacheAsideOptions, type CacheAsideService, leaseKey } from "./CacheAside.js"
/**
 * The metrics a `Cache` layer records with `metrics: true`: latency, errors by reason, hits and misses, by
 * cache and operation.
 *
 * @since 0.2.0
 * @category metrics
 */
export * as CacheMetrics from "./CacheMetrics.js"
/**
 * Hit, miss and error counters (Effect `Metric`) by namespace.
 *
 * @since 0.1.0
 * @category metrics
 */
export * as CacheStats from "./CacheStats.js"
/**
 * Escapes Redis glob characters, for user input spliced into a `deletePattern` / `countPattern` pattern.
 *
 * @since 0.1.0
 * @category utils
 */
export { escapeGlob } from "./internal/glob.js"
/**
 * The in-memory `Cache` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export * as MemoryCache from "./MemoryCache.js"
/**
 * The provider-connection domain model and its wire format.
 *
 * @since 0.1.0
 * @category models
 */
export {
  ConnectionStatus,
  CredentialType,
  IsoDateTime,
  ProviderConnection,
  ProviderConnectionJson,
  ProviderConnectionWire,
  ProviderCredentials,
} from "./ProviderConnection.js"
/**
 * The fail-open provider-connection cache.
 *
 * @since 0.1.0
 * @category services
 */
export {
  connectionKey,
  ProviderConnectionCache,
  type ProviderConnectionCacheOptions,
  type ProviderConnectionCacheService,
} from "./ProviderConnectionCache.js"
/**
 * The provider-connection lookup flow (cache, repository, ownership check) with invalidation.
 *
 * @since 0.1.0
 * @category services
 */
export {
  ConnectionNotFound,
  ConnectionNotOwned,
  type ConnectionPatch,
  defaultGraceConfig,
  ProviderConnectionRepository,
  ProviderConnectionService,
  RepositoryError,
} from "./ProviderConnectionService.js"
/**
 * The provider OAuth-token cache.
 *
 * @since 0.1.0
 * @category services
 */
export {
  ProviderToken,
  ProviderTokenCache,
  REFRESH_MARGIN,
  tokenKey,
  tokenTtl,
} from "./ProviderTokenCache.js"
/**
 * The atomic fixed-window rate limiter.
 *
 * @since 0.1.0
 * @category services
 */
export { type RateLimitDecision, RateLimiter, type RateLimitRule, rateLimitKey } from "./RateLimiter.js"
/**
 * The session store.
 *
 * @since 0.1.0
 * @category services
 */
export { Session, SessionStore, sessionKey, sessionTag } from "./SessionStore.js"
