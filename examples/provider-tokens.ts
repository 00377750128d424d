/**
 * OAuth access tokens cached for their lifetime minus a 5-minute refresh margin; a token with less lifetime
 * than the margin is not cached. The token is Redacted: printing it shows <redacted>.
 *
 *   npx tsx examples/provider-tokens.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Clock, Console, Duration, Effect, Layer, Option, Redacted } from "effect"
import { Cache, CacheAside, ProviderToken, ProviderTokenCache, tokenKey } from "../src/index.js"
import { CacheLive, isMain } from "./cacheLayer.js"

let fetches = 0
const fetchFromProvider = (lifetime: Duration.DurationInput) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    fetches++
    return new ProviderToken({
      accessToken: Redacted.make(`at-${fetches}-${Math.random().toString(36).slice(2)}`),
      tokenType: "Bearer",
      expiresAt: new Date(now + Duration.toMillis(lifetime)),
      scope: "accounts:read",
    })
  })

export const program = Effect.gen(function* () {
  yield* Console.log("\n== Provider tokens")
  const tokens = yield* ProviderTokenCache
  const cache = yield* Cache
  yield* tokens.invalidate("conn-1")
  yield* tokens.invalidate("conn-2")

  const first = yield* tokens.getOrFetch("conn-1", fetchFromProvider("1 hour"))
  const second = yield* tokens.getOrFetch("conn-1", fetchFromProvider("1 hour"))
  const ttl = yield* cache.ttl(tokenKey("conn-1"))
  yield* Console.log(
    `  1-hour token: fetched ${fetches} time(s) for 2 reads; cached for ${Option.match(ttl, { onNone: () => "-", onSome: Duration.format })}`,
  )
  yield* Console.log(
    `  the same token both times: ${Redacted.value(first.accessToken) === Redacted.value(second.accessToken)}; printed: ${String(first.accessToken)}`,
  )

  yield* tokens.getOrFetch("conn-2", fetchFromProvider("4 minutes"))
  yield* Console.log(
    `  4-minute token cached: ${yield* cache.exists(tokenKey("conn-2"))} (less than the 5-minute margin)`,
  )
}).pipe(
  Effect.provide(
    ProviderTokenCache.layer.pipe(Layer.provideMerge(CacheAside.layer), Layer.provideMerge(CacheLive)),
  ),
)

if (isMain(import.meta.url)) NodeRuntime.runMain(program)
