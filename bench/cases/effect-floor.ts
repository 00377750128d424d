/**
 * `effect-floor-concurrent` (a report, no target): what the 256-loop workload costs an Effect program before
 * any cache work, next to node-redis 5's GET on the same loops. Each operation is the asynchronous
 * primitive the batchers suspend on (`resumable`, src/internal/resumable.ts) resumed by one batch per
 * scheduler round with nothing else done: the cheapest operation a batching Effect client can offer, the
 * shape of `Cache.get` and `Cache.set` without the I/O. The note carries the same loops with `Effect.async`
 * in its place (what the batchers used before), the floor with promises (a `Promise` per operation,
 * resolved by one batch per microtask round), the shape of a raw client without its I/O, and the floor of
 * an operation that does not suspend at all (`Effect.succeed`, the shape of a local-tier hit).
 *
 * Why it is here: issue 13's targets are ratios of an Effect program to a promise client. The ratio of this
 * row is the most any Effect client can reach on these loops if its own work were free; the ratio of a real
 * case can only be below it, by its own cost.
 */
import { Effect, Exit, Scheduler } from "effect"
import { resumable } from "../../src/internal/resumable.js"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { CONCURRENCY, fillKeys, keyOf, NODE_REDIS, PER_WORKER, rawClients } from "../workload.js"

const NAME = "effect-floor-concurrent"
const EFFECT_FLOOR = "resumable, batched, no I/O"
const EFFECT_ASYNC_FLOOR = "Effect.async, batched, no I/O"
const PROMISE_FLOOR = "Promise, batched, no I/O"
const SYNC_FLOOR = "Effect.succeed"

/** Operations (built by `suspend`) resumed together from one task per scheduler round, as the batchers do. */
const effectFloor = (
  suspend: (register: (resume: (exit: Exit.Exit<number>) => void) => void) => Effect.Effect<number>,
) => {
  let pending: Array<(exit: Exit.Exit<number>) => void> = []
  const done = Exit.succeed(1)
  const flush = () => {
    const batch = pending
    pending = []
    // A macrotask stands in for the reply's socket callback.
    setImmediate(() => {
      for (const resume of batch) resume(done)
    })
  }
  return suspend((resume) => {
    pending.push(resume)
    if (pending.length === 1) Scheduler.defaultScheduler.scheduleTask(flush, 0)
  })
}

const promiseFloor = () => {
  let pending: Array<(value: number) => void> = []
  const flush = () => {
    const batch = pending
    pending = []
    setImmediate(() => {
      for (const resolve of batch) resolve(1)
    })
  }
  return () =>
    new Promise<number>((resolve) => {
      pending.push(resolve)
      if (pending.length === 1) queueMicrotask(flush)
    })
}

export const effectFloor_ = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => {
    const raw = await rawClients(redisUrl!)
    await fillKeys(raw.ioredis)
    return {
      raw,
      effect: effectFloor(resumable),
      effectAsync: effectFloor((register) => Effect.async<number>((resume) => register(resume))),
      promise: promiseFloor(),
    }
  },
  contenders: ({ raw, effect, effectAsync, promise }) => ({
    [EFFECT_FLOOR]: () => Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, () => effect)),
    [EFFECT_ASYNC_FLOOR]: () => Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, () => effectAsync)),
    [PROMISE_FLOOR]: () => promiseWorkers(CONCURRENCY, PER_WORKER, promise),
    [SYNC_FLOOR]: () => Effect.runPromise(effectWorkers(CONCURRENCY, PER_WORKER, () => Effect.succeed(1))),
    [NODE_REDIS]: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.nodeRedis.get(keyOf(i))),
  }),
  report: (medians) => [
    row(NAME, medians[EFFECT_FLOOR]!, {
      baseline: { name: "node-redis 5 GET", sample: medians[NODE_REDIS]! },
      note: [EFFECT_FLOOR, EFFECT_ASYNC_FLOOR, PROMISE_FLOOR, SYNC_FLOOR]
        .map((name) => `${name}: ${Math.round(medians[name]!.opsPerSec).toLocaleString("en-US")} ops/s`)
        .join("; "),
    }),
  ],
  teardown: (state) => state.raw.close(),
})
