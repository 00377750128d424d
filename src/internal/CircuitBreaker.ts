/**
 * A consecutive-failure circuit breaker. After `failureThreshold` consecutive connection or timeout failures,
 * calls fail immediately for `cooldown`; then a single probe is let through, and its outcome closes the
 * circuit or opens it for another cooldown. Calls that fail for other reasons (a refused command, bad input)
 * prove the backend answers, so they count as successes.
 */
import { Effect } from "effect"
import type { BackendFailure } from "./makeCache.js"

export interface CircuitBreakerOptions {
  readonly failureThreshold: number
  readonly cooldownMs: number
}

type State =
  | { readonly _tag: "Closed"; failures: number }
  | { readonly _tag: "Open"; readonly until: number }
  | { readonly _tag: "HalfOpen" }

export interface CircuitBreaker {
  readonly protect: <A>(effect: Effect.Effect<A, BackendFailure>) => Effect.Effect<A, BackendFailure>
  /** For logs and tests. */
  readonly state: () => "Closed" | "Open" | "HalfOpen"
}

const isOutage = (failure: BackendFailure) => failure.reason === "Connection" || failure.reason === "Timeout"

export const makeCircuitBreaker = (options: CircuitBreakerOptions, now: () => number): CircuitBreaker => {
  let state: State = { _tag: "Closed", failures: 0 }

  const rejected = (detail: string): Effect.Effect<never, BackendFailure> =>
    Effect.fail({ reason: "Connection", detail })

  const onSuccess = () => {
    state = { _tag: "Closed", failures: 0 }
  }
  const onFailure = (failure: BackendFailure, probe: boolean) => {
    if (!isOutage(failure)) return onSuccess()
    if (probe || state._tag === "HalfOpen") {
      state = { _tag: "Open", until: now() + options.cooldownMs }
    } else if (state._tag === "Closed" && ++state.failures >= options.failureThreshold) {
      state = { _tag: "Open", until: now() + options.cooldownMs }
    }
  }

  const observe = <A>(effect: Effect.Effect<A, BackendFailure>, probe: boolean) =>
    effect.pipe(
      Effect.tapBoth({
        onFailure: (failure) => Effect.sync(() => onFailure(failure, probe)),
        onSuccess: () => Effect.sync(onSuccess),
      }),
      // An interrupted probe must not leave the breaker half-open forever.
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          if (probe && state._tag === "HalfOpen") state = { _tag: "Open", until: now() }
        }),
      ),
    )

  const protect = <A>(effect: Effect.Effect<A, BackendFailure>): Effect.Effect<A, BackendFailure> =>
    Effect.suspend(() => {
      switch (state._tag) {
        case "Closed":
          return observe(effect, false)
        case "HalfOpen":
          return rejected("circuit breaker open: a probe is checking whether Redis is back")
        case "Open":
          if (now() < state.until) return rejected("circuit breaker open after consecutive failures")
          state = { _tag: "HalfOpen" }
          return observe(effect, true)
      }
    })

  return { protect, state: () => state._tag }
}
