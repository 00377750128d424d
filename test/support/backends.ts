/** The Cache layers the integration tests run against, each with its own way of letting time pass. */
import { Effect, type Layer, TestClock } from "effect"
import { type Cache, type CacheError, MemoryCache } from "../../src/index.js"
import { RedisCache } from "../../src/redis.js"
import { redisUrl, uniquePrefix } from "./testRedis.js"

export interface Backend {
  readonly name: string
  readonly layer: () => Layer.Layer<Cache, CacheError>
  /** TestClock for memory; a real sleep for Redis (tests run under it.effect, so both see TestClock). */
  readonly elapse: (ms: number) => Effect.Effect<void>
}

export const backends: ReadonlyArray<Backend> = [
  { name: "MemoryCache", layer: () => MemoryCache.layer(), elapse: (ms) => TestClock.adjust(ms) },
  {
    name: "RedisCache",
    layer: () => RedisCache.layer({ url: redisUrl(0), keyPrefix: uniquePrefix("it") }),
    elapse: (ms) =>
      Effect.zipRight(
        Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms))),
        // Keep the TestClock in step, for code that reads it (session and token TTLs).
        TestClock.adjust(ms),
      ),
  },
]
