/**
 * `delete-pattern-100k (keys/s)`: `Cache.deletePattern("dp:match:*")` on `RedisCache` deleting 100,000
 * matching keys among 200,000, against raw ioredis `scanStream` (COUNT 1000) + `DEL` of each page. Each round
 * fills the keys afresh (not timed) and times one delete. A report row: issue 13 retired its absolute
 * target (≥ 500,000 keys/s); SCAN is the floor.
 */

import { Effect } from "effect"
import type { Redis } from "ioredis"
import { defineCase, row, type Sample } from "../BenchCase.js"
import { OURS, ourRedisCache, rawClients } from "../workload.js"

const NAME = "delete-pattern-100k (keys/s)"
const RAW = "ioredis scanStream COUNT 1000 + DEL"
const MATCHING = 100_000

const fill = async (ioredis: Redis) => {
  await ioredis.flushdb()
  for (let i = 0; i < 2 * MATCHING; i += 10_000) {
    const batch: Array<string> = []
    for (let j = i; j < i + 10_000; j++) batch.push(j % 2 === 0 ? `dp:match:${j}` : `dp:other:${j}`, "v")
    await ioredis.mset(...batch)
  }
}

/** One timed delete of the 100,000 keys, as keys per second. */
const timed = async (deleteAll: () => Promise<number>): Promise<Sample> => {
  const start = performance.now()
  const deleted = await deleteAll()
  const elapsed = performance.now() - start
  if (deleted !== MATCHING) throw new Error(`deleted ${deleted} keys, expected ${MATCHING}`)
  return { opsPerSec: (deleted / elapsed) * 1000, p50Ms: elapsed, p99Ms: elapsed }
}

const scanAndDelete = (ioredis: Redis) =>
  new Promise<number>((resolve, reject) => {
    const stream = ioredis.scanStream({ match: "dp:match:*", count: 1_000 })
    const deletes: Array<Promise<number>> = []
    stream.on("data", (keys: Array<string>) => {
      if (keys.length > 0) deletes.push(ioredis.del(...keys))
    })
    stream.on("end", () =>
      Promise.all(deletes).then((counts) => resolve(counts.reduce((a, b) => a + b, 0)), reject),
    )
    stream.on("error", reject)
  })

export const deletePattern100k = defineCase({
  name: "delete-pattern-100k",
  rows: [NAME],
  // Each round refills 200,000 keys: fewer rounds than the others, as before.
  rounds: (configured) => Math.max(3, Math.ceil(configured / 2)),
  warmup: false,
  setup: async ({ redisUrl }) => ({ raw: await rawClients(redisUrl!), ours: await ourRedisCache(redisUrl!) }),
  contenders: ({ raw: { ioredis }, ours: { cache } }) => ({
    [OURS]: async () => {
      await fill(ioredis)
      return timed(() => Effect.runPromise(cache.deletePattern("dp:match:*")))
    },
    [RAW]: async () => {
      await fill(ioredis)
      return timed(() => scanAndDelete(ioredis))
    },
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: null,
      note: "report only: the absolute target (>= 500,000 keys/s) is retired by issue 13 (SCAN is the floor)",
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
