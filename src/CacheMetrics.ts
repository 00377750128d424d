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
import { Effect, Exit, Metric, MetricBoundaries, MetricLabel, Option } from "effect"
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
  const hit = labels(["cache", cache], ["result", "hit"])
  const miss = labels(["cache", cache], ["result", "miss"])
  return (found) => localLookups.unsafeUpdate(1, found ? hit : miss)
}

/**
 * One array of labels per series, made once: a metric resolves its series from the array it is given, and
 * caches that by the array's identity. `Metric.tagged` builds a new array on every update, and resolving it
 * (hashing a new metric key) cost more than a local-tier hit or a whole batched GET.
 */
const labels = (...pairs: ReadonlyArray<readonly [string, string]>): ReadonlyArray<MetricLabel.MetricLabel> =>
  pairs.map(([key, value]) => MetricLabel.make(key, value))

/**
 * Records the metrics of one operation of a named cache. Built once per operation, so the hot path only
 * reads a clock and updates the metrics in place.
 *
 * @since 0.2.0
 * @category internal
 */
export const instrument = (cache: string, operation: string) => {
  const operationLabels = labels(["cache", cache], ["operation", operation])
  const hitLabels = labels(["cache", cache], ["operation", operation], ["result", "hit"])
  const missLabels = labels(["cache", cache], ["operation", operation], ["result", "miss"])
  const reasonLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const failed = (error: CacheError) => {
    let extra = reasonLabels.get(error.reason)
    if (extra === undefined) {
      extra = labels(["cache", cache], ["operation", operation], ["reason", error.reason])
      reasonLabels.set(error.reason, extra)
    }
    operationErrors.unsafeUpdate(1, extra)
  }
  const record =
    (count: (value: never) => void) =>
    <A, R>(self: Effect.Effect<A, CacheError, R>): Effect.Effect<A, CacheError, R> =>
      Effect.suspend(() => {
        const start = performance.now()
        return Effect.onExit(self, (exit) => {
          operationDuration.unsafeUpdate(performance.now() - start, operationLabels)
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
      lookups.unsafeUpdate(1, Option.isSome(found) ? hitLabels : missLabels),
    ),
    /** For getMany: each key's `Option`. */
    lookupMany: record((found: ReadonlyMap<string, Option.Option<unknown>>) => {
      let hit = 0
      for (const value of found.values()) if (Option.isSome(value)) hit++
      if (hit > 0) lookups.unsafeUpdate(hit, hitLabels)
      if (found.size - hit > 0) lookups.unsafeUpdate(found.size - hit, missLabels)
    }),
  }
}
