/**
 * Cache-aside for provider connections: the original handler's flow (cache, repository, store, ownership
 * check), single-flight on concurrent misses, invalidation on update and disconnect, and hit/miss stats.
 *
 *   npx tsx examples/cache-aside.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import {
  Cache,
  CacheAside,
  CacheStats,
  ProviderConnection,
  ProviderConnectionRepository,
  ProviderConnectionService,
  ProviderCredentials,
} from "../src/index.js"
import { CacheLive, isMain, timed } from "./cacheLayer.js"

const alice = "3f1c2b8e-2d4b-4f7a-9a0e-1b2c3d4e5f60"
const mallory = "9e8d7c6b-5a49-4382-8170-6f5e4d3c2b1a"
const connectionId = "0b7e2c1a-6d5f-4e3b-8a29-1c0d9e8f7a6b"

const seed = new ProviderConnection({
  id: connectionId,
  userId: alice,
  providerId: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
  providerSlug: "schwab",
  status: "active",
  alias: "Brokerage",
  credentials: new ProviderCredentials({
    encryptedData: new Uint8Array([0xff, 0x00, 0x9c, 0x41, 0xe2, 0x80]),
    credentialType: "oauth2",
    expiresAt: new Date("2030-01-01T00:00:00Z"),
  }),
  connectedAt: new Date("2026-01-10T09:30:00Z"),
  lastSyncAt: null,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  updatedAt: new Date("2026-01-10T09:30:00Z"),
})

const repository = ProviderConnectionRepository.inMemory([seed], { latency: "20 millis" })

export const program = Effect.gen(function* () {
  yield* Console.log("\n== Cache-aside: provider connections")
  const service = yield* ProviderConnectionService
  const cache = yield* Cache
  yield* cache.delete(`provider:conn:${connectionId}`)

  yield* timed("first read: miss, repository, store", service.getForUser(alice, connectionId))
  yield* timed("second read: cache hit", service.getForUser(alice, connectionId))

  yield* service.update(alice, connectionId, { alias: null })
  yield* timed("after an update the cache was invalidated: miss", service.getForUser(alice, connectionId))

  yield* service.disconnect(alice, connectionId)
  yield* cache.delete(`provider:conn:${connectionId}`)
  const lookupsBefore = repository.stats.lookups
  const results = yield* timed(
    "50 concurrent reads of a cold entry",
    Effect.all(
      Array.from({ length: 50 }, () => service.getForUser(alice, connectionId)),
      { concurrency: "unbounded" },
    ),
  )
  yield* Console.log(
    `    -> ${results.length} answers, ${repository.stats.lookups - lookupsBefore} repository lookup (single-flight); status ${results[0]?.status}`,
  )

  const denied = yield* Effect.flip(service.getForUser(mallory, connectionId))
  yield* Console.log(`  another user's read: ${denied._tag}`)
  const missing = yield* Effect.flip(service.getForUser(alice, "00000000-0000-4000-8000-000000000000"))
  yield* Console.log(`  unknown id: ${missing._tag}`)

  const stats = yield* CacheStats.get("provider_connection")
  yield* Console.log(
    `  stats provider_connection: hits=${stats.hits} misses=${stats.misses} errors=${stats.errors} hitRate=${(stats.hitRate * 100).toFixed(1)}%`,
  )
  yield* Console.log(`  repository lookups in total: ${repository.stats.lookups}`)
}).pipe(
  Effect.provide(
    ProviderConnectionService.layerWithTtl("5 minutes").pipe(
      Layer.provideMerge(CacheAside.layer),
      Layer.provideMerge(repository.layer),
      Layer.provideMerge(CacheLive),
    ),
  ),
)

if (isMain(import.meta.url)) NodeRuntime.runMain(program)
