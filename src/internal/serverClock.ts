/**
 * Where the server's clock stands relative to ours, so a write's deadline can be stated in the server's own
 * time (see scripts.ts). Each sample is a `TIME` round trip: the server's reading is taken as halfway through
 * it, so the sample is off by at most half the round trip, its uncertainty, which every deadline gives up.
 *
 * A round trip measured while our event loop was blocked (a long synchronous task, a GC pause, a busy
 * startup) is long, and an estimate that uncertain would push every deadline into the past: every write
 * would be refused as late. So a sample replaces the current estimate only when it is at least as good,
 * counting the current one's age against it (clocks drift and get stepped), and a poor estimate is
 * re-measured at once rather than in 30 s.
 *
 * Times are on the monotonic clock (`performance.now()`), so a step of this machine's wall clock does not
 * move the deadlines.
 */

/**
 * What a server clock needs from its surroundings: a `TIME` call, a monotonic clock and a timer.
 *
 * @since 0.1.0
 * @category internal
 */
export interface ServerClockOptions {
  /** TIME: seconds and microseconds of the server's clock. */
  readonly time: () => Promise<ReadonlyArray<string | number>>
  /** A monotonic clock in milliseconds. */
  readonly now: () => number
  /** Arms a timer; the returned function disarms it. */
  readonly schedule: (ms: number, run: () => void) => () => void
}

interface Estimate {
  /** Server epoch ms minus our monotonic ms. */
  readonly offsetMs: number
  /** Half the round trip the sample was taken in. */
  readonly uncertaintyMs: number
  readonly takenAt: number
}

/**
 * How often a good estimate is re-measured.
 *
 * @since 0.1.0
 * @category internal
 */
export const RESYNC_MS = 30_000
/**
 * An estimate this uncertain or better is good; a worse one is re-measured soon.
 *
 * @since 0.1.0
 * @category internal
 */
export const GOOD_UNCERTAINTY_MS = 5
/**
 * How soon a poor estimate (or a failed sample) is re-measured, and how many times in a row.
 *
 * @since 0.1.0
 * @category internal
 */
export const RETRY_MS = 20
/**
 * @since 0.1.0
 * @category internal
 */
export const RETRIES = 5
/** How fast an estimate loses certainty with age: 1 ms per second, far above real clock drift. */
const AGING_PER_MS = 0.001

/**
 * @since 0.1.0
 * @category internal
 */
export interface ServerClock {
  /** Takes a sample now (on connect). */
  readonly sync: () => void
  /**
   * The last server instant, in server epoch ms, at which a write sent now with this timeout may still run:
   * now plus the timeout, minus the estimate's uncertainty and 1 ms of TIME's truncation.
   */
  readonly deadline: (timeoutMs: number) => number
  /**
   * Whether the estimate is too uncertain for a write with this timeout (it would give up half of it or
   * more): such a deadline is likely already past, and the write certain to be refused.
   */
  readonly uncertainFor: (timeoutMs: number) => boolean
  /** Takes a sample now and resolves when it has been counted (or failed). */
  readonly refreshed: () => Promise<void>
  /** The current estimate's uncertainty, for tests; Infinity before the first sample. */
  readonly uncertaintyMs: () => number
  readonly stop: () => void
}

/**
 * @since 0.1.0
 * @category internal
 */
export const makeServerClock = (options: ServerClockOptions): ServerClock => {
  let estimate: Estimate | undefined
  let poorInARow = 0
  let cancel: (() => void) | undefined
  let stopped = false
  let waiting: Array<() => void> = []
  const settle = () => {
    const done = waiting
    waiting = []
    for (const resolve of done) resolve()
  }

  const arm = (ms: number) => {
    cancel?.()
    cancel = stopped ? undefined : options.schedule(ms, sync)
  }

  const aged = (current: Estimate, at: number) =>
    current.uncertaintyMs + Math.max(0, at - current.takenAt) * AGING_PER_MS

  const next = () => {
    const poor = estimate === undefined || estimate.uncertaintyMs > GOOD_UNCERTAINTY_MS
    poorInARow = poor ? poorInARow + 1 : 0
    arm(poor && poorInARow <= RETRIES ? RETRY_MS : RESYNC_MS)
  }

  function sync() {
    if (stopped) return
    const sent = options.now()
    options.time().then(
      ([seconds, micros]) => {
        const received = options.now()
        const sample: Estimate = {
          offsetMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2,
          uncertaintyMs: (received - sent) / 2,
          takenAt: received,
        }
        const usable = Number.isFinite(sample.offsetMs)
        if (usable && (estimate === undefined || sample.uncertaintyMs <= aged(estimate, received))) {
          estimate = sample
        }
        next()
        settle()
      },
      () => {
        next()
        settle()
      },
    )
  }

  return {
    sync,
    deadline: (timeoutMs) => {
      const now = options.now()
      // Before the first sample: assume the clocks agree. Writes cannot go out before the connection is
      // ready, and the first sample is taken then.
      if (estimate === undefined) return Math.floor(Date.now() + timeoutMs - 1)
      return Math.floor(now + estimate.offsetMs + timeoutMs - aged(estimate, now) - 1)
    },
    uncertainFor: (timeoutMs) => estimate !== undefined && aged(estimate, options.now()) * 2 >= timeoutMs,
    refreshed: () =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve()
        waiting.push(resolve)
        sync()
      }),
    uncertaintyMs: () => (estimate === undefined ? Number.POSITIVE_INFINITY : estimate.uncertaintyMs),
    stop: () => {
      stopped = true
      cancel?.()
      cancel = undefined
      settle()
    },
  }
}
