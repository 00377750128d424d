/**
 * User sessions in the cache under `session:{userId}:{sessionId}`, expiring when the session does.
 *
 * Lookups fail closed in the safe direction: a cache failure reads as "no session" (the user signs in
 * again). Writes and revocations report failures, because a revocation that silently did not happen is a
 * security problem.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { Cache, CacheError } from "./Cache.js"
import { makeFailOpenLog } from "./internal/failOpenLog.js"
import { withDomainSpan } from "./internal/spans.js"
import { IsoDateTime } from "./ProviderConnection.js"

/**
 * A user session.
 *
 * @since 0.1.0
 * @category models
 */
export class Session extends Schema.Class<Session>("Session")({
  sessionId: Schema.NonEmptyString,
  userId: Schema.NonEmptyString,
  createdAt: Schema.ValidDateFromSelf,
  expiresAt: Schema.ValidDateFromSelf,
  /** Anything the application keeps with the session (device, IP, …). Strings only. */
  attributes: Schema.Record({ key: Schema.String, value: Schema.String }),
}) {}

const SessionJson = Schema.parseJson(
  Schema.Struct({
    session_id: Schema.String,
    user_id: Schema.String,
    created_at: IsoDateTime,
    expires_at: IsoDateTime,
    attributes: Schema.Record({ key: Schema.String, value: Schema.String }),
  }).pipe(
    Schema.transform(Schema.typeSchema(Session), {
      strict: true,
      decode: (wire) =>
        new Session({
          sessionId: wire.session_id,
          userId: wire.user_id,
          createdAt: wire.created_at,
          expiresAt: wire.expires_at,
          attributes: wire.attributes,
        }),
      encode: (session) => ({
        session_id: session.sessionId,
        user_id: session.userId,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        attributes: session.attributes,
      }),
    }),
  ),
)

/**
 * The cache key of a session.
 *
 * @since 0.1.0
 * @category keys
 */
export const sessionKey = (userId: string, sessionId: string): string => `session:${userId}:${sessionId}`

/**
 * The tag every session of a user is stored with: `revokeAll` invalidates it, at a cost in proportion to
 * the user's sessions, not to the keyspace.
 *
 * @example
 * ```ts
 * import { sessionTag } from "effect-provider-cache"
 *
 * sessionTag("alice") // "session-user:alice"
 * ```
 *
 * @since 0.2.0
 * @category keys
 */
export const sessionTag = (userId: string): string => `session-user:${userId}`

/**
 * The operations of `SessionStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionStoreService {
  /** Stores a session until its `expiresAt`; `false` (nothing stored) if it has already expired. */
  readonly store: (session: Session) => Effect.Effect<boolean, CacheError>
  /** The session, or `none` if missing, expired, corrupt or the cache failed. */
  readonly get: (userId: string, sessionId: string) => Effect.Effect<Option.Option<Session>>
  /** Revokes one session; `true` if it existed. */
  readonly revoke: (userId: string, sessionId: string) => Effect.Effect<boolean, CacheError>
  /**
   * Revokes every session of a user (`invalidateTags` of the user's `sessionTag`); the number revoked.
   * Sessions stored by a version before 0.2.0 carry no tag: revoke those with `deletePattern`.
   */
  readonly revokeAll: (userId: string) => Effect.Effect<number, CacheError>
}

const encode = Schema.encode(SessionJson)
const decode = Schema.decodeUnknown(SessionJson)

/**
 * Builds the session store over the `Cache`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<SessionStoreService, never, Cache> = Effect.gen(function* () {
  const failOpenLog = makeFailOpenLog()
  const cache = yield* Cache

  const store = (session: Session) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const ttlMs = session.expiresAt.getTime() - now
      if (ttlMs <= 0) return false
      const json = yield* encode(session).pipe(
        Effect.mapError(
          (error) =>
            new CacheError({
              reason: "Serialization",
              operation: "set",
              key: sessionKey(session.userId, session.sessionId),
              detail: error.message,
            }),
        ),
      )
      yield* cache.set(sessionKey(session.userId, session.sessionId), json, {
        ttl: ttlMs,
        tags: [sessionTag(session.userId)],
      })
      return true
    }).pipe(withDomainSpan("SessionStore.store"))

  const get = (userId: string, sessionId: string) =>
    cache.get(sessionKey(userId, sessionId)).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (text) => Effect.map(decode(text), Option.some),
        }),
      ),
      Effect.catchAll((error) =>
        Effect.as(
          failOpenLog.warn(
            "get",
            Effect.logWarning("SessionStore.get failed: treating the session as absent").pipe(
              Effect.annotateLogs({
                userId,
                reason: error._tag === "CacheError" ? error.message : "stored session does not decode",
              }),
            ),
          ),
          Option.none<Session>(),
        ),
      ),
      withDomainSpan("SessionStore.get"),
    )

  const revoke = (userId: string, sessionId: string) =>
    cache.delete(sessionKey(userId, sessionId)).pipe(withDomainSpan("SessionStore.revoke"))

  // A tag is a name, not a pattern: an id like "*" revokes that user's sessions, not everybody's.
  const revokeAll = (userId: string) =>
    cache.invalidateTags([sessionTag(userId)]).pipe(withDomainSpan("SessionStore.revokeAll"))

  return { store, get, revoke, revokeAll }
})

/**
 * Sessions in the cache, keyed `session:{userId}:{sessionId}`, expiring with the session.
 *
 * @since 0.1.0
 * @category tags
 */
export class SessionStore extends Context.Tag("effect-provider-cache/SessionStore")<
  SessionStore,
  SessionStoreService
>() {
  static readonly layer: Layer.Layer<SessionStore, never, Cache> = Layer.effect(this, make)
}
