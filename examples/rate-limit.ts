/**
 * A fixed-window rate limiter: 5 requests per 2-second window per user and endpoint. The counter and its
 * expiry are created in one atomic step, so no crash can leave a counter without expiry.
 *
 *   npx tsx examples/rate-limit.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Layer, Option } from "effect"
import { Cache, RateLimiter, rateLimitKey } from "../src/index.js"
import { CacheLive, isMain } from "./cacheLayer.js"

export const program = Effect.gen(function* () {
  yield* Console.log("\n== Rate limiting: 5 requests per 2 s window")
  const limiter = yield* RateLimiter
  const cache = yield* Cache
  const rule = { limit: 5, window: "2 seconds" } as const
  yield* cache.delete(rateLimitKey("user-42", "GET /accounts"))

  const line = []
  for (let i = 1; i <= 7; i++) {
    const decision = yield* limiter.check("user-42", "GET /accounts", rule)
    line.push(decision.allowed ? "allowed" : "refused")
    if (!decision.allowed && i === 7) {
      const retry = Option.map(decision.retryAfter, Duration.format)
      yield* Console.log(
        `  requests 1-7: ${line.join(", ")}; retry after ${Option.getOrElse(retry, () => "?")}`,
      )
    }
  }
  const ttl = yield* cache.ttl(rateLimitKey("user-42", "GET /accounts"))
  yield* Console.log(
    `  the counter expires with its window: ttl ${Option.match(ttl, { onNone: () => "none (bug!)", onSome: Duration.format })}`,
  )
  yield* Console.log("  waiting for the window to roll over…")
  yield* Effect.sleep("2100 millis")
  const after = yield* limiter.check("user-42", "GET /accounts", rule)
  yield* Console.log(`  next request: ${after.allowed ? "allowed" : "refused"} (count ${after.count})`)
}).pipe(Effect.provide(RateLimiter.layer.pipe(Layer.provideMerge(CacheLive))))

if (isMain(import.meta.url)) NodeRuntime.runMain(program)
