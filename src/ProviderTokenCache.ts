/**
 * OAuth access tokens of provider connections, cached for their lifetime minus a refresh margin, so a cached
 * token is never one about to expire in the middle of a request. The token itself is `Redacted`: it never
 * shows up in logs, errors or `console.log`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { CacheAside } from "./CacheAside.js"
import { withDomainSpan } from "./internal/spans.js"
import { IsoDateTime } from "./ProviderConnection.js"

/**
 * An OAuth token of a provider connection; the access token is `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export class ProviderToken extends Schema.Class<ProviderToken>("ProviderToken")({
  accessToken: Schema.Redacted(Schema.String),
  tokenType: Schema.String,
  expiresAt: IsoDateTime,
  scope: Schema.NullOr(Schema.String),
}) {}

/**
 * The default margin: a token with less than this left is refreshed, not cached.
 *
 * @since 0.1.0
 * @category constants
 */
export const REFRESH_MARGIN = Duration.minutes(5)

/**
 * The cache key of a connection's token.
 *
 * @since 0.1.0
 * @category keys
 */
export const tokenKey = (connectionId: string): string => `provider:token:${connectionId}`

/**
 * How long a token may be cached at `now`: its remaining lifetime minus the margin, if that is positive.
 *
 * @since 0.1.0
 * @category utils
 */
export const tokenTtl = (
  token: ProviderToken,
  now: number,
  margin: Duration.DurationInput = REFRESH_MARGIN,
) => {
  const ms = token.expiresAt.getTime() - now - Duration.toMillis(margin)
  return ms > 0 ? Option.some(Duration.millis(ms)) : Option.none()
}

/**
 * The operations of `ProviderTokenCache`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderTokenCacheService {
  /** The cached token, or `fetch`'s (cached when it lives longer than the margin). Fails only as `fetch` fails. */
  readonly getOrFetch: <E, R>(
    connectionId: string,
    fetch: Effect.Effect<ProviderToken, E, R>,
  ) => Effect.Effect<ProviderToken, E, R>
  /** Drops a cached token (e.g. after the provider rejected it). */
  readonly invalidate: (connectionId: string) => Effect.Effect<boolean>
}

const NAMESPACE = "provider_token"

/**
 * Builds the token cache over `CacheAside`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ProviderTokenCacheService, never, CacheAside> = Effect.gen(function* () {
  const aside = yield* CacheAside
  const getOrFetch = <E, R>(connectionId: string, fetch: Effect.Effect<ProviderToken, E, R>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      aside.getOrLoad(
        {
          key: tokenKey(connectionId),
          schema: ProviderToken,
          namespace: NAMESPACE,
          ttl: (token) => tokenTtl(token, now),
        },
        fetch,
      ),
    ).pipe(withDomainSpan("ProviderTokenCache.getOrFetch"))
  return { getOrFetch, invalidate: (connectionId) => aside.invalidate(tokenKey(connectionId), NAMESPACE) }
})

/**
 * Caches provider OAuth tokens for their lifetime minus the refresh margin.
 *
 * @since 0.1.0
 * @category tags
 */
export class ProviderTokenCache extends Context.Tag("effect-provider-cache/ProviderTokenCache")<
  ProviderTokenCache,
  ProviderTokenCacheService
>() {
  static readonly layer: Layer.Layer<ProviderTokenCache, never, CacheAside> = Layer.effect(this, make)
}
