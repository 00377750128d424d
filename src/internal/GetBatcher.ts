/**
 * Turns concurrent single-key GETs from any number of fibers into one MGET per tick.
 *
 * ioredis's auto-pipelining already sends a tick's GETs in one write, but still parses one reply and settles
 * one promise per key; MGET answers the whole tick with one reply. That is what lets `Cache.get` beat a raw
 * auto-pipelined GET under load. Results are the same as GET's for every key this cache writes (strings);
 * a key holding another Redis type reads as a miss, where GET would answer WRONGTYPE.
 */
import { Effect } from "effect"
import type { BackendFailure } from "./makeCache.js"

interface Waiter {
  readonly key: string
  readonly resume: (effect: Effect.Effect<string | null, BackendFailure>) => void
  cancelled: boolean
}

export interface GetBatcherOptions {
  /** Sends one MGET for `keys` (already grouped so one MGET may carry them) and settles within the timeout. */
  readonly mget: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<string | null>>
  /** Splits a tick's keys into groups that may share one MGET (Redis Cluster: one hash slot). */
  readonly group: (keys: ReadonlyArray<string>) => ReadonlyArray<ReadonlyArray<number>>
  readonly classify: (error: unknown) => BackendFailure
  readonly timeoutMs: number
  readonly maxBatch: number
}

export const makeGetBatcher = (options: GetBatcherOptions) => {
  let pending: Array<Waiter> = []

  const settle = (
    batch: ReadonlyArray<Waiter>,
    result: (i: number) => Effect.Effect<string | null, BackendFailure>,
  ) => {
    for (let i = 0; i < batch.length; i++) {
      const waiter = batch[i]!
      if (!waiter.cancelled) waiter.resume(result(i))
    }
  }

  const send = (batch: ReadonlyArray<Waiter>) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      const failure = Effect.fail<BackendFailure>({
        reason: "Timeout",
        detail: `no reply within ${options.timeoutMs} ms`,
      })
      settle(batch, () => failure)
    }, options.timeoutMs)
    options.mget(batch.map((w) => w.key)).then(
      (values) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        settle(batch, (i) => Effect.succeed(values[i] ?? null))
      },
      (error: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        const failure = Effect.fail(options.classify(error))
        settle(batch, () => failure)
      },
    )
  }

  const flush = () => {
    const waiters = pending
    pending = []
    for (const group of options.group(waiters.map((w) => w.key))) {
      for (let start = 0; start < group.length; start += options.maxBatch) {
        send(group.slice(start, start + options.maxBatch).map((i) => waiters[i]!))
      }
    }
  }

  // The flush is a task on the calling fiber's Effect scheduler, queued behind every fiber already
  // scheduled: all the fibers that run in this round join the batch, and a busy program cannot starve the
  // flush (a process.nextTick would wait until Effect's whole microtask loop drained).
  const get = (key: string): Effect.Effect<string | null, BackendFailure> =>
    Effect.withFiberRuntime((fiber) =>
      Effect.async<string | null, BackendFailure>((resume) => {
        const waiter: Waiter = { key, resume, cancelled: false }
        pending.push(waiter)
        if (pending.length === 1) fiber.currentScheduler.scheduleTask(flush, 0)
        return Effect.sync(() => {
          waiter.cancelled = true
        })
      }),
    )

  return { get }
}
