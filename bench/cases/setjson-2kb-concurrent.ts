/**
 * `setjson-2kb-concurrent`: 256 concurrent loops × 200 `setJson` of one 2 KB object (a portfolio of 12
 * positions, 2,088 bytes of JSON) over 10,000 keys, with the 10-minute ttl. Ours is
 * `Cache.setJson(key, object, { ttl: "10 minutes" })` on `RedisCache`; the baseline is the faster of raw
 * ioredis (auto-pipelined) and raw node-redis 5 doing `JSON.stringify` and `SET PX 600000` on every call.
 * Target: ratio ≥ 0.9.
 */
import { Effect } from "effect"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import {
  CONCURRENCY,
  fasterRaw,
  IOREDIS,
  keyOf,
  NODE_REDIS,
  OURS,
  ourRedisCache,
  PER_WORKER,
  rawClients,
  TTL,
  TTL_MS,
} from "../workload.js"

const NAME = "setjson-2kb-concurrent"

const document = {
  id: "00000000-0000-4000-8000-000000004242",
  userId: "00000000-0000-4000-8000-000000000002",
  currency: "USD",
  asOf: "2026-01-15T12:00:00.000Z",
  positions: Array.from({ length: 12 }, (_, i) => ({
    symbol: `SYM${i}`,
    name: `Example Holding ${i} Inc.`,
    quantity: 10 * (i + 1),
    price: 100.25 + i,
    marketValue: (100.25 + i) * 10 * (i + 1),
    account: `acct-${1000 + i}`,
    updatedAt: "2026-01-15T12:00:00.000Z",
  })),
}

export const setJson2kbConcurrent = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => ({ raw: await rawClients(redisUrl!), ours: await ourRedisCache(redisUrl!) }),
  contenders: ({ raw: { ioredis, nodeRedis }, ours: { cache } }) => {
    const nodeRedisTtl = { expiration: { type: "PX", value: TTL_MS } } as const
    return {
      [OURS]: () =>
        Effect.runPromise(
          effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.setJson(keyOf(i), document, TTL)),
        ),
      [IOREDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          ioredis.set(keyOf(i), JSON.stringify(document), "PX", TTL_MS),
        ),
      [NODE_REDIS]: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, (i) =>
          nodeRedis.set(keyOf(i), JSON.stringify(document), nodeRedisTtl),
        ),
    }
  },
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: fasterRaw(medians, `JSON.stringify + SET PX ${TTL_MS}`),
      target: "ratio >= 0.9",
      met: (r) => (r ?? 0) >= 0.9,
      note: `${JSON.stringify(document).length} bytes of JSON per write`,
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
