/**
 * `set-concurrent`: 256 concurrent loops × 200 SETs of 100-byte values over 10,000 keys, each with a
 * 10-minute ttl. Ours is `Cache.set(key, value, { ttl: "10 minutes" })` on `RedisCache`; the baseline is the
 * faster of raw ioredis (auto-pipelined) and raw node-redis 5 sending `SET key value PX 600000`. Target:
 * ratio ≥ 1.0. The peers write the same values with the same ttl to their own keys, in a case of their own
 * (`set-concurrent-peers.ts`).
 */
import { keyOf, type PeerWorkload, ratioCase, TTL, TTL_MS, VALUE } from "../workload.js"

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

export const setConcurrent = ratioCase(setWorkload, 1)
