/**
 * Rate-limited warnings for the fail-open services. During an outage every call fails open, and one line per
 * call (1,000 lines for 1,000 writes during an OOM) buries the one line that matters. Per service and
 * operation, the first warning is logged, the next ones within `intervalMs` are counted, and the next line
 * logged carries that count as `suppressed`. Time is read through `Clock`, so `TestClock` drives it.
 */
import { Clock, Effect } from "effect"

/**
 * The default interval between two warnings of one operation.
 *
 * @since 0.2.0
 * @category internal
 */
export const FAIL_OPEN_LOG_INTERVAL_MS = 5_000

/**
 * The rate-limited warnings of one fail-open service.
 *
 * @since 0.2.0
 * @category internal
 */
export interface FailOpenLog {
  /** Logs `warning` unless a warning of `operation` was logged less than the interval ago. */
  readonly warn: (operation: string, warning: Effect.Effect<void>) => Effect.Effect<void>
}

/**
 * A rate limiter for one service's warnings: at most one per operation every `intervalMs`.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeFailOpenLog = (intervalMs: number = FAIL_OPEN_LOG_INTERVAL_MS): FailOpenLog => {
  const byOperation = new Map<string, { loggedAt: number; suppressed: number }>()
  return {
    warn: (operation, warning) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const state = byOperation.get(operation)
        if (state !== undefined && now - state.loggedAt < intervalMs) {
          state.suppressed++
          return Effect.void
        }
        const suppressed = state?.suppressed ?? 0
        byOperation.set(operation, { loggedAt: now, suppressed: 0 })
        return suppressed === 0 ? warning : Effect.annotateLogs(warning, { suppressed })
      }),
  }
}
