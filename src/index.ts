/**
 * @since 0.1.0
 */
export { Cache, CacheError, CacheErrorReason, type IncrementOptions, type SetOptions } from "./Cache.js"
export { CacheAside, type CacheAsideOptions, type CacheAsideService } from "./CacheAside.js"
export * as CacheStats from "./CacheStats.js"
export { escapeGlob } from "./internal/glob.js"
export * as MemoryCache from "./MemoryCache.js"
export {
  ConnectionStatus,
  CredentialType,
  IsoDateTime,
  ProviderConnection,
  ProviderConnectionJson,
  ProviderConnectionWire,
  ProviderCredentials,
} from "./ProviderConnection.js"
export {
  connectionKey,
  ProviderConnectionCache,
  type ProviderConnectionCacheOptions,
  type ProviderConnectionCacheService,
} from "./ProviderConnectionCache.js"
export {
  ConnectionNotFound,
  ConnectionNotOwned,
  type ConnectionPatch,
  ProviderConnectionRepository,
  ProviderConnectionService,
  RepositoryError,
} from "./ProviderConnectionService.js"
export {
  ProviderToken,
  ProviderTokenCache,
  REFRESH_MARGIN,
  tokenKey,
  tokenTtl,
} from "./ProviderTokenCache.js"
export { type RateLimitDecision, RateLimiter, type RateLimitRule, rateLimitKey } from "./RateLimiter.js"
export * as RedisCache from "./RedisCache.js"
export { Session, SessionStore, sessionKey } from "./SessionStore.js"
