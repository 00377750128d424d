/**
 * `get-concurrent`: 256 concurrent loops × 200 GETs of existing 100-byte values over 10,000 keys. Ours is
 * `Cache.get` on `RedisCache` as 256 fibers of one Effect program; the baseline is the faster of raw ioredis
 * (auto-pipelined) and raw node-redis 5 on the same loops. Target: ratio ≥ 1.2. The peers run the same
 * loops on their own keys, in a case of their own (`get-concurrent-peers.ts`).
 */
import { keyOf, type PeerWorkload, ratioCase } from "../workload.js"

export const getWorkload: PeerWorkload = {
  name: "get-concurrent",
  operation: "GET",
  ours: (cache, i) => cache.get(keyOf(i)),
  ioredis: (client, i) => client.get(keyOf(i)),
  nodeRedis: (client, i) => client.get(keyOf(i)),
  bentocache: (p, i) => p.bento.get({ key: p.bentoKey(i) }),
  cacheManager: (p, i) => p.manager.get(p.managerKey(i)),
}

export const getConcurrent = ratioCase(getWorkload, 1.2)
