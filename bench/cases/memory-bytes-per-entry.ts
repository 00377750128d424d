/**
 * `memory-bytes-per-entry`: the heap `MemoryCache` spends per entry beyond the key and value strings
 * themselves, at 1,000,000 entries each with a ttl. Target: value ≤ 80 (bytes).
 *
 * Method, in one process run with `--expose-gc`, every heap figure `used_heap_size` after two full GCs:
 * 1. The strings alone: an array of 2,000,000 small integers is measured, then the same slots are filled
 *    with the 1,000,000 keys (17 bytes) and 1,000,000 values (100 bytes) the cache will get, each a fresh
 *    flat one-byte string, and measured again. The difference is the strings' own bytes (the slots existed
 *    already): 160 per entry on 64-bit Node 20. The array is then dropped.
 * 2. The cache: `MemoryCache.layer({ maxEntries: Infinity })` (a million entries are past the default bound) is built, the heap measured (`before`), the same 1,000,000 entries
 *    written one `Cache.set` at a time with a 1-hour ttl, as a service fills its cache (the bench keeps no
 *    reference to them), the heap measured again (`after`).
 * 3. value = (after − before − string bytes) ÷ 1,000,000: the cache's map, entry objects, expiry times and
 *    anything else it keeps per entry. The same without a ttl is in the note.
 * Before measuring, 20,000 writes into a throwaway cache compile the write path, so that its code is not
 * counted. One round: the figure is deterministic to a fraction of a byte, and a round takes 15-30 s here.
 */
import { Effect } from "effect"
import { Cache, MemoryCache, type SetOptions } from "../../src/index.js"
import { defineCase, type Sample, valueRow } from "../BenchCase.js"
import { collectGarbage, flatStrings, liveHeapBytes } from "../heap.js"
import { buildLayer, OURS } from "../workload.js"

const NAME = "memory-bytes-per-entry"
const N = 1_000_000
const TTL: SetOptions = { ttl: "1 hour" }
const entryKey = flatStrings(17, "k")
const entryValue = flatStrings(100, "v")

/** The bytes of the N keys and N values as strings, measured. */
const stringBytes = () => {
  const slots: Array<number | string> = new Array(2 * N).fill(0)
  const empty = liveHeapBytes()
  for (let i = 0; i < N; i++) {
    slots[2 * i] = entryKey("bench:mem:", i)
    slots[2 * i + 1] = entryValue("", i)
  }
  const full = liveHeapBytes()
  if (slots.length !== 2 * N) throw new Error("unreachable: keeps `slots` alive until measured")
  return full - empty
}

/** Writes entries `0 … count − 1`, one `set` each, in one fiber. */
const fill = (cache: Cache.Service, count: number, options: SetOptions | undefined) =>
  Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < count; i++) yield* cache.set(entryKey("bench:mem:", i), entryValue("", i), options)
    }),
  )

/** Heap bytes a MemoryCache holding the N entries has beyond the empty one. */
const cacheBytes = async (options: SetOptions | undefined) => {
  const built = await buildLayer(MemoryCache.layer({ maxEntries: Infinity }))
  try {
    const cache = Effect.runSync(Effect.provide(Cache, built.context))
    const before = liveHeapBytes()
    await fill(cache, N, options)
    const after = liveHeapBytes()
    // The count, read after measuring: proves the entries were all there (and kept `cache` alive).
    const count = await Effect.runPromise(cache.countPattern("bench:mem:*"))
    if (count !== N) throw new Error(`the cache holds ${count} entries, expected ${N}`)
    return after - before
  } finally {
    await built.close()
    collectGarbage()
  }
}

const round = async (): Promise<Sample> => {
  const warmup = await buildLayer(MemoryCache.layer({ maxEntries: Infinity }))
  const warmupCache = Effect.runSync(Effect.provide(Cache, warmup.context))
  await fill(warmupCache, 20_000, TTL)
  await fill(warmupCache, 20_000, undefined)
  await warmup.close()
  const strings = stringBytes()
  const withTtl = await cacheBytes(TTL)
  const withoutTtl = await cacheBytes(undefined)
  return {
    opsPerSec: 0,
    p50Ms: 0,
    p99Ms: 0,
    value: (withTtl - strings) / N,
    note:
      `every entry with a 1-hour ttl, one set each; without a ttl: ${((withoutTtl - strings) / N).toFixed(1)} ` +
      `bytes; the keys and values themselves (${(strings / N).toFixed(1)} bytes per entry) subtracted`,
  }
}

export const memoryBytesPerEntry = defineCase({
  name: NAME,
  rows: [NAME],
  redis: false,
  rounds: () => 1,
  warmup: false,
  setup: async () => ({}),
  contenders: () => ({ [OURS]: round }),
  report: (medians) => {
    const perEntry = medians[OURS]!.value!
    return [
      valueRow(NAME, perEntry, {
        target: "value <= 80 bytes",
        met: perEntry <= 80,
        note: medians[OURS]!.note!,
      }),
    ]
  },
  teardown: async () => {},
})
