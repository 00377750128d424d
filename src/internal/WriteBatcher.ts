/**
 * Turns concurrent single-key writes (set, delete, expire, increment) from any number of fibers into one
 * script call per scheduler round, as `GetBatcher` does for GETs.
 *
 * Every write is a script that checks a deadline against the server's clock (scripts.ts), and that check
 * (`TIME`) cost more Redis time than the write itself; one socket write and one reply per command cost more
 * client time than the encoding. A batch pays both once: one deadline, stated when the batch is sent, guards
 * all of its writes, so a timed-out write still never runs after its deadline. Each caller still gets its
 * own result and its own error (the finished CacheError of its operation on its key, so the front adds no
 * error handler around a write): an operation Redis refuses is an error element of the reply. Writes run in
 * the order they were made (a batch keeps call order, and batches to one node leave in order on one
 * connection); a batch carries keys of one hash slot only, so it never spans nodes in a cluster. The
 * breaker is told one outcome per batch.
 */
import { type Effect, Exit, Scheduler } from "effect"
import type { CacheError } from "../Cache.js"
import { callBatch } from "./batchCall.js"
import type { CircuitBreaker } from "./CircuitBreaker.js"
import { type BackendFailure, contextualize } from "./makeCache.js"
import { resumable } from "./resumable.js"

/**
 * One queued write: its key, its operation code and up to two arguments (scripts.ts `writeBatch`), how to
 * read its reply, and its caller (its operation and key without prefix, for its error).
 *
 * A class, not an object literal, on purpose. V8 tracks each literal's allocation site and, when most of a
 * site's objects outlive a young-generation collection, allocates all later ones in the old generation.
 * Writes wait for a reply, so right after a burst (the first round of 256 callers, a slow reply) nearly all
 * of them are alive at a collection: the site was tenured, and from then on every write's garbage went to
 * the old generation. Measured with 256 concurrent `set`s: 65-90 ms of GC per 51,200 writes and 150-210k
 * writes/s, against 12-20 ms and 260-320k/s with this class (instances of a class carry no allocation site).
 */
class Waiter {
  constructor(
    readonly key: string,
    readonly operation: string,
    readonly callerKey: string,
    readonly code: string,
    readonly first: string | undefined,
    readonly second: string | undefined,
    readonly decode: (reply: unknown) => unknown,
    readonly resume: (effect: Effect.Effect<unknown, CacheError>) => void,
  ) {}

  fail(failure: BackendFailure) {
    this.resume(Exit.fail(contextualize(this.operation, this.callerKey)(failure)))
  }
}

/**
 * What a write batcher needs from the backend: how to send a batch, and the node, breaker and clock of a key.
 *
 * @since 0.2.0
 * @category internal
 */
export interface WriteBatcherOptions {
  /**
   * Sends one batch: the deadline, the batch's own arguments (`batchArguments`), then the keys and arguments
   * of its operations, in order.
   */
  readonly send: (node: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => Promise<unknown>
  /** The deadline (server epoch ms) of a batch sent now to `node`. */
  readonly deadline: (node: string) => number
  /** The arguments a batch carries once, after the deadline, from its first key (every key shares its slot). */
  readonly batchArguments: (key: string) => ReadonlyArray<string>
  /** Splits a round's keys into groups that may share one script call (Redis Cluster: one hash slot). */
  readonly group: (keys: ReadonlyArray<string>) => ReadonlyArray<ReadonlyArray<number>>
  readonly nodeOf: (key: string) => string
  readonly classify: (error: unknown) => BackendFailure
  readonly breakerOf: (node: string) => CircuitBreaker
  /** Counts a batch's `weight` writes as pending on `node`; a failure when it has too many unanswered. */
  readonly admit: (node: string, weight: number) => BackendFailure | undefined
  readonly leave: (node: string, weight: number) => void
  /**
   * Called when an operation of a batch sent to `node` was refused with `READONLY`: the node is a replica
   * now. The refusal arrives as an element of the script's reply, which ioredis's `reconnectOnError` never
   * sees, so the connection must be replaced from here.
   */
  readonly demoted: (node: string) => void
  readonly timeoutMs: number
  readonly maxBatch: number
  /** Pending writes that are sent without waiting for the end of the scheduler round. */
  readonly eagerBatch: number
}

/**
 * The codes of the writes sent in runs (scripts.ts `writeBatch`): SET (`value`), SET PX (`value`, `ttl`),
 * INCRBY (`amount`) and INCRBY with a ttl for a key it creates (`amount`, `ttl`).
 *
 * @since 0.2.0
 * @category internal
 */
export const RunCode = { set: "m", setTtl: "M", incrBy: "i", incrByTtl: "I" } as const

/** Whether `next` joins the run `first` starts: the same code and ttl, and for INCRBY the same amount. */
const sameRun = (first: Waiter, next: Waiter, set: boolean) =>
  next.code === first.code && next.second === first.second && (set || next.first === first.first)

const isOutage = (failure: BackendFailure) => failure.reason === "Connection" || failure.reason === "Timeout"

/**
 * A write batcher: `write` queues one operation for the current scheduler round.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeWriteBatcher = (options: WriteBatcherOptions) => {
  let pending: Array<Waiter> = []

  const failAll = (batch: ReadonlyArray<Waiter>, failure: BackendFailure) => {
    for (const waiter of batch) waiter.fail(failure)
  }

  /** Every waiter's result from the batch's reply; the outage, if an operation's refusal means one. */
  const deliver = (node: string) => (batch: ReadonlyArray<Waiter>, replies: unknown) => {
    const results = replies as ReadonlyArray<unknown>
    // An operation refused for a reason that means the node is unwell (READONLY after a failover) counts
    // against it; one refused for its own reason (WRONGTYPE) does not.
    let outage: BackendFailure | undefined
    let demoted = false
    for (let i = 0; i < batch.length; i++) {
      const reply = results[i]
      const waiter = batch[i]!
      if (reply instanceof Error) {
        if (reply.message.startsWith("READONLY")) demoted = true
        const failure = options.classify(reply)
        if (outage === undefined && isOutage(failure)) outage = failure
        waiter.fail(failure)
      } else {
        const value = waiter.decode(reply)
        waiter.resume(value === undefined ? Exit.void : Exit.succeed(value))
      }
    }
    if (demoted) options.demoted(node)
    return outage
  }

  const send = (batch: ReadonlyArray<Waiter>) => {
    const node = options.nodeOf(batch[0]!.key)
    // No closure here may capture `batch`: they live as long as the command, the waiters must not.
    const keys = new Array<string>(batch.length)
    const args: Array<string> = [String(options.deadline(node)), ...options.batchArguments(batch[0]!.key)]
    for (let i = 0; i < batch.length; ) {
      const waiter = batch[i]!
      const set = waiter.code === RunCode.set || waiter.code === RunCode.setTtl
      if (set || waiter.code === RunCode.incrBy || waiter.code === RunCode.incrByTtl) {
        // A run of SETs with one ttl (or none), or of INCRBYs with one amount and ttl, goes as one
        // operation: its code, its length and what its writes share once, then each SET's value
        // (scripts.ts `writeBatch`, `m`/`M` and `i`/`I`).
        let end = i + 1
        while (end < batch.length && sameRun(waiter, batch[end]!, set)) end++
        args.push(waiter.code, String(end - i))
        if (!set) args.push(waiter.first!)
        if (waiter.second !== undefined) args.push(waiter.second)
        for (; i < end; i++) {
          keys[i] = batch[i]!.key
          if (set) args.push(batch[i]!.first!)
        }
        continue
      }
      keys[i] = waiter.key
      args.push(waiter.code)
      if (waiter.first !== undefined) args.push(waiter.first)
      if (waiter.second !== undefined) args.push(waiter.second)
      i++
    }
    callBatch(batch, () => options.send(node, keys, args), {
      admit: (weight) => options.admit(node, weight),
      leave: (weight) => options.leave(node, weight),
      breaker: options.breakerOf(node),
      timeoutMs: options.timeoutMs,
      classify: options.classify,
      deliver: deliver(node),
      fail: failAll,
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

  // As in GetBatcher: the flush is a task on Effect's scheduler, after the fibers of this round; no
  // canceller (an interrupted fiber's resume has already fired, so the batch's later resume is ignored, and
  // its write, already on its way, is still guarded by the batch's deadline).
  /**
   * Queues one write of `operation` on `key` (`callerKey` without its prefix): `code` and its arguments
   * (`first`, then `second`, each only when given) as scripts.ts `writeBatch` reads them; `decode` turns its
   * element of the reply into the result.
   */
  const write = <A>(
    key: string,
    operation: string,
    callerKey: string,
    decode: (reply: unknown) => A,
    code: string,
    first?: string,
    second?: string,
  ): Effect.Effect<A, CacheError> =>
    resumable<A, CacheError>((resume) => {
      pending.push(
        new Waiter(key, operation, callerKey, code, first, second, decode, resume as Waiter["resume"]),
      )
      if (pending.length === 1) Scheduler.defaultScheduler.scheduleTask(flush, 0)
      else if (pending.length >= options.eagerBatch) flush()
    })

  return { write }
}
