/**
 * The metrics a `Cache` layer records with `metrics: true`, on Effect `Metric`s, so any metrics exporter sees
 * them (with `@effect/opentelemetry`, the OpenTelemetry SDK's readers do). Labels are the cache's `name` and the
 * operation, and for errors the reason: never a key, so the number of series stays small and no key (which
 * may name a user) leaves the process.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `cache_operation_duration_ms` | histogram (0.05 ms to ~3 s, exponential) | `cache`, `operation` |
 * | `cache_operation_errors_total` | counter | `cache`, `operation`, `reason` |
 * | `cache_lookups_total` | counter (`getMany`: one per key) | `cache`, `operation`, `result` (`hit`, `miss`) |
 * | `cache_local_lookups_total` | counter (`RedisCache` with `localCache`: one per key read) | `cache`, `result` (`hit`, `miss`) |
 *
 * The domain services add `cache_hits_total`, `cache_misses_total` and `cache_errors_total` per
 * `namespace` (see `CacheStats`).
 *
 * @since 0.2.0
 */
import { Effect, Metric, MetricBoundaries, MetricLabel, Option } from "effect"
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
 * Counts one local-tier lookup of a named cache: `true` for a hit. The label arrays are made once, as in
 * `instrument`: a metric caches its series by the array's identity.
 *
 * @since 0.2.0
 * @category internal
 */
export const instrumentLocal = (cache: string): ((hit: boolean) => void) => {
  const hit: ReadonlyArray<MetricLabel.MetricLabel> = [
    MetricLabel.make("cache", cache),
    MetricLabel.make("result", "hit"),
  ]
  const miss: ReadonlyArray<MetricLabel.MetricLabel> = [
    MetricLabel.make("cache", cache),
    MetricLabel.make("result", "miss"),
  ]
  return (found) => localLookups.unsafeUpdate(1, found ? hit : miss)
}

/**
 * Records the metrics of one operation of a named cache. Built once per operation, so the hot path only
 * reads a clock and updates the metrics in place.
 *
 * Each update goes to the untagged metric with a label array made once: Effect resolves a metric's
 * registry entry through a cache keyed by that array's identity, while `Metric.tagged` builds a new array on
 * every update, and the lookup it then misses (hashing the whole key) cost more than a GET.
 *
 * @since 0.2.0
 * @category internal
 */
export const instrument = (cache: string, operation: string) => {
  const base = [MetricLabel.make("cache", cache), MetricLabel.make("operation", operation)]
  const hit: ReadonlyArray<MetricLabel.MetricLabel> = [...base, MetricLabel.make("result", "hit")]
  const miss: ReadonlyArray<MetricLabel.MetricLabel> = [...base, MetricLabel.make("result", "miss")]
  const byReason = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const failed = (error: CacheError) => {
    let labels = byReason.get(error.reason)
    if (labels === undefined) {
      labels = [...base, MetricLabel.make("reason", error.reason)]
      byReason.set(error.reason, labels)
    }
    operationErrors.unsafeUpdate(1, labels)
  }
  const record =
    (count: (value: never) => void) =>
    <A, R>(self: Effect.Effect<A, CacheError, R>): Effect.Effect<A, CacheError, R> =>
      // One continuation, not Effect.onExit (an uninterruptible region, a cleanup effect and a zip): on the
      // GET path the difference was a large share of the operation's own cost.
      Effect.suspend(() => {
        const start = performance.now()
        return Effect.matchCauseEffect(self, {
          onSuccess: (value) => {
            operationDuration.unsafeUpdate(performance.now() - start, base)
            count(value as never)
            return Effect.succeed(value)
          },
          onFailure: (cause) => {
            operationDuration.unsafeUpdate(performance.now() - start, base)
            if (cause._tag === "Fail") failed(cause.error)
            return Effect.failCause(cause)
          },
        })
      })
  return {
    /** For operations whose result is not a lookup. */
    timed: record(() => {}),
    /** For single reads: `Option` some is a hit. */
    lookup: record((found: Option.Option<unknown>) =>
      lookups.unsafeUpdate(1, Option.isSome(found) ? hit : miss),
    ),
    /** For getMany: each key's `Option`. */
    lookupMany: record((found: ReadonlyMap<string, Option.Option<unknown>>) => {
      let hits = 0
      for (const value of found.values()) if (Option.isSome(value)) hits++
      if (hits > 0) lookups.unsafeUpdate(hits, hit)
      if (found.size - hits > 0) lookups.unsafeUpdate(found.size - hits, miss)
    }),
  }
}
