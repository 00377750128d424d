/**
 * Turns concurrent single-key GETs from any number of fibers into one MGET per scheduler round.
 *
 * ioredis's auto-pipelining already sends a tick's GETs in one write, but still parses one reply and settles
 * one promise per key; MGET answers the whole round with one reply. That is what lets `Cache.get` beat a raw
 * auto-pipelined GET under load. Results are the same as GET's for every key this cache writes (strings);
 * a key holding another Redis type reads as a miss, where GET would answer WRONGTYPE.
 *
 * This is the hottest path of the library, so it avoids per-call combinators: the circuit breaker is
 * consulted synchronously and told the outcome once per MGET, not once per key.
 */
import { type Effect, Exit, type Option, Scheduler } from "effect"
import type { CacheError } from "../Cache.js"
import { callBatch } from "./batchCall.js"
import type { CircuitBreaker } from "./CircuitBreaker.js"
import { type BackendFailure, cacheError, readExit } from "./makeCache.js"
import { resumable } from "./resumable.js"

/** A class, not an object literal: see `Waiter` in WriteBatcher.ts (V8 tenures a literal's site). */
class Waiter {
  constructor(
    readonly key: string,
    readonly callerKey: string,
    readonly resume: (effect: Effect.Effect<Option.Option<string>, CacheError>) => void,
  ) {}
}

/**
 * @since 0.1.0
 * @category internal
 */
export interface GetBatcherOptions {
  /** Sends one MGET for `keys` (already grouped so one MGET may carry them). */
  readonly mget: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<string | null>>
  /** Splits a round's keys into groups that may share one MGET (Redis Cluster: one hash slot). */
  readonly group: (keys: ReadonlyArray<string>) => ReadonlyArray<ReadonlyArray<number>>
  readonly classify: (error: unknown) => BackendFailure
  /** The breaker of the node a key lives on (one breaker for a single Redis). */
  readonly breakerFor: (key: string) => CircuitBreaker
  /**
   * Counts an MGET of `weight` keys as pending on the node of `key`; a failure when the node has too many unanswered
   * commands already (the batch fails at once, and the breaker is not told: that is load, not an outage).
   * `leave` runs when ioredis settles the MGET, which may be long after its timeout.
   */
  readonly admit: (key: string, weight: number) => BackendFailure | undefined
  readonly leave: (key: string, weight: number) => void
  readonly timeoutMs: number
  readonly maxBatch: number
  /** Pending GETs that are sent without waiting for the end of the scheduler round. */
  readonly eagerBatch: number
}

/**
 * @since 0.1.0
 * @category internal
 */
export const makeGetBatcher = (options: GetBatcherOptions) => {
  let pending: Array<Waiter> = []

  const fail = (batch: ReadonlyArray<Waiter>, failure: BackendFailure) => {
    for (const waiter of batch) {
      waiter.resume(
        Exit.fail(
          cacheError({
            reason: failure.reason,
            operation: "get",
            key: waiter.callerKey,
            detail: failure.detail,
            cause: failure.cause,
          }),
        ),
      )
    }
  }

  const deliver = (batch: ReadonlyArray<Waiter>, values: ReadonlyArray<string | null>) => {
    for (let i = 0; i < batch.length; i++) batch[i]!.resume(readExit(values[i]))
    return undefined
  }

  const send = (batch: ReadonlyArray<Waiter>) => {
    const first = batch[0]!.key
    // No closure here may capture `batch`: they live as long as the command, the waiters must not.
    const keys = batch.map((w) => w.key)
    callBatch(batch, () => options.mget(keys), {
      admit: (weight) => options.admit(first, weight),
      leave: (weight) => options.leave(first, weight),
      breaker: options.breakerFor(first),
      timeoutMs: options.timeoutMs,
      classify: options.classify,
      deliver,
      fail,
    })
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

  // The flush is a task on Effect's scheduler, queued behind the fibers already scheduled: every fiber that
  // runs in this round joins the batch, and a busy program cannot starve it (a process.nextTick would wait
  // until Effect's whole microtask loop drained).
  //
  // No canceller is returned: Effect would wrap every GET in onInterrupt, which more than doubles its cost.
  // None is needed either: an interrupted fiber's resume callback has already fired (Effect uses it as the
  // interruptor), so the batch's later resume is ignored.
  const get = (key: string, callerKey: string): Effect.Effect<Option.Option<string>, CacheError> =>
    resumable<Option.Option<string>, CacheError>((resume) => {
      pending.push(new Waiter(key, callerKey, resume))
      if (pending.length === 1) Scheduler.defaultScheduler.scheduleTask(flush, 0)
      // A full batch goes out at once: Redis answers it while the remaining fibers of this round are still
      // running here, so the two sides work in parallel instead of taking turns.
      else if (pending.length >= options.eagerBatch) flush()
    })

  return { get }
}
