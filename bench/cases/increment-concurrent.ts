/**
 * `increment-concurrent`: 256 concurrent loops × 200 increments by 1 over 10,000 counters. Ours is
 * `Cache.increment(key)` on `RedisCache`; the baseline is the faster of raw ioredis (auto-pipelined) and raw
 * node-redis 5 sending `INCRBY key 1`. Target: ratio ≥ 1.0.
 */
import { Effect } from "effect"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import {
  CONCURRENCY,
  fasterRaw,
  IOREDIS,
  KEYS,
  NODE_REDIS,
  OURS,
  ourRedisCache,
  PER_WORKER,
  rawClients,
} from "../workload.js"

const NAME = "increment-concurrent"

const counterOf = (i: number) => `bench:counter:${i % KEYS}`

export const incrementConcurrent = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    // The counters exist before the first round, as the keys of the other cases do.
    for (let i = 0; i < KEYS; i += 1_000) {
      await raw.ioredis.mset(...Array.from({ length: 1_000 }, (_, j) => [counterOf(i + j), "0"]).flat())
    }
    return { raw, ours: await ourRedisCache(redisUrl!) }
  },
  contenders: ({ raw: { ioredis, nodeRedis }, ours: { cache } }) => ({
    [OURS]: () =>
      Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.increment(counterOf(i)))),
    [IOREDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => ioredis.incrby(counterOf(i), 1)),
    [NODE_REDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => nodeRedis.incrBy(counterOf(i), 1)),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: fasterRaw(medians, "INCRBY 1"),
      target: "ratio >= 1.0",
      met: (r) => (r ?? 0) >= 1,
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
