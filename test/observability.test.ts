/**
 * What an operator's OpenTelemetry pipeline receives: the domain spans with their attributes, and the cache
 * metrics (lookups by result, errors by reason, a latency histogram), labelled by cache, namespace and
 * operation, never by key. Wired the way the README shows: `@effect/opentelemetry`'s `NodeSdk.layer` with
 * the SDK's in-memory span exporter and a metric reader the test collects from.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { describe, expect, it } from "@effect/vitest"
import type { Attributes } from "@opentelemetry/api"
import { MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import { Cache, CacheAside, MemoryCache, ProviderConnectionCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { makeConnection } from "./support/fixtures.js"
import { redisUrl, uniquePrefix } from "./support/testRedis.js"

/** A reader the test collects from on demand. */
class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

interface Point {
  readonly name: string
  readonly attributes: Attributes
  readonly value: unknown
}

const pointsOf = (metrics: ResourceMetrics): Array<Point> =>
  metrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.flatMap((metric) =>
      (metric.dataPoints as ReadonlyArray<{ attributes: Attributes; value: unknown }>).map((point) => ({
        name: metric.descriptor.name,
        attributes: point.attributes,
        value: point.value,
      })),
    ),
  )

const setup = () => {
  const spans = new InMemorySpanExporter()
  const reader = new CollectingReader()
  const otel = NodeSdk.layer(() => ({
    resource: { serviceName: "cache-test" },
    spanProcessor: new SimpleSpanProcessor(spans),
    metricReader: reader,
  }))
  const collect = Effect.promise(() => reader.collect()).pipe(
    Effect.map(({ resourceMetrics }) => pointsOf(resourceMetrics)),
  )
  return { spans, collect, otel }
}

const backends = [
  ["MemoryCache", () => MemoryCache.layer({ name: "otel-memory", metrics: true })],
  [
    "RedisCache",
    () =>
      RedisCache.layer({
        url: redisUrl(0),
        keyPrefix: uniquePrefix("otel"),
        name: "otel-redis",
        metrics: true,
      }),
  ],
] as const

describe.each(backends)("OpenTelemetry export over %s", (label, cacheLayer) => {
  const cacheName = label === "MemoryCache" ? "otel-memory" : "otel-redis"

  it.live(
    "domain spans carry their attributes; cache metrics carry cache, operation and reason labels",
    () => {
      const { spans, collect, otel } = setup()
      return Effect.gen(function* () {
        const connections = yield* ProviderConnectionCache
        const cache = yield* Cache
        const connection = makeConnection()
        yield* connections.set(connection)
        expect(Option.isSome(yield* connections.get(connection.id))).toBe(true)
        expect(yield* connections.get("00000000-0000-4000-8000-00000000ffff")).toStrictEqual(Option.none())
        // An error of a known reason: a ttl the cache refuses.
        const refused = yield* Effect.flip(cache.set("otel:bad-ttl", "v", { ttl: 0 }))
        expect(refused.reason).toBe("InvalidArgument")
        yield* cache.getMany(["otel:bad-ttl", "otel:missing"])

        const finished = spans.getFinishedSpans()
        const get = finished.filter((span) => span.name === "ProviderConnectionCache.get")
        expect(get.length).toBe(2)
        expect(get.map((span) => span.attributes.connectionId)).toContain(connection.id)
        expect(finished.some((span) => span.name === "ProviderConnectionCache.set")).toBe(true)

        const points = yield* collect
        const find = (name: string, attributes: Attributes) =>
          points.filter(
            (point) =>
              point.name === name &&
              Object.entries(attributes).every(([key, value]) => point.attributes[key] === value),
          )
        const lookups = (operation: string, result: string) =>
          find("cache_lookups_total", { cache: cacheName, operation, result }).reduce(
            (sum, point) => sum + Number(point.value),
            0,
          )
        expect(lookups("get", "hit")).toBeGreaterThanOrEqual(1)
        expect(lookups("get", "miss")).toBeGreaterThanOrEqual(1)
        expect(lookups("getMany", "miss")).toBeGreaterThanOrEqual(2)
        expect(
          find("cache_operation_errors_total", {
            cache: cacheName,
            operation: "set",
            reason: "InvalidArgument",
          }).length,
        ).toBe(1)
        const durations = find("cache_operation_duration_ms", { cache: cacheName, operation: "get" })
        expect(durations.length).toBe(1)
        expect((durations[0]!.value as { count: number }).count).toBeGreaterThanOrEqual(2)
        // Never a key, in any label of any point.
        for (const point of points) {
          for (const value of Object.values(point.attributes)) {
            expect(String(value)).not.toContain(connection.id)
            expect(String(value)).not.toContain("otel:")
          }
        }
      }).pipe(
        Effect.provide(
          Layer.mergeAll(ProviderConnectionCache.layerWithTtl("1 minute"), CacheAside.layer).pipe(
            Layer.provideMerge(cacheLayer()),
            Layer.provideMerge(otel),
          ),
        ),
      )
    },
  )
})
