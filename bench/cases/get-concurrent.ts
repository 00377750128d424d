/**
 * `get-concurrent`: 256 concurrent loops × 200 GETs of existing 100-byte values over 10,000 keys. Ours is
 * `Cache.get` on `RedisCache` as 256 fibers of one Effect program; the baseline is the faster of raw ioredis
 * (auto-pipelined) and raw node-redis 5 on the same loops. Target: ratio ≥ 1.2. The peers run the same
 * loops on their own keys: rows `get-concurrent peer: bentocache` and `… peer: cache-manager`.
 */
import { Effect } from "effect"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import {
  BENTOCACHE,
  CACHE_MANAGER,
  CONCURRENCY,
  fasterRaw,
  fillKeys,
  IOREDIS,
  keyOf,
  NODE_REDIS,
  OURS,
  ourRedisCache,
  PER_WORKER,
  peerRowNames,
  peerRows,
  peers,
  rawClients,
} from "../workload.js"

const NAME = "get-concurrent"

export const getConcurrent = defineCase({
  name: NAME,
  rows: [NAME, ...peerRowNames(NAME)],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return { raw, ours: await ourRedisCache(redisUrl!), peers: await peers(redisUrl!) }
  },
  contenders: ({ raw, ours: { cache }, peers: { bento, bentoKey, manager, managerKey } }) => ({
    [OURS]: () => Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.get(keyOf(i)))),
    [IOREDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.ioredis.get(keyOf(i))),
    [NODE_REDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.nodeRedis.get(keyOf(i))),
    [BENTOCACHE]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => bento.get({ key: bentoKey(i) })),
    [CACHE_MANAGER]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => manager.get(managerKey(i))),
  }),
  report: (medians) => {
    const baseline = fasterRaw(medians, "GET")
    return [
      row(NAME, medians[OURS]!, { baseline, target: "ratio >= 1.2", met: (r) => (r ?? 0) >= 1.2 }),
      ...peerRows(NAME, medians, baseline),
    ]
  },
  teardown: async (state) => {
    await state.peers.close()
    await state.ours.close()
    await state.raw.close()
  },
})
