/**
 * `local-get-hit-concurrent`: 256 concurrent loops × 200 `Cache.get` of the 10,000 100-byte keys on
 * `RedisCache` with `localCache` (all keys resident in the local tier), against the faster raw client's GET
 * of the same keys. Target (issue 14): ratio ≥ 5, and ahead of the row `local-get-hit-concurrent peer:
 * node-redis client-side cache` (node-redis 5 with `clientSideCache`, RESP3, the same keys resident in its
 * cache).
 */
import { Effect } from "effect"
import { createClient } from "redis"
import { Cache } from "../../src/index.js"
import { RedisCache } from "../../src/redis.js"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import {
  buildLayer,
  CONCURRENCY,
  fasterRaw,
  fillKeys,
  IOREDIS,
  KEYS,
  keyOf,
  NODE_REDIS,
  OURS,
  PER_WORKER,
  rawClients,
  VALUE,
} from "../workload.js"

const NAME = "local-get-hit-concurrent"
const PEER = "node-redis client-side cache"
const PEER_ROW = `${NAME} peer: ${PEER}`
const MAP = "Map.get inside Effect.sync"
const allKeys = Array.from({ length: KEYS }, (_, i) => keyOf(i))

export const localGetHitConcurrent = defineCase({
  name: NAME,
  rows: [NAME, PEER_ROW],
  setup: async ({ redisUrl }) => {
    const url = redisUrl!
    const raw = await rawClients(url)
    await fillKeys(raw.ioredis)
    const built = await buildLayer(RedisCache.layer({ url, localCache: { maxEntries: 2 * KEYS } }))
    const cache = Effect.runSync(Effect.provide(Cache, built.context))
    // Tracking is set up on the first read; reads before it are not kept. Read until every key is resident.
    for (let pass = 0; pass < 3; pass++) {
      await Effect.runPromise(cache.getMany(allKeys))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const peer = createClient({ url, RESP: 3, clientSideCache: { maxEntries: 2 * KEYS } })
    await peer.connect()
    for (const key of allKeys) await peer.get(key)
    const map = new Map(allKeys.map((key) => [key, VALUE]))
    return {
      raw,
      cache,
      peer,
      map,
      close: async () => {
        await built.close()
        await peer.close()
        await raw.close()
      },
    }
  },
  contenders: ({ raw, cache, peer, map }) => ({
    [OURS]: () => Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.get(keyOf(i)))),
    [IOREDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.ioredis.get(keyOf(i))),
    [NODE_REDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.nodeRedis.get(keyOf(i))),
    [PEER]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => peer.get(keyOf(i))),
    [MAP]: () =>
      Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, (i) => Effect.sync(() => map.get(keyOf(i))))),
  }),
  report: (medians) => {
    const baseline = fasterRaw(medians, "GET")
    const ahead = medians[OURS]!.opsPerSec > medians[PEER]!.opsPerSec
    return [
      row(NAME, medians[OURS]!, {
        baseline,
        target: "ratio >= 5, ahead of node-redis client-side cache",
        met: (r) => (r ?? 0) >= 5 && ahead,
        note: `${MAP} over the same keys and loops: ${Math.round(medians[MAP]!.opsPerSec).toLocaleString("en-US")} ops/s (ratio ${(medians[MAP]!.opsPerSec / baseline.sample.opsPerSec).toFixed(2)})`,
      }),
      row(PEER_ROW, medians[PEER]!, {
        baseline,
        target: "ours ahead",
        met: () => ahead,
        note: "node-redis 5, RESP3, clientSideCache { maxEntries: 20000 }, the same 10,000 keys resident",
      }),
    ]
  },
  teardown: (state) => state.close(),
})
