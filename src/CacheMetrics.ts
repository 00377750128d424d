/**
 * The metrics every `Cache` layer records, on Effect `Metric`s, so any metrics exporter sees them (with
 * `@effect/opentelemetry`, the OpenTelemetry SDK's readers do). Labels are the cache's `name` and the
 * operation, and for errors the reason: never a key, so the number of series stays small and no key (which
 * may name a user) leaves the process.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `cache_operation_duration_ms` | histogram (0.05 ms to ~3 s, exponential) | `cache`, `operation` |
 * | `cache_operation_errors_total` | counter | `cache`, `operation`, `reason` |
 * | `cache_lookups_total` | counter (`getMany`: one per key) | `cache`, `operation`, `result` (`hit`, `miss`) |
| `cache_local_lookups_total` | counter (`RedisCache` with `localCache`: one per key read) | `cache`, `result` (`hit`, `miss`) |
 *
 * The domain services add `cache_hits_total`, `cache_misses_total` and `cache_errors_total` per
 * `namespace` (see `CacheStats`).
 *
 * @since 0.2.0
 */
import { Effect, Exit, Metric, MetricBoundaries, type MetricLabel, Option } from "effect"
import type { CacheError } from "./Cache.js"

/**
 * How long each operation took, in milliseconds, failures included.
 *
 * @since 0.2.0
 * @category metrics
 */
export const operationDuration = Metric.histogram(
  "cache_operation_duration_ms",
  MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 16 }),
  "Duration of Cache operations in milliseconds",
)

/**
 * Failed operations, by reason (`Connection`, `Timeout`, `Command`, `Serialization`, `InvalidArgument`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const operationErrors = Metric.counter("cache_operation_errors_total", {
  description: "Cache operations that failed, by reason",
})

/**
 * Reads that found a value (`hit`) or not (`miss`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const lookups = Metric.counter("cache_lookups_total", {
  description: "Cache reads by result (hit or miss)",
})

/**
 * Keys that `get`, `getJson` and `getMany` of a `RedisCache` with `localCache` looked up in the local tier:
 * `hit` when the local tier answered, `miss` when the read went to Redis (whatever Redis then answered: that
 * shows in `cache_lookups_total`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const localLookups = Metric.counter("cache_local_lookups_total", {
  description: "Keys looked up in the local tier of a Redis cache, by result (hit or miss)",
})

/**
 * Counts one local-tier lookup of a named cache: `true` for a hit.
 *
 * @since 0.2.0
 * @category internal
 */
export const instrumentLocal = (cache: string): ((hit: boolean) => void) => {
  const hits = Metric.tagged(localLookups, "cache", cache).pipe(Metric.tagged("result", "hit"))
  const misses = Metric.tagged(localLookups, "cache", cache).pipe(Metric.tagged("result", "miss"))
  const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []
  return (hit) => (hit ? hits : misses).unsafeUpdate(1, noTags)
}

/**
 * Records the metrics of one operation of a named cache. Built once per operation, so the hot path only
 * reads a clock and updates the metrics in place.
 *
 * @since 0.2.0
 * @category internal
 */
export const instrument = (cache: string, operation: string) => {
  const duration = Metric.tagged(operationDuration, "cache", cache).pipe(
    Metric.tagged("operation", operation),
  )
  const errors = Metric.tagged(operationErrors, "cache", cache).pipe(Metric.tagged("operation", operation))
  const hits = Metric.tagged(lookups, "cache", cache).pipe(
    Metric.tagged("operation", operation),
    Metric.tagged("result", "hit"),
  )
  const misses = Metric.tagged(lookups, "cache", cache).pipe(
    Metric.tagged("operation", operation),
    Metric.tagged("result", "miss"),
  )
  const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []
  const reasonTags = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const failed = (error: CacheError) => {
    let extra = reasonTags.get(error.reason)
    if (extra === undefined) {
      extra = [{ key: "reason", value: error.reason } as MetricLabel.MetricLabel]
      reasonTags.set(error.reason, extra)
    }
    errors.unsafeUpdate(1, extra)
  }
  const record =
    (count: (value: never) => void) =>
    <A, R>(self: Effect.Effect<A, CacheError, R>): Effect.Effect<A, CacheError, R> =>
      Effect.suspend(() => {
        const start = performance.now()
        return Effect.onExit(self, (exit) => {
          duration.unsafeUpdate(performance.now() - start, noTags)
          if (Exit.isSuccess(exit)) count(exit.value as never)
          else if (exit.cause._tag === "Fail") failed(exit.cause.error)
          return Effect.void
        })
      })
  return {
    /** For operations whose result is not a lookup. */
    timed: record(() => {}),
    /** For single reads: `Option` some is a hit. */
    lookup: record((found: Option.Option<unknown>) =>
      (Option.isSome(found) ? hits : misses).unsafeUpdate(1, noTags),
    ),
    /** For getMany: each key's `Option`. */
    lookupMany: record((found: ReadonlyMap<string, Option.Option<unknown>>) => {
      let hit = 0
      for (const value of found.values()) if (Option.isSome(value)) hit++
      if (hit > 0) hits.unsafeUpdate(hit, noTags)
      if (found.size - hit > 0) misses.unsafeUpdate(found.size - hit, noTags)
    }),
  }
}
