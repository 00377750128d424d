/**
 * `get-many-1000`: one loop of 200 `Cache.getMany` of the same 1,000 keys (of the 10,000) on `RedisCache`,
 * against raw ioredis `MGET` of those keys. Target: ratio ≥ 0.9.
 */
import { Effect } from "effect"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { fillKeys, keyOf, OURS, ourRedisCache, rawClients } from "../workload.js"

const NAME = "get-many-1000"
const RAW = "ioredis MGET"
const thousand = Array.from({ length: 1_000 }, (_, i) => keyOf(i * 7))

export const getMany1000 = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return { raw, ours: await ourRedisCache(redisUrl!) }
  },
  contenders: ({ raw: { ioredis }, ours: { cache } }) => ({
    [OURS]: () => Effect.runPromise(effectWorkers(1, 200, () => cache.getMany(thousand))),
    [RAW]: () => promiseWorkers(1, 200, () => ioredis.mget(...thousand)),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: "ratio >= 0.9",
      met: (r) => (r ?? 0) >= 0.9,
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
