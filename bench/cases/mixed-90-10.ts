/**
 * `mixed-90-10`: 256 concurrent loops × 200 operations over the same 10,000 keys, every tenth a SET with the
 * 10-minute ttl, the rest GETs. Ours is `Cache.get` / `Cache.set` on `RedisCache`; the baseline is the faster
 * of raw ioredis (auto-pipelined) and raw node-redis 5 doing `GET` / `SET PX 600000` in the same order.
 * Target: ratio ≥ 1.0. Peer rows `mixed-90-10 peer: bentocache` / `… peer: cache-manager` do the same on
 * their own keys.
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

const NAME = "mixed-90-10"

/** Operation `i` is a write when this holds: 10 % of them, spread evenly over each loop. */
const isWrite = (i: number) => i % 10 === 0

export const mixed9010 = defineCase({
  name: NAME,
  rows: [NAME, ...peerRowNames(NAME)],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return { raw, ours: await ourRedisCache(redisUrl!), peers: await peers(redisUrl!) }
  },
  contenders: ({ raw: { ioredis, nodeRedis }, ours: { cache }, peers: p }) => {
    const nodeRedisTtl = { expiration: { type: "PX", value: TTL_MS } } as const
    return {
      [OURS]: () =>
        Effect.runPromise(
          effectWorkers(CONCURRENCY, PER_WORKER, (i) =>
            isWrite(i) ? cache.set(keyOf(i), VALUE, TTL) : cache.get(keyOf(i)),
          ),
        ),
      [IOREDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          isWrite(i) ? ioredis.set(keyOf(i), VALUE, "PX", TTL_MS) : ioredis.get(keyOf(i)),
        ),
      [NODE_REDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          isWrite(i) ? nodeRedis.set(keyOf(i), VALUE, nodeRedisTtl) : nodeRedis.get(keyOf(i)),
        ),
      [BENTOCACHE]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          isWrite(i)
            ? p.bento.set({ key: p.bentoKey(i), value: VALUE, ttl: TTL_MS })
            : p.bento.get({ key: p.bentoKey(i) }),
        ),
      [CACHE_MANAGER]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          isWrite(i) ? p.manager.set(p.managerKey(i), VALUE, TTL_MS) : p.manager.get(p.managerKey(i)),
        ),
    }
  },
  report: (medians) => {
    const baseline = fasterRaw(medians, `GET / SET PX ${TTL_MS}`)
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
