/**
 * `set-concurrent`: 256 concurrent loops × 200 SETs of 100-byte values over 10,000 keys, each with a
 * 10-minute ttl. Ours is `Cache.set(key, value, { ttl: "10 minutes" })` on `RedisCache`; the baseline is the
 * faster of raw ioredis (auto-pipelined) and raw node-redis 5 sending `SET key value PX 600000`. Target:
 * ratio ≥ 1.0. The peers write the same values with the same ttl to their own keys, in a case of their own
 * (`set-concurrent-peers.ts`).
 */
import { defineCase, row } from "../BenchCase.js"
import {
  fasterRaw,
  fillKeys,
  keyOf,
  OURS,
  ourRedisCache,
  type PeerWorkload,
  rawClients,
  rawContenders,
  TTL,
  TTL_MS,
  VALUE,
} from "../workload.js"

const nodeRedisTtl = { expiration: { type: "PX", value: TTL_MS } } as const

export const setWorkload: PeerWorkload = {
  name: "set-concurrent",
  operation: `SET PX ${TTL_MS}`,
  ours: (cache, i) => cache.set(keyOf(i), VALUE, TTL),
  ioredis: (client, i) => client.set(keyOf(i), VALUE, "PX", TTL_MS),
  nodeRedis: (client, i) => client.set(keyOf(i), VALUE, nodeRedisTtl),
  bentocache: (p, i) => p.bento.set({ key: p.bentoKey(i), value: VALUE, ttl: TTL_MS }),
  cacheManager: (p, i) => p.manager.set(p.managerKey(i), VALUE, TTL_MS),
}

export const setConcurrent = defineCase({
  name: setWorkload.name,
  rows: [setWorkload.name],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return { raw, ours: await ourRedisCache(redisUrl!) }
  },
  contenders: ({ raw, ours }) => rawContenders(setWorkload, raw, ours.cache),
  report: (medians) => [
    row(setWorkload.name, medians[OURS]!, {
      baseline: fasterRaw(medians, setWorkload.operation),
      target: "ratio >= 1.0",
      met: (r) => (r ?? 0) >= 1,
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
