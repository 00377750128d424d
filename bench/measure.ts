/**
 * Timing one round of a workload, and the medians over rounds. Shared by the runner and the cases.
 */
import { Effect } from "effect"
import type { Sample } from "./BenchCase.js"

export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const percentile = (sorted: ArrayLike<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

/** One round: `ops` operations timed as a whole, with per-operation latencies. */
export const sample = (ops: number, elapsedMs: number, latencies: Array<number> | Float64Array): Sample => {
  // A Float64Array sorts numerically in place, without boxing 51,200 doubles into garbage that the next
  // contender's round would collect.
  if (latencies instanceof Float64Array) latencies.sort()
  else latencies.sort((a, b) => a - b)
  return {
    opsPerSec: (ops / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  }
}

/** The median of each field over rounds; `note` is the one of the round with the median `value`. */
export const summarize = (samples: ReadonlyArray<Sample>): Sample => {
  const values = samples.flatMap((s) => (s.value === undefined ? [] : [s.value]))
  const value = values.length === 0 ? undefined : median(values)
  const note = samples.find((s) => s.value === value)?.note ?? samples[0]?.note
  return {
    opsPerSec: median(samples.map((s) => s.opsPerSec)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    ...(value === undefined ? {} : { value }),
    ...(note === undefined ? {} : { note }),
  }
}

/**
 * Which operations of a loop are timed one by one: every one in a single loop (the sequential cases, whose
 * target is a latency), one in `TIMED_EVERY` in concurrent loops, as JMH's sample-time mode does. Timing an
 * operation is two clock reads and a store, about 90 ns here: 3 % of a GET over the network, but 15 % of a
 * hit in process memory, so timing every one capped the ratio of a fast contender to a slow one (measured
 * on `local-get-hit-concurrent`'s loops, both sides alternating in one process: 4.68 with every operation
 * timed, 5.45 with one in eight). Throughput counts every operation either way.
 */
/** A power of two: which operations are timed is read from the low bits of the loop's counter. */
const TIMED_EVERY = 8
const timedMask = (workers: number) => (workers === 1 ? 0 : TIMED_EVERY - 1)
const timedCount = (workers: number, perWorker: number) =>
  workers * (workers === 1 ? perWorker : Math.ceil(perWorker / TIMED_EVERY))

/** Runs `workers` concurrent loops of `perWorker` promise-returning operations; `op` gets a global index. */
export const promiseWorkers = async (
  workers: number,
  perWorker: number,
  op: (i: number) => Promise<unknown>,
): Promise<Sample> => {
  // Preallocated: a growing array of doubles is copied as it grows, garbage in the middle of the round.
  const latencies = new Float64Array(timedCount(workers, perWorker))
  const mask = timedMask(workers)
  let recorded = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) {
        if ((i & mask) !== 0) {
          await op(w * perWorker + i)
          continue
        }
        const t = performance.now()
        await op(w * perWorker + i)
        latencies[recorded++] = performance.now() - t
      }
    }),
  )
  return sample(workers * perWorker, performance.now() - start, latencies)
}

/** The same, as fibers inside one Effect program. */
export const effectWorkers = <R>(
  workers: number,
  perWorker: number,
  op: (i: number) => Effect.Effect<unknown, unknown, R>,
): Effect.Effect<Sample, unknown, R> =>
  Effect.gen(function* () {
    const latencies = new Float64Array(timedCount(workers, perWorker))
    const mask = timedMask(workers)
    let recorded = 0
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: workers }, (_, w) => w),
      (w) =>
        Effect.gen(function* () {
          for (let i = 0; i < perWorker; i++) {
            if ((i & mask) !== 0) {
              yield* op(w * perWorker + i)
              continue
            }
            const t = performance.now()
            yield* op(w * perWorker + i)
            latencies[recorded++] = performance.now() - t
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    return sample(workers * perWorker, performance.now() - start, latencies)
  })

/** How long each contender runs unmeasured before the measured rounds, in ms. */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000)

/**
 * An optional warm-up of each contender (`BENCH_WARMUP_MS`, default 2 s of its rounds), then `rounds` rounds alternating the contenders, so drift
 * hits all of them alike; the median of each contender's rounds.
 */
export const compare = async (
  contenders: Readonly<Record<string, () => Promise<Sample>>>,
  options: { readonly rounds: number; readonly warmup: boolean },
): Promise<Record<string, Sample>> => {
  const names = Object.keys(contenders)
  if (options.warmup) {
    // Until each contender has run for WARMUP_MS (at least once): one round of 51,200 operations is 0.1-0.3 s,
    // too short for V8 to finish optimizing an Effect program's hot paths (its first rounds here ran at
    // 40-60 % of its later ones), and a raw client's promise loop warms up faster. Round by round in turn,
    // as the measured rounds are.
    const spent: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
    do {
      for (const name of names) {
        if (spent[name]! >= WARMUP_MS) continue
        const start = performance.now()
        await contenders[name]!()
        spent[name]! += performance.now() - start
      }
    } while (names.some((n) => spent[n]! < WARMUP_MS))
  }
  const samples: Record<string, Array<Sample>> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < options.rounds; round++) {
    for (const name of names) samples[name]!.push(await contenders[name]!())
  }
  return Object.fromEntries(names.map((n) => [n, summarize(samples[n]!)]))
}
