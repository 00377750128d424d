/**
 * The life of one batch of a batcher (`GetBatcher`'s MGET, `WriteBatcher`'s script call), shared by both:
 * admitted against its node's bound on unanswered commands (weighing as many as it has operations), passed by the node's breaker, bounded by a
 * timeout, and accounted for once. The breaker hears one outcome per batch, when the batch settles or times
 * out, whichever comes first; the node's pending count drops when ioredis settles the command, which may be
 * long after the timeout.
 *
 * The waiters are held by this call, not by the closures that outlive it: a batch that times out lets go
 * of them (their fibers, values and results) at once, while ioredis may keep the command itself until the
 * connection answers or is replaced.
 */
import type { CircuitBreaker } from "./CircuitBreaker.js"
import type { BackendFailure } from "./makeCache.js"
import { setReplyTimeout } from "./replyTimer.js"

/**
 * What a batch call needs from its batcher, besides its waiters and how to send it.
 *
 * @since 0.2.0
 * @category internal
 */
export interface BatchCall<W, R> {
  /**
   * Counts the batch's `weight` operations as pending on its node; a failure when the node has too many
   * unanswered commands.
   */
  readonly admit: (weight: number) => BackendFailure | undefined
  readonly leave: (weight: number) => void
  readonly breaker: CircuitBreaker
  readonly timeoutMs: number
  readonly classify: (error: unknown) => BackendFailure
  /** Hands every waiter its result from `reply`; returns the outage the breaker is to hear of, if any. */
  readonly deliver: (waiters: ReadonlyArray<W>, reply: R) => BackendFailure | undefined
  /** Fails every waiter with `failure`. */
  readonly fail: (waiters: ReadonlyArray<W>, failure: BackendFailure) => void
}

/**
 * Sends one batch with `send` and settles `waiters` from its outcome.
 *
 * @since 0.2.0
 * @category internal
 */
export const callBatch = <W, R>(
  waiters: ReadonlyArray<W>,
  send: () => Promise<R>,
  call: BatchCall<W, R>,
): void => {
  const weight = waiters.length
  const refused = call.admit(weight)
  if (refused !== undefined) {
    call.fail(waiters, refused)
    return
  }
  const permit = call.breaker.tryAcquire()
  if (permit === undefined) {
    call.leave(weight)
    call.fail(waiters, call.breaker.rejection())
    return
  }
  let waiting: ReadonlyArray<W> | undefined = waiters
  const settle = () => {
    const settled = waiting
    waiting = undefined
    return settled
  }
  const timer = setReplyTimeout(() => {
    const settled = settle()
    if (settled === undefined) return
    const failure: BackendFailure = { reason: "Timeout", detail: `no reply within ${call.timeoutMs} ms` }
    call.breaker.record(permit, failure)
    call.fail(settled, failure)
  }, call.timeoutMs)
  let sent: Promise<R>
  try {
    sent = send()
  } catch (error) {
    sent = Promise.reject(error)
  }
  const leave = () => call.leave(weight)
  sent.then(leave, leave)
  sent.then(
    (reply) => {
      const settled = settle()
      if (settled === undefined) return
      clearTimeout(timer)
      call.breaker.record(permit, call.deliver(settled, reply))
    },
    (error: unknown) => {
      const settled = settle()
      if (settled === undefined) return
      clearTimeout(timer)
      const failure = call.classify(error)
      call.breaker.record(permit, failure)
      call.fail(settled, failure)
    },
  )
}
