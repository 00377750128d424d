/**
 * The Cache the examples run on: `MemoryCache` by default, `RedisCache` when `REDIS_URL` is set (and not
 * empty). Against Redis the examples write under the `CACHE_KEY_PREFIX` (default `examples:`) and flush only
 * that. A malformed `REDIS_URL`, a database Redis cannot select or a Redis older than 7.0 stops the program
 * with an error that names the problem (never the URL); an unreachable Redis does not.
 */
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { type Cache, MemoryCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"

let announced = false
const announce = (text: string) =>
  Effect.suspend(() => {
    if (announced) return Effect.void
    announced = true
    return Console.log(text)
  })

export const CacheLive: Layer.Layer<Cache, never> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.redacted("REDIS_URL"))
    // `REDIS_URL=` is unset, as `RedisCache.config` reads it, not a request for 127.0.0.1:6379.
    if (Option.isNone(url) || Redacted.value(url.value).trim() === "") {
      yield* announce("Cache: in-memory (set REDIS_URL to run against Redis)")
      return MemoryCache.layer()
    }
    const options = yield* RedisCache.config
    yield* announce(`Cache: Redis (URL from REDIS_URL, key prefix "${options.keyPrefix ?? "examples:"}")`)
    return RedisCache.layer({ ...options, keyPrefix: options.keyPrefix ?? "examples:" })
  }).pipe(Effect.orDie),
).pipe(Layer.orDie)

/** Runs `self`, printing how long it took. */
export const timed = <A, E, R>(label: string, self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    const result = yield* self
    yield* Console.log(`  ${label} (${(performance.now() - start).toFixed(2)} ms)`)
    return result
  })

/** Whether this module is the one node was asked to run (so each example also runs alone). */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && moduleUrl === new URL(`file://${process.argv[1]}`).href
