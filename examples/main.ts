/**
 * `npm start`: every integration point in sequence, on the in-memory cache by default or on Redis when
 * `REDIS_URL` is set (the local-tier example needs Redis and says so without it).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { program as cacheAside } from "./cache-aside.js"
import { program as localTier } from "./local-tier.js"
import { program as providerTokens } from "./provider-tokens.js"
import { program as rateLimit } from "./rate-limit.js"
import { program as sessions } from "./sessions.js"

const main = Effect.gen(function* () {
  const start = performance.now()
  yield* cacheAside
  yield* rateLimit
  yield* sessions
  yield* providerTokens
  yield* localTier
  yield* Console.log(`\nAll examples finished in ${((performance.now() - start) / 1000).toFixed(2)} s`)
})

NodeRuntime.runMain(main)
