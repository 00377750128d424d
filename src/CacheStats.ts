/**
 * Hit/miss/error statistics per namespace, on Effect `Metric` counters (so any metrics exporter sees them),
 * labelled by namespace and never by key.
 *
 * @since 0.1.0
 */
import { Effect, Metric } from "effect"

const hits = Metric.counter("cache_hits_total", { description: "Cache lookups answered from the cache" })
const misses = Metric.counter("cache_misses_total", { description: "Cache lookups that went to the source" })
const errors = Metric.counter("cache_errors_total", {
  description: "Cache operations that failed and were failed open",
})

/**
 * What one cache read came to.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "hit" | "miss" | "error"

const counterOf = { hit: hits, miss: misses, error: errors } as const

/**
 * Counts one outcome in a namespace.
 *
 * @since 0.1.0
 * @category metrics
 */
export const record = (namespace: string, outcome: Outcome): Effect.Effect<void> =>
  Metric.increment(Metric.tagged(counterOf[outcome], "namespace", namespace))

/**
 * The original service's statistics of one namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly hits: number
  readonly misses: number
  readonly errors: number
  /** hits / (hits + misses); 0 before any lookup. */
  readonly hitRate: number
}

/**
 * Reads the statistics of a namespace.
 *
 * @example
 * ```ts
 * const { hits, misses, hitRate } = yield* CacheStats.get("provider_connection")
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const get = (namespace: string): Effect.Effect<Stats> =>
  Effect.gen(function* () {
    const read = (outcome: Outcome) =>
      Effect.map(Metric.value(Metric.tagged(counterOf[outcome], "namespace", namespace)), (state) =>
        Number(state.count),
      )
    const [h, m, e] = yield* Effect.all([read("hit"), read("miss"), read("error")])
    return { hits: h, misses: m, errors: e, hitRate: h + m === 0 ? 0 : h / (h + m) }
  })
