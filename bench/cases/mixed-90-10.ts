/**
 * `mixed-90-10`: 256 concurrent loops × 200 operations over the same 10,000 keys, every tenth a SET with the
 * 10-minute ttl, the rest GETs. Ours is `Cache.get` / `Cache.set` on `RedisCache`; the baseline is the faster
 * of raw ioredis (auto-pipelined) and raw node-redis 5 doing `GET` / `SET PX 600000` in the same order.
 * Target: ratio ≥ 1.0. The peers do the same on their own keys, in a case of their own
 * (`mixed-90-10-peers.ts`).
 */
import { keyOf, type PeerWorkload, ratioCase, TTL, TTL_MS, VALUE } from "../workload.js"

/** Operation `i` is a write when this holds: 10 % of them, spread evenly over each loop. */
const isWrite = (i: number) => i % 10 === 0

const nodeRedisTtl = { expiration: { type: "PX", value: TTL_MS } } as const

export const mixedWorkload: PeerWorkload = {
  name: "mixed-90-10",
  operation: `GET / SET PX ${TTL_MS}`,
  ours: (cache, i) => (isWrite(i) ? cache.set(keyOf(i), VALUE, TTL) : cache.get(keyOf(i))),
  ioredis: (client, i) => (isWrite(i) ? client.set(keyOf(i), VALUE, "PX", TTL_MS) : client.get(keyOf(i))),
  nodeRedis: (client, i) => (isWrite(i) ? client.set(keyOf(i), VALUE, nodeRedisTtl) : client.get(keyOf(i))),
  bentocache: (p, i) =>
    isWrite(i)
      ? p.bento.set({ key: p.bentoKey(i), value: VALUE, ttl: TTL_MS })
      : p.bento.get({ key: p.bentoKey(i) }),
  cacheManager: (p, i) =>
    isWrite(i) ? p.manager.set(p.managerKey(i), VALUE, TTL_MS) : p.manager.get(p.managerKey(i)),
}

export const mixed9010 = ratioCase(mixedWorkload, 1)
