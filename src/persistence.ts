/**
 * `effect-provider-cache/persistence`: `@effect/experimental`'s `BackingPersistence` and
 * `ResultPersistence` on a `Cache`. An entry point of its own, so the root never loads the optional peers
 * `@effect/experimental` and `@effect/platform`.
 *
 * @since 0.1.0
 */

/**
 * `CachePersistence.layer` / `layerResult` / `make`: Effect's Persistence over the `Cache` in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export * as CachePersistence from "./CachePersistence.js"
