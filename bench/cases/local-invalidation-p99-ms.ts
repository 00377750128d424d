/**
 * `local-invalidation-p99-ms`: a reader (`RedisCache` with `localCache`) holds a key in its local tier;
 * another client (raw ioredis) SETs it; the time from the SET being sent until the reader's `get` returns
 * the new value. 200 writes per round; the row's `value` is the median over rounds of each round's p99.
 * Target (issue 14): ≤ 5 ms on loopback.
 */
import { Effect } from "effect"
import { Redis } from "ioredis"
import { Cache } from "../../src/index.js"
import { RedisCache } from "../../src/redis.js"
import { defineCase, type Sample, valueRow } from "../BenchCase.js"
import { sample } from "../measure.js"
import { buildLayer, OURS } from "../workload.js"

const NAME = "local-invalidation-p99-ms"
const WRITES = 200
const KEY = "bench:local:invalidation"

export const localInvalidationP99Ms = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => {
    const url = redisUrl!
    const writer = new Redis(url)
    const built = await buildLayer(RedisCache.layer({ url, localCache: { maxEntries: 1_000 } }))
    const cache = Effect.runSync(Effect.provide(Cache, built.context))
    await writer.set(KEY, "0")
    let version = 0
    const round = async (): Promise<Sample> => {
      const latencies: Array<number> = []
      const start = performance.now()
      for (let i = 0; i < WRITES; i++) {
        // Held locally before the write (a read, then a second one the tier answers).
        await Effect.runPromise(cache.get(KEY))
        await Effect.runPromise(cache.get(KEY))
        const next = String(++version)
        const sent = performance.now()
        await writer.set(KEY, next)
        for (;;) {
          const value = await Effect.runPromise(cache.get(KEY))
          if (value._tag === "Some" && value.value === next) break
          if (performance.now() - sent > 1_000) throw new Error(`${NAME}: the write never reached the reader`)
          await new Promise((resolve) => setImmediate(resolve))
        }
        latencies.push(performance.now() - sent)
      }
      const measured = sample(WRITES, performance.now() - start, latencies)
      return { ...measured, value: measured.p99Ms, note: `p50 ${measured.p50Ms.toFixed(3)} ms` }
    }
    // Tracking is set up on the first read.
    await Effect.runPromise(cache.get(KEY))
    await new Promise((resolve) => setTimeout(resolve, 100))
    return {
      round,
      close: async () => {
        await built.close()
        writer.disconnect()
      },
    }
  },
  contenders: ({ round }) => ({ [OURS]: round }),
  report: (medians) => {
    const p99 = medians[OURS]!.value!
    return [
      valueRow(NAME, p99, {
        target: "value <= 5",
        met: p99 <= 5,
        note: `ms from another client's SET to the reader's get returning it, p99 of ${WRITES} writes (median of rounds; ${medians[OURS]!.note ?? ""})`,
      }),
    ]
  },
  teardown: (state) => state.close(),
})
