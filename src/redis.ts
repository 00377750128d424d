/**
 * `effect-provider-cache/redis`: the Redis layers. They live on an entry point of their own so that a
 * program importing only `effect-provider-cache` (the `Cache` contract, `MemoryCache`, the domain services)
 * never loads ioredis.
 *
 * @since 0.1.0
 */

/**
 * The ioredis-backed `Cache` layers: `RedisCache.layer`, `layerConfig`, `layerCluster`, `layerClusterConfig`.
 *
 * @since 0.1.0
 * @category layers
 */
export * as RedisCache from "./RedisCache.js"
