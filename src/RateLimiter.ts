/**
 * A fixed-window rate limiter over `Cache`: `limit` requests per `window` per user and endpoint.
 *
 * The counter and its expiry are created in one atomic step (`increment` with a ttl applied only when the
 * key is created). The original did INCR, then EXPIRE: a crash between the two left a counter that never
 * expired and locked the user out for good.
 *
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer, Option } from "effect"
import { Cache } from "./Cache.js"
import * as CacheStats from "./CacheStats.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"
import { withDomainSpan } from "./internal/spans.js"

/**
 * At most `limit` requests per `window`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitRule {
  readonly limit: number
  readonly window: Duration.DurationInput
}

/**
 * The outcome of one `check`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitDecision {
  readonly allowed: boolean
  /** Requests counted in the current window, this one included (0 when the cache failed). */
  readonly count: number
  readonly remaining: number
  /** When the window resets, if known (reported when the request is refused). */
  readonly retryAfter: Option.Option<Duration.Duration>
  /** True when the cache failed and the request was let through (fail-open). */
  readonly failedOpen: boolean
}

/**
 * The operations of `RateLimiter`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimiterService {
  /** Counts one request and decides. Never fails: a cache failure allows the request. */
  readonly check: (userId: string, endpoint: string, rule: RateLimitRule) => Effect.Effect<RateLimitDecision>
}

/**
 * The counter's key; components are URI-encoded so `a:b` + `c` never meets `a` + `b:c`.
 *
 * @since 0.1.0
 * @category keys
 */
export const rateLimitKey = (userId: string, endpoint: string): string =>
  `ratelimit:${encodeURIComponent(endpoint)}:${encodeURIComponent(userId)}`

const NAMESPACE = "rate_limit"

/**
 * Builds the rate limiter over the `Cache` (one atomic `increment` with a ttl per request).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<RateLimiterService, never, Cache> = Effect.gen(function* () {
  const failOpenLog = makeFailOpenLog()
  const cache = yield* Cache

  const check = (userId: string, endpoint: string, rule: RateLimitRule) => {
    const key = rateLimitKey(userId, endpoint)
    return cache.increment(key, 1, { ttl: rule.window }).pipe(
      Effect.flatMap((count) => {
        const allowed = count <= rule.limit
        const decision = { allowed, count, remaining: Math.max(rule.limit - count, 0), failedOpen: false }
        if (allowed) return Effect.succeed({ ...decision, retryAfter: Option.none() })
        return cache.ttl(key).pipe(
          Effect.orElseSucceed(() => Option.none<Duration.Duration>()),
          Effect.map((retryAfter) => ({ ...decision, retryAfter })),
        )
      }),
      Effect.catchAll((error) =>
        failOpenLog
          .warn(
            "check",
            Effect.logWarning("RateLimiter.check failed open: request allowed").pipe(
              Effect.annotateLogs({ endpoint, reason: `${error.reason}: ${error.message}` }),
            ),
          )
          .pipe(
            Effect.zipRight(CacheStats.record(NAMESPACE, "error")),
            Effect.as({
              allowed: true,
              count: 0,
              remaining: rule.limit,
              retryAfter: Option.none<Duration.Duration>(),
              failedOpen: true,
            }),
          ),
      ),
      withDomainSpan("RateLimiter.check", () => ({ endpoint })),
    )
  }

  return { check }
})

/**
 * @example
 * ```ts
 * const decision = yield* RateLimiter.pipe(
 *   Effect.flatMap((limiter) => limiter.check(userId, "GET /accounts", { limit: 100, window: "1 minute" }))
 * )
 * if (!decision.allowed) return yield* Effect.fail(new TooManyRequests({ retryAfter: decision.retryAfter }))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class RateLimiter extends Context.Tag("effect-provider-cache/RateLimiter")<
  RateLimiter,
  RateLimiterService
>() {
  static readonly layer: Layer.Layer<RateLimiter, never, Cache> = Layer.effect(this, make)
}
