/**
 * `set-many-1000-ttl`: one loop of 200 `Cache.setMany` of 1,000 entries of 100 bytes with a 1-minute ttl on
 * `RedisCache`, against raw ioredis sending a pipeline of 1,000 `SET key value PX 60000`. Target: ratio ≥ 2.0.
 */
import { Effect } from "effect"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { keyOf, OURS, ourRedisCache, rawClients, VALUE } from "../workload.js"

const NAME = "set-many-1000-ttl"
const RAW = "ioredis pipeline of 1000 SET PX"
const entries = Array.from({ length: 1_000 }, (_, i) => [`setmany:${keyOf(i * 7)}`, VALUE] as const)

export const setMany1000Ttl = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => ({ raw: await rawClients(redisUrl!), ours: await ourRedisCache(redisUrl!) }),
  contenders: ({ raw: { ioredis }, ours: { cache } }) => ({
    [OURS]: () => Effect.runPromise(effectWorkers(1, 200, () => cache.setMany(entries, { ttl: "1 minute" }))),
    [RAW]: () =>
      promiseWorkers(1, 200, () => {
        const pipeline = ioredis.pipeline()
        for (const [k, v] of entries) pipeline.set(k, v, "PX", 60_000)
        return pipeline.exec()
      }),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: "ratio >= 2.0",
      met: (r) => (r ?? 0) >= 2,
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
