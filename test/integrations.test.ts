import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import {
  Cache,
  CacheAside,
  CacheStats,
  ConnectionNotFound,
  ConnectionNotOwned,
  connectionKey,
  type ProviderConnection,
  ProviderConnectionCache,
  ProviderConnectionRepository,
  ProviderConnectionService,
  ProviderToken,
  ProviderTokenCache,
  RateLimiter,
  RepositoryError,
  rateLimitKey,
  Session,
  SessionStore,
  sessionKey,
  tokenKey,
} from "../src/index.js"
import { backends } from "./support/backends.js"
import { captureLogs, failingCache, makeConnection, uuid } from "./support/fixtures.js"

describe.each(backends)("integration points over $name", ({ layer, elapse }) => {
  describe("RateLimiter", () => {
    const live = () => RateLimiter.layer.pipe(Layer.provideMerge(layer()))

    it.effect("allows `limit` requests per window, then refuses with a retry-after", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const rule = { limit: 3, window: "1 minute" } as const
        const decisions = yield* Effect.forEach([1, 2, 3, 4, 5], () =>
          limiter.check("u1", "GET /accounts", rule),
        )
        expect(decisions.map((d) => d.allowed)).toStrictEqual([true, true, true, false, false])
        expect(decisions.map((d) => d.remaining)).toStrictEqual([2, 1, 0, 0, 0])
        const retry = Duration.toMillis(Option.getOrThrow(decisions[3]!.retryAfter))
        expect(retry).toBeGreaterThan(50_000)
        expect(retry).toBeLessThanOrEqual(60_000)
        // Other users and endpoints have their own windows.
        expect((yield* limiter.check("u2", "GET /accounts", rule)).allowed).toBe(true)
        expect((yield* limiter.check("u1", "GET /transactions", rule)).allowed).toBe(true)
      }).pipe(Effect.provide(live())),
    )

    it.effect("the counter always has an expiry, and the window rolls over", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const cache = yield* Cache
        const rule = { limit: 2, window: 400 } as const
        for (let i = 0; i < 3; i++) yield* limiter.check("u3", "POST /sync", rule)
        expect((yield* limiter.check("u3", "POST /sync", rule)).allowed).toBe(false)
        expect(Option.isSome(yield* cache.ttl(rateLimitKey("u3", "POST /sync")))).toBe(true)
        yield* elapse(600)
        const fresh = yield* limiter.check("u3", "POST /sync", rule)
        expect(fresh).toMatchObject({ allowed: true, count: 1 })
      }).pipe(Effect.provide(live())),
    )
  })

  describe("SessionStore", () => {
    const live = () => SessionStore.layer.pipe(Layer.provideMerge(layer()))
    const session = (userId: string, sessionId: string, expiresInMs: number) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) =>
          new Session({
            sessionId,
            userId,
            createdAt: new Date(now),
            expiresAt: new Date(now + expiresInMs),
            attributes: { device: "laptop" },
          }),
      )

    it.effect("stores with a ttl derived from the expiry, reads back, revokes one", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        const cache = yield* Cache
        const s1 = yield* session("alice", "s1", 3_600_000)
        expect(yield* sessions.store(s1)).toBe(true)
        expect(yield* sessions.get("alice", "s1")).toStrictEqual(Option.some(s1))
        const ttl = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(sessionKey("alice", "s1"))))
        expect(ttl).toBeGreaterThan(3_590_000)
        expect(ttl).toBeLessThanOrEqual(3_600_000)
        expect(yield* sessions.revoke("alice", "s1")).toBe(true)
        expect(yield* sessions.get("alice", "s1")).toStrictEqual(Option.none())
        const expired = yield* session("alice", "old", -1)
        expect(yield* sessions.store(expired)).toBe(false)
        expect(yield* cache.exists(sessionKey("alice", "old"))).toBe(false)
      }).pipe(Effect.provide(live())),
    )

    it.effect("a session disappears when it expires", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        yield* sessions.store(yield* session("carol", "short", 300))
        expect(Option.isSome(yield* sessions.get("carol", "short"))).toBe(true)
        yield* elapse(500)
        expect(yield* sessions.get("carol", "short")).toStrictEqual(Option.none())
      }).pipe(Effect.provide(live())),
    )

    it.effect("revokeAll removes one user's sessions only, even for a hostile user id", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionStore
        for (const [user, id] of [
          ["bob", "a"],
          ["bob", "b"],
          ["bobby", "c"],
          ["*", "d"],
          ["b?b", "e"],
        ] as const) {
          yield* sessions.store(yield* session(user, id, 60_000))
        }
        expect(yield* sessions.revokeAll("*")).toBe(1)
        expect(yield* sessions.revokeAll("b?b")).toBe(1)
        expect(Option.isSome(yield* sessions.get("bob", "a"))).toBe(true)
        expect(yield* sessions.revokeAll("bob")).toBe(2)
        expect(yield* sessions.get("bob", "b")).toStrictEqual(Option.none())
        expect(Option.isSome(yield* sessions.get("bobby", "c"))).toBe(true)
      }).pipe(Effect.provide(live())),
    )

    it.effect(
      "revokeAll goes through the user's tag: a scan-free delete of exactly the stored sessions",
      () =>
        Effect.gen(function* () {
          const sessions = yield* SessionStore
          const cache = yield* Cache
          for (let i = 0; i < 30; i++) yield* sessions.store(yield* session("dave", `s${i}`, 60_000))
          yield* sessions.store(yield* session("erin", "s0", 60_000))
          // A key under dave's session prefix that SessionStore did not store (so untagged): a pattern delete
          // would take it; the tag does not.
          yield* cache.set(sessionKey("dave", "foreign"), "not a session")
          // A session that expired on its own is not counted.
          yield* sessions.store(yield* session("dave", "short", 300))
          yield* elapse(500)
          expect(yield* sessions.revokeAll("dave")).toBe(30)
          expect(yield* cache.countPattern("session:dave:*")).toBe(1)
          expect(Option.isSome(yield* sessions.get("erin", "s0"))).toBe(true)
          // A session stored after the revocation is a new sign-in: untouched.
          yield* sessions.store(yield* session("dave", "again", 60_000))
          expect(Option.isSome(yield* sessions.get("dave", "again"))).toBe(true)
          expect(yield* sessions.revokeAll("dave")).toBe(1)
          yield* cache.delete(sessionKey("dave", "foreign"))
        }).pipe(Effect.provide(live())),
    )
  })

  describe("ProviderTokenCache", () => {
    const live = () =>
      ProviderTokenCache.layer.pipe(Layer.provideMerge(CacheAside.layer), Layer.provideMerge(layer()))
    const token = (lifetimeMs: number, value = "at-secret-123") =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) =>
          new ProviderToken({
            accessToken: Redacted.make(value),
            tokenType: "Bearer",
            expiresAt: new Date(now + lifetimeMs),
            scope: "read",
          }),
      )

    it.effect("caches a token for its lifetime minus the 5-minute margin", () =>
      Effect.gen(function* () {
        const tokens = yield* ProviderTokenCache
        const cache = yield* Cache
        let fetches = 0
        const fetch = Effect.zipRight(
          Effect.sync(() => fetches++),
          token(3_600_000),
        )
        const first = yield* tokens.getOrFetch("c1", fetch)
        const second = yield* tokens.getOrFetch("c1", fetch)
        expect(fetches).toBe(1)
        expect(Redacted.value(second.accessToken)).toBe("at-secret-123")
        expect(second.expiresAt).toStrictEqual(first.expiresAt)
        const ttl = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(tokenKey("c1"))))
        expect(ttl).toBeGreaterThan(3_300_000 - 5_000)
        expect(ttl).toBeLessThanOrEqual(3_300_000)
        expect(String(second)).not.toContain("at-secret-123")
        expect(yield* tokens.invalidate("c1")).toBe(true)
        yield* tokens.getOrFetch("c1", fetch)
        expect(fetches).toBe(2)
      }).pipe(Effect.provide(live())),
    )

    it.effect("a token with less lifetime than the margin is not cached", () =>
      Effect.gen(function* () {
        const tokens = yield* ProviderTokenCache
        const cache = yield* Cache
        yield* tokens.getOrFetch("c2", token(4 * 60_000))
        expect(yield* cache.exists(tokenKey("c2"))).toBe(false)
        yield* tokens.getOrFetch("c3", token(5 * 60_000))
        expect(yield* cache.exists(tokenKey("c3"))).toBe(false)
      }).pipe(Effect.provide(live())),
    )
  })

  describe("ProviderConnectionService (cache, repository, store, ownership)", () => {
    const owner = uuid(2)
    const setup = () => {
      const repository = ProviderConnectionRepository.inMemory([
        makeConnection({ id: uuid(100), userId: owner }),
        makeConnection({ id: uuid(101), userId: owner, status: "pending", credentials: null }),
      ])
      const live = ProviderConnectionService.layerWithTtl("5 minutes").pipe(
        Layer.provideMerge(CacheAside.layer),
        Layer.provideMerge(repository.layer),
        Layer.provideMerge(layer()),
      )
      return { live, stats: repository.stats }
    }

    it.effect("reads through the cache: the repository is asked once", () => {
      const { live, stats } = setup()
      return Effect.gen(function* () {
        const service = yield* ProviderConnectionService
        const before = yield* CacheStats.get("provider_connection")
        const a = yield* service.getForUser(owner, uuid(100))
        const b = yield* service.getForUser(owner, uuid(100))
        expect(b).toStrictEqual(a)
        expect(stats.lookups).toBe(1)
        const after = yield* CacheStats.get("provider_connection")
        expect(after.hits - before.hits).toBe(1)
        expect(after.misses - before.misses).toBe(1)
        expect(Option.isSome(yield* (yield* Cache).get(connectionKey(uuid(100))))).toBe(true)
      }).pipe(Effect.provide(live))
    })

    it.effect(
      "ProviderConnectionCache reads what the service cached with grace, and misses it past its ttl",
      () => {
        const { live } = setup()
        return Effect.gen(function* () {
          const service = yield* ProviderConnectionService
          const connections = yield* ProviderConnectionCache
          const cache = yield* Cache
          const loaded = yield* service.getForUser(owner, uuid(100))
          // The service stores a CacheAside envelope (grace is on by default); the domain cache reads through it.
          const stored = Option.getOrThrow(yield* cache.get(connectionKey(uuid(100))))
          expect(stored.startsWith('{"__cacheAside":1,')).toBe(true)
          expect(yield* connections.get(uuid(100))).toStrictEqual(Option.some(loaded))
          // Past the ttl (within grace) it is a miss for the domain cache, and the stale copy stays for the
          // service to serve during an outage.
          yield* TestClock.adjust("5 minutes")
          expect(yield* connections.get(uuid(100))).toStrictEqual(Option.none())
          expect(yield* cache.get(connectionKey(uuid(100)))).toStrictEqual(Option.some(stored))
        }).pipe(Effect.provide(Layer.provideMerge(ProviderConnectionCache.layerWithTtl("5 minutes"), live)))
      },
    )

    it.effect("not found and not owned are typed errors; neither leaks another user's connection", () => {
      const { live } = setup()
      return Effect.gen(function* () {
        const service = yield* ProviderConnectionService
        const missing = yield* Effect.flip(service.getForUser(owner, uuid(999)))
        expect(missing).toBeInstanceOf(ConnectionNotFound)
        const stranger = yield* Effect.flip(service.getForUser(uuid(77), uuid(100)))
        expect(stranger).toBeInstanceOf(ConnectionNotOwned)
        // The owner's read, cached by the stranger's attempt, is still the owner's.
        expect((yield* service.getForUser(owner, uuid(100))).userId).toBe(owner)
      }).pipe(Effect.provide(live))
    })

    it.effect("update and disconnect invalidate, so the next read is fresh", () => {
      const { live, stats } = setup()
      return Effect.gen(function* () {
        const service = yield* ProviderConnectionService
        yield* service.getForUser(owner, uuid(100))
        yield* service.update(owner, uuid(100), { alias: "Renamed" })
        expect((yield* service.getForUser(owner, uuid(100))).alias).toBe("Renamed")
        yield* service.disconnect(owner, uuid(100))
        const after = yield* service.getForUser(owner, uuid(100))
        expect(after.status).toBe("disconnected")
        expect(after.credentials).toBeNull()
        expect(after.isConnected).toBe(false)
        expect(stats.lookups).toBe(3)
        const denied = yield* Effect.flip(service.update(uuid(77), uuid(100), { alias: "hijack" }))
        expect(denied).toBeInstanceOf(ConnectionNotOwned)
      }).pipe(Effect.provide(live))
    })

    it.effect(
      "a database outage serves the last known connection within its grace; a revoked one never",
      () => {
        // A repository that can go down, and lose rows.
        const rows = new Map<string, ProviderConnection>(
          [
            makeConnection({ id: uuid(100), userId: owner }),
            makeConnection({ id: uuid(102), userId: owner }),
          ].map((c) => [c.id, c]),
        )
        let down = false
        let lookups = 0
        const repository = Layer.succeed(ProviderConnectionRepository, {
          findById: (id) =>
            Effect.suspend(() => {
              lookups++
              return down
                ? Effect.fail(new RepositoryError({ operation: "findById" }))
                : Effect.succeed(Option.fromNullable(rows.get(id)))
            }),
          save: (connection) =>
            down
              ? Effect.fail(new RepositoryError({ operation: "save" }))
              : Effect.sync(() => void rows.set(connection.id, connection)),
        })
        const live = ProviderConnectionService.layerWithTtl(300, { grace: 1_000 }).pipe(
          Layer.provideMerge(CacheAside.layer),
          Layer.provideMerge(repository),
          Layer.provideMerge(layer()),
        )
        return Effect.gen(function* () {
          const service = yield* ProviderConnectionService
          const cached = yield* service.getForUser(owner, uuid(100))
          yield* service.getForUser(owner, uuid(102))
          yield* elapse(400)
          down = true
          // Past ttl, the repository is asked again; it fails, so the last known connection answers.
          expect(yield* service.getForUser(owner, uuid(100))).toStrictEqual(cached)
          expect(lookups).toBe(3)
          // Ownership is still checked on the stale copy.
          expect(yield* Effect.flip(service.getForUser(uuid(77), uuid(100)))).toBeInstanceOf(
            ConnectionNotOwned,
          )
          // A row that is gone is not served from the grace copy.
          down = false
          rows.delete(uuid(102))
          expect(yield* Effect.flip(service.getForUser(owner, uuid(102)))).toBeInstanceOf(ConnectionNotFound)
          // Revocation is not subject to grace: after disconnect, an outage is an error, not the old connection.
          yield* service.disconnect(owner, uuid(100))
          down = true
          expect(yield* Effect.flip(service.getForUser(owner, uuid(100)))).toBeInstanceOf(RepositoryError)
          // Past ttl + grace, an outage reaches the caller.
          down = false
          yield* service.getForUser(owner, uuid(100))
          down = true
          yield* elapse(1_500)
          expect(yield* Effect.flip(service.getForUser(owner, uuid(100)))).toBeInstanceOf(RepositoryError)
        }).pipe(Effect.provide(live))
      },
    )

    it.effect("concurrent reads of one connection hit the repository once", () => {
      const { live, stats } = setup()
      return Effect.gen(function* () {
        const service = yield* ProviderConnectionService
        const start = yield* Deferred.make<void>()
        const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () =>
          Effect.fork(Effect.zipRight(Deferred.await(start), service.getForUser(owner, uuid(101)))),
        )
        yield* Deferred.succeed(start, undefined)
        const results = yield* Fiber.joinAll(fibers)
        expect(new Set(results.map((c) => c.id))).toStrictEqual(new Set([uuid(101)]))
        expect(stats.lookups).toBe(1)
      }).pipe(Effect.provide(live))
    })
  })
})

describe("fail-open integration points", () => {
  it.effect("the rate limiter allows requests when the cache fails, and says so", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const decision = yield* limiter.check("u", "GET /x", { limit: 1, window: "1 minute" })
      expect(decision).toMatchObject({ allowed: true, failedOpen: true })
      expect(logs.entries[0]?.level).toBe("WARN")
    }).pipe(
      Effect.provide(RateLimiter.layer.pipe(Layer.provide(failingCache), Layer.provideMerge(logs.layer))),
    )
  })

  it.effect("sessions: a failing cache reads as no session, but a failed revoke is reported", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionStore
      expect(yield* sessions.get("u", "s")).toStrictEqual(Option.none())
      expect((yield* Effect.flip(sessions.revoke("u", "s"))).reason).toBe("Connection")
      expect((yield* Effect.flip(sessions.revokeAll("u"))).reason).toBe("Connection")
    }).pipe(Effect.provide(SessionStore.layer.pipe(Layer.provide(failingCache)))),
  )
})
