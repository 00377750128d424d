/**
 * A consecutive-failure circuit breaker. After `failureThreshold` consecutive connection or timeout failures,
 * calls fail immediately for `cooldown`; then a single probe is let through, and its outcome closes the
 * circuit or opens it for another cooldown. Calls that fail for other reasons (a refused command, bad input)
 * prove the backend answers, so they count as successes.
 *
 * The core is synchronous (`tryAcquire` / `record`) so the GET batcher can use it once per MGET, and so a
 * command's outcome is recorded when its reply (or timeout) arrives, whether or not the caller still waits
 * for it: a caller's own shorter timeout must not hide a hung node from the breaker. `protect` wraps an
 * Effect with it.
 *
 * The cool-down is an upper bound, not a sentence: `reset` closes the circuit at once when the connection
 * is known to be ready again (a reconnect after a dropped socket takes a fraction of a second).
 */
import { Effect } from "effect"
import type { BackendFailure } from "./makeCache.js"

/**
 * @since 0.2.0
 * @category internal
 */
export interface CircuitBreakerOptions {
  readonly failureThreshold: number
  readonly cooldownMs: number
  /** Called when the circuit opens after being closed (not on every failed probe). */
  readonly onOpen?: ((failure: BackendFailure) => void) | undefined
  /** Called when the circuit closes after being open. */
  readonly onClose?: (() => void) | undefined
}

type State =
  | { readonly _tag: "Closed"; failures: number }
  | { readonly _tag: "Open"; readonly until: number }
  | { readonly _tag: "HalfOpen" }

/**
 * Permission to send one command; `probe` when it decides whether a half-open circuit closes.
 *
 * @since 0.2.0
 * @category internal
 */
export interface Permit {
  readonly probe: boolean
}

/**
 * @since 0.2.0
 * @category internal
 */
export interface CircuitBreaker {
  /** A permit, or undefined when the call must fail at once (see `rejection`). */
  readonly tryAcquire: () => Permit | undefined
  /** What a rejected call fails with. */
  readonly rejection: () => BackendFailure
  /** The outcome of a permitted call: `undefined` for success. */
  readonly record: (permit: Permit, failure: BackendFailure | undefined) => void
  readonly protect: <A>(effect: Effect.Effect<A, BackendFailure>) => Effect.Effect<A, BackendFailure>
  /** Closes the circuit now (the connection is ready again). */
  readonly reset: () => void
}

const isOutage = (failure: BackendFailure) => failure.reason === "Connection" || failure.reason === "Timeout"

const CLOSED_PERMIT: Permit = { probe: false }
const PROBE_PERMIT: Permit = { probe: true }

/**
 * @since 0.2.0
 * @category internal
 */
export const makeCircuitBreaker = (options: CircuitBreakerOptions, now: () => number): CircuitBreaker => {
  let state: State = { _tag: "Closed", failures: 0 }

  const open = (failure: BackendFailure) => {
    const wasClosed = state._tag === "Closed"
    state = { _tag: "Open", until: now() + options.cooldownMs }
    if (wasClosed) options.onOpen?.(failure)
  }

  const close = () => {
    const wasClosed = state._tag === "Closed"
    state = { _tag: "Closed", failures: 0 }
    if (!wasClosed) options.onClose?.()
  }

  const tryAcquire = (): Permit | undefined => {
    switch (state._tag) {
      case "Closed":
        return CLOSED_PERMIT
      case "HalfOpen":
        return undefined
      case "Open":
        if (now() < state.until) return undefined
        state = { _tag: "HalfOpen" }
        return PROBE_PERMIT
    }
  }

  const rejection = (): BackendFailure => ({
    reason: "Connection",
    detail:
      state._tag === "HalfOpen"
        ? "circuit breaker open: a probe is checking whether Redis is back"
        : "circuit breaker open after consecutive failures",
  })

  const record = (permit: Permit, failure: BackendFailure | undefined) => {
    if (failure === undefined || !isOutage(failure)) {
      if (permit.probe || state._tag === "Closed") close()
      return
    }
    if (permit.probe || state._tag === "HalfOpen") return open(failure)
    if (state._tag === "Closed" && ++state.failures >= options.failureThreshold) open(failure)
  }

  const protect = <A>(effect: Effect.Effect<A, BackendFailure>): Effect.Effect<A, BackendFailure> =>
    Effect.suspend(() => {
      const permit = tryAcquire()
      if (permit === undefined) return Effect.fail(rejection())
      return effect.pipe(
        Effect.tapBoth({
          onFailure: (failure) => Effect.sync(() => record(permit, failure)),
          onSuccess: () => Effect.sync(() => record(permit, undefined)),
        }),
        // An interrupted probe must not leave the breaker half-open forever.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            if (permit.probe && state._tag === "HalfOpen") state = { _tag: "Open", until: now() }
          }),
        ),
      )
    })

  return { tryAcquire, rejection, record, protect, reset: close }
}
