/**
 * `invalidate-tag-1000-of-2m`: `Cache.invalidateTags(["bench-tag"])` on `RedisCache` deleting 1,000 tagged
 * keys among 2,000,000, against `Cache.deletePattern` deleting the same 1,000 keys (a pattern that matches
 * exactly them: a prefix of their own). The ratio is the pattern delete's time ÷ the tag invalidation's.
 * The 1,999,000 other keys are filled once, untimed, with raw ioredis `MSET`s; before every timed delete the
 * 1,000 keys are written again with their tag (`setMany` with `tags`, untimed). Target: ratio ≥ 100.
 */
import { Effect } from "effect"
import { defineCase, row, type Sample } from "../BenchCase.js"
import { OURS, ourRedisCache, rawClients } from "../workload.js"

const NAME = "invalidate-tag-1000-of-2m"
const PATTERN = "Cache.deletePattern of the same keys"
const TOTAL = 2_000_000
const TAGGED = 1_000
const TAG = "bench-tag"
const FILL_CHUNK = 10_000

const taggedKeys = Array.from({ length: TAGGED }, (_, i) => [`inv:tagged:${i}`, "v"] as const)

export const invalidateTag1000Of2m = defineCase({
  name: NAME,
  rows: [NAME],
  // A round is one delete; the pattern delete walks 2M keys (about 1.5 s): few rounds.
  rounds: (configured) => Math.min(configured, 3),
  timeoutMs: 150_000,
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    const others = TOTAL - TAGGED
    const pending: Array<Promise<unknown>> = []
    for (let i = 0; i < others; i += FILL_CHUNK) {
      const batch: Array<string> = []
      for (let j = i; j < Math.min(i + FILL_CHUNK, others); j++) batch.push(`inv:other:${j}`, "v")
      pending.push(raw.ioredis.mset(...batch))
      if (pending.length >= 8) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    return { raw, ours: await ourRedisCache(redisUrl!) }
  },
  contenders: ({ ours: { cache } }) => {
    /** Writes the tagged keys (untimed), then times one delete of them. */
    const timed = async (deleteAll: Effect.Effect<number, unknown>): Promise<Sample> => {
      await Effect.runPromise(cache.setMany(taggedKeys, { tags: [TAG] }))
      const start = performance.now()
      const deleted = await Effect.runPromise(deleteAll)
      const elapsed = performance.now() - start
      if (deleted !== TAGGED) throw new Error(`deleted ${deleted} keys, expected ${TAGGED}`)
      return { opsPerSec: (deleted / elapsed) * 1000, p50Ms: elapsed, p99Ms: elapsed }
    }
    return {
      [OURS]: () => timed(cache.invalidateTags([TAG])),
      [PATTERN]: () => timed(cache.deletePattern("inv:tagged:*")),
    }
  },
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: PATTERN, sample: medians[PATTERN]! },
      target: "ratio >= 100",
      met: (r) => (r ?? 0) >= 100,
      note: "ratio = deletePattern time / invalidateTags time for the same 1,000 keys among 2,000,000",
    }),
  ],
  teardown: async (state) => {
    await state.ours.close()
    await state.raw.close()
  },
})
