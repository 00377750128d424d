/**
 * @since 0.1.0
 */
export { Cache, CacheError, CacheErrorReason, type IncrementOptions, type SetOptions } from "./Cache.js"
export { escapeGlob } from "./internal/glob.js"
export * as MemoryCache from "./MemoryCache.js"
export * as RedisCache from "./RedisCache.js"
