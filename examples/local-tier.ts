/**
 * The local tier (`localCache`) seen from two "instances" of a service (two layers here; two processes in
 * production): each keeps what it reads in process, and a write through either one, or by any other Redis
 * client, reaches the other's copy through Redis's invalidation messages (`CLIENT TRACKING`).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/local-tier.ts
 *
 * Needs Redis (the tier is a Redis feature): without `REDIS_URL` it says so and stops.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { Cache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { isMain, timed } from "./cacheLayer.js"

export const program = Effect.gen(function* () {
  const url = yield* Config.option(Config.redacted("REDIS_URL"))
  if (Option.isNone(url) || Redacted.value(url.value).trim() === "") {
    return yield* Console.log("\n== Local tier\n  needs Redis: set REDIS_URL to run this example")
  }
  const instance = RedisCache.layer({
    url: url.value,
    keyPrefix: "examples:local:",
    localCache: { maxEntries: 10_000, ttl: "5 minutes" },
  })
  const a = Context.get(yield* Layer.build(instance), Cache)
  const b = Context.get(yield* Layer.build(instance), Cache)

  yield* Console.log("\n== Local tier: two instances, A and B")
  yield* a.set("rate:EURUSD", "1.0841")
  const first = yield* timed("B reads it from Redis", b.get("rate:EURUSD"))
  yield* Console.log(`    ${Option.getOrElse(first, () => "none")}`)
  // Tracking is set up with the first read; from the next read on, B answers locally.
  yield* Effect.sleep("50 millis")
  yield* b.get("rate:EURUSD")
  const local = yield* timed("B reads it again, from its local tier", b.get("rate:EURUSD"))
  yield* Console.log(`    ${Option.getOrElse(local, () => "none")}`)
  yield* a.set("rate:EURUSD", "1.0843")
  yield* Console.log("  A writes 1.0843; Redis tells B to drop its copy")
  yield* Effect.sleep("5 millis")
  const after = yield* timed("B reads again", b.get("rate:EURUSD"))
  yield* Console.log(`    ${Option.getOrElse(after, () => "none")}`)
  yield* a.delete("rate:EURUSD")
}).pipe(Effect.scoped)

if (isMain(import.meta.url)) NodeRuntime.runMain(program.pipe(Effect.orDie))
