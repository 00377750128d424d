/**
 * `effect-provider-cache/key-value-store`: `@effect/platform`'s `KeyValueStore` on a `Cache`. An entry point
 * of its own, so the root never loads the optional peer `@effect/platform`.
 *
 * @since 0.1.0
 */

/**
 * `CacheKeyValueStore.layer` / `make`: a `KeyValueStore` over the `Cache` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export * as CacheKeyValueStore from "./CacheKeyValueStore.js"
