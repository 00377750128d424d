/**
 * `memory-get`: one fiber loop of 1,000,000 `Cache.get` on `MemoryCache.layer()` over 10,000 stored keys of
 * 100 bytes, against the same loop reading a `Map` of the same entries inside `Effect.sync`: the cost of
 * the cache beyond the Effect a caller pays for anyway. Target: ratio ≥ 0.9. p50/p99 are the mean per get.
 */
import { Effect, Option } from "effect"
import { Cache, MemoryCache } from "../../src/index.js"
import { defineCase, row, type Sample } from "../BenchCase.js"
import { buildLayer, KEYS, OURS, VALUE } from "../workload.js"

const NAME = "memory-get"
const BASELINE = "Map.get inside Effect.sync, same fiber loop"
const N = 1_000_000
const keys = Array.from({ length: KEYS }, (_, i) => `m:${i}`)

/** Times one loop of `N` reads, each an Effect run in the loop's one fiber; every read must hit. */
const loop = async <A>(
  read: (key: string) => Effect.Effect<A, unknown>,
  isHit: (a: A) => boolean,
): Promise<Sample> => {
  let found = 0
  const start = performance.now()
  await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < N; i++) if (isHit(yield* read(keys[i % KEYS]!))) found++
    }),
  )
  const elapsed = performance.now() - start
  if (found !== N) throw new Error(`${N - found} reads found nothing`)
  return { opsPerSec: (N / elapsed) * 1000, p50Ms: elapsed / N, p99Ms: elapsed / N }
}

export const memoryGet = defineCase({
  name: NAME,
  rows: [NAME],
  redis: false,
  setup: async () => {
    const built = await buildLayer(MemoryCache.layer())
    const cache = Effect.runSync(Effect.provide(Cache, built.context))
    await Effect.runPromise(cache.setMany(keys.map((k) => [k, VALUE] as const)))
    return { cache, map: new Map(keys.map((k) => [k, VALUE])), close: built.close }
  },
  contenders: ({ cache, map }) => ({
    [OURS]: () => loop((key) => cache.get(key), Option.isSome),
    [BASELINE]: () =>
      loop(
        (key) => Effect.sync(() => map.get(key)),
        (value) => value !== undefined,
      ),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: BASELINE, sample: medians[BASELINE]! },
      target: "ratio >= 0.9",
      met: (r) => (r ?? 0) >= 0.9,
    }),
  ],
  teardown: (state) => state.close(),
})
