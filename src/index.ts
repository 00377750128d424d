/**
 * @since 0.1.0
 */
export { Cache, CacheError, CacheErrorReason, type IncrementOptions, type SetOptions } from "./Cache.js"
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
  type ProviderConnectionCacheService,
} from "./ProviderConnectionCache.js"
export * as RedisCache from "./RedisCache.js"
