/**
 * `set-concurrent`: 256 concurrent loops × 200 SETs of 100-byte values over 10,000 keys, each with a
 * 10-minute ttl. Ours is `Cache.set(key, value, { ttl: "10 minutes" })` on `RedisCache`; the baseline is the
 * faster of raw ioredis (auto-pipelined) and raw node-redis 5 sending `SET key value PX 600000`. Target:
 * ratio ≥ 1.0. Peer rows `set-concurrent peer: bentocache` / `… peer: cache-manager` write the same values
 * with the same ttl to their own keys.
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
  TTL,
  TTL_MS,
  VALUE,
} from "../workload.js"

const NAME = "set-concurrent"

export const setConcurrent = defineCase({
  name: NAME,
  rows: [NAME, ...peerRowNames(NAME)],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return { raw, ours: await ourRedisCache(redisUrl!), peers: await peers(redisUrl!) }
  },
  contenders: ({ raw, ours: { cache }, peers: { bento, bentoKey, manager, managerKey } }) => {
    const nodeRedisTtl = { expiration: { type: "PX", value: TTL_MS } } as const
    return {
      [OURS]: () =>
        Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.set(keyOf(i), VALUE, TTL))),
      [IOREDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.ioredis.set(keyOf(i), VALUE, "PX", TTL_MS)),
      [NODE_REDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.nodeRedis.set(keyOf(i), VALUE, nodeRedisTtl)),
      [BENTOCACHE]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          bento.set({ key: bentoKey(i), value: VALUE, ttl: TTL_MS }),
        ),
      [CACHE_MANAGER]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) => manager.set(managerKey(i), VALUE, TTL_MS)),
    }
  },
  report: (medians) => {
    const baseline = fasterRaw(medians, `SET PX ${TTL_MS}`)
    return [
      row(NAME, medians[OURS]!, { baseline, target: "ratio >= 1.0", met: (r) => (r ?? 0) >= 1 }),
      ...peerRows(NAME, medians, baseline),
    ]
  },
  teardown: async (state) => {
    await state.peers.close()
    await state.ours.close()
    await state.raw.close()
  },
})
