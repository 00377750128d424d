import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Layer, Option, Schema, TestClock } from "effect"
import {
  Cache,
  type CacheError,
  connectionKey,
  MemoryCache,
  ProviderConnectionCache,
  ProviderConnectionJson,
  ProviderCredentials,
} from "../src/index.js"
import { ReadNow } from "../src/internal/readNow.js"
import { RedisCache } from "../src/redis.js"
import {
  captureLogs,
  ciphertext,
  dyingCache,
  failingCache,
  makeConnection,
  uuid,
} from "./support/fixtures.js"
import { redisUrl, uniquePrefix } from "./support/testRedis.js"

const encode = Schema.encodeSync(ProviderConnectionJson)

const backends: ReadonlyArray<readonly [string, () => Layer.Layer<Cache, CacheError>]> = [
  ["MemoryCache", () => MemoryCache.layer()],
  ["RedisCache", () => RedisCache.layer({ url: redisUrl(0), keyPrefix: uniquePrefix("pcc") })],
]

const secretBase64 = Buffer.from(ciphertext()).toString("base64")

/** A defective Cache: `get` as given, any other operation unused. */
const cacheWithGet = (get: (key: string) => unknown): Layer.Layer<Cache> =>
  Layer.succeed(
    Cache,
    new Proxy({} as Cache.Service, {
      get: (_, property) => (property === "get" ? get : () => Effect.die(new Error("unused"))),
    }),
  )

describe.each(backends)("ProviderConnectionCache over %s", (_, cacheLayer) => {
  const setup = () => {
    const logs = captureLogs()
    const layer = ProviderConnectionCache.layerWithTtl("5 minutes").pipe(
      Layer.provideMerge(cacheLayer()),
      Layer.provideMerge(logs.layer),
    )
    return { logs, layer }
  }

  it.live("round-trips connections with and without credentials and optional fields", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const variants = [
        makeConnection(),
        makeConnection({
          id: uuid(21),
          status: "pending",
          credentials: null,
          alias: null,
          connectedAt: null,
        }),
        makeConnection({ id: uuid(22), lastSyncAt: new Date("2026-01-15T10:00:00.999Z") }),
        makeConnection({
          id: uuid(23),
          credentials: new ProviderCredentials({
            encryptedData: ciphertext(1024, 99),
            credentialType: "certificate",
            expiresAt: null,
          }),
        }),
      ]
      for (const connection of variants) {
        yield* connections.set(connection)
        expect(yield* connections.get(connection.id)).toStrictEqual(Option.some(connection))
        expect(yield* connections.exists(connection.id)).toBe(true)
      }
      expect(yield* connections.get(uuid(99))).toStrictEqual(Option.none())
    }).pipe(Effect.provide(layer))
  })

  it.live("reads an entry the original service wrote (snake_case, Python isoformat timestamps)", () => {
    const { layer, logs } = setup()
    const id = uuid(60)
    const written = JSON.stringify({
      id,
      user_id: uuid(61),
      provider_id: uuid(62),
      provider_slug: "schwab",
      status: "active",
      alias: "IRA",
      credentials: {
        encrypted_data: Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f]).toString("base64"),
        credential_type: "oauth2",
        expires_at: "2026-01-16T13:00:00.123456+00:00",
      },
      connected_at: "2026-01-10T09:30:00+00:00",
      last_sync_at: null,
      created_at: "2026-01-01T00:00:00",
      updated_at: "2026-01-15T12:00:00.000001+00:00",
    })
    return Effect.gen(function* () {
      const cache = yield* Cache
      const connections = yield* ProviderConnectionCache
      yield* cache.set(connectionKey(id), written)
      const connection = Option.getOrThrow(yield* connections.get(id))
      expect(connection.alias).toBe("IRA")
      expect(connection.credentials?.encryptedData).toStrictEqual(
        new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f]),
      )
      expect(connection.credentials?.expiresAt?.toISOString()).toBe("2026-01-16T13:00:00.123Z")
      expect(connection.createdAt.toISOString()).toBe("2026-01-01T00:00:00.000Z")
      expect(connection.isConnected).toBe(true)
      expect(logs.entries).toStrictEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.live("a read built once looks the connection up each time it runs", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const first = makeConnection({ id: uuid(41), alias: "first" })
      const second = makeConnection({ id: uuid(41), alias: "second" })
      const read = connections.get(first.id)
      expect(yield* read).toStrictEqual(Option.none())
      yield* connections.set(first)
      expect(yield* read).toStrictEqual(Option.some(first))
      yield* connections.set(second)
      // Yielded by a generator, and run as a primitive of the fiber (a combinator).
      expect(yield* read).toStrictEqual(Option.some(second))
      expect(
        yield* Effect.map(
          read,
          Option.map((c) => c.alias),
        ),
      ).toStrictEqual(Option.some("second"))
      yield* connections.delete(first.id)
      expect(yield* Effect.map(read, Option.isNone)).toBe(true)
      expect(yield* read).toStrictEqual(Option.none())
    }).pipe(Effect.provide(layer))
  })

  it.live("repeated reads return equal connections that share nothing mutable", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const connection = makeConnection({ id: uuid(40) })
      yield* connections.set(connection)
      const first = Option.getOrThrow(yield* connections.get(connection.id))
      const second = Option.getOrThrow(yield* connections.get(connection.id))
      expect(first).toStrictEqual(connection)
      expect(second).toStrictEqual(connection)
      expect(second).not.toBe(first)
      // A caller scribbling on its copy changes nobody else's.
      first.credentials!.encryptedData.fill(0)
      first.createdAt.setTime(0)
      first.credentials!.expiresAt!.setTime(0)
      second.updatedAt.setTime(0)
      const third = Option.getOrThrow(yield* connections.get(connection.id))
      expect(third).toStrictEqual(connection)
      expect(third.isConnected).toBe(true)
      expect(third.credentials?.toString()).toBe(connection.credentials?.toString())
      // A changed entry reads as changed.
      const revoked = makeConnection({ id: uuid(40), status: "revoked" })
      yield* connections.set(revoked)
      expect(yield* connections.get(connection.id)).toStrictEqual(Option.some(revoked))
    }).pipe(Effect.provide(layer))
  })

  it.live("delete then get is a miss", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const connection = makeConnection({ id: uuid(30) })
      yield* connections.set(connection)
      expect(yield* connections.delete(connection.id)).toBe(true)
      expect(yield* connections.get(connection.id)).toStrictEqual(Option.none())
      expect(yield* connections.delete(connection.id)).toBe(false)
      expect(yield* connections.exists(connection.id)).toBe(false)
    }).pipe(Effect.provide(layer))
  })

  it.live("stores under provider:conn:{id} with the default ttl, or the one given", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const cache = yield* Cache
      const connection = makeConnection({ id: uuid(40) })
      yield* connections.set(connection)
      const stored = yield* cache.getJson(connectionKey(connection.id))
      expect(Option.getOrThrow(stored)).toMatchObject({ id: connection.id, provider_slug: "schwab" })
      const ttl = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(connectionKey(connection.id))))
      expect(ttl).toBeGreaterThan(290_000)
      expect(ttl).toBeLessThanOrEqual(300_000)
      yield* connections.set(connection, { ttl: "10 seconds" })
      const overridden = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(connectionKey(connection.id))))
      expect(overridden).toBeLessThanOrEqual(10_000)
      expect(overridden).toBeGreaterThan(5_000)
    }).pipe(Effect.provide(layer))
  })

  it.live(
    "every kind of corrupt entry is a miss and one warning naming the id, never the credentials",
    () => {
      const { layer, logs } = setup()
      const valid = JSON.parse(encode(makeConnection({ id: uuid(50) })))
      const corrupt: ReadonlyArray<readonly [string, string]> = [
        ["bad JSON", "{not json"],
        ["wrong shape", JSON.stringify({ id: 1, hello: "world" })],
        ["broken invariant", JSON.stringify({ ...valid, credentials: null })],
        [
          "bad base64",
          JSON.stringify({
            ...valid,
            credentials: { ...valid.credentials, encrypted_data: "%%%not-base64" },
          }),
        ],
        [
          "empty ciphertext",
          JSON.stringify({ ...valid, credentials: { ...valid.credentials, encrypted_data: "" } }),
        ],
        ["unknown status", JSON.stringify({ ...valid, status: "zombie" })],
        ["impossible date", JSON.stringify({ ...valid, created_at: "2026-02-30T00:00:00" })],
        ["not an object", JSON.stringify([valid])],
      ]
      return Effect.gen(function* () {
        for (const [label, text] of corrupt) {
          // A service of its own per entry: repeated warnings of one operation are rate-limited (tested below).
          yield* Effect.gen(function* () {
            const connections = yield* ProviderConnectionCache
            const cache = yield* Cache
            const id = uuid(50)
            yield* cache.set(connectionKey(id), text)
            const before = logs.entries.length
            expect([label, yield* connections.get(id)]).toStrictEqual([label, Option.none()])
            const added = logs.entries.slice(before)
            expect([label, added.length]).toStrictEqual([label, 1])
            expect(added[0]!.level).toBe("WARN")
            expect(added[0]!.annotations.connectionId).toBe(id)
            expect(String(added[0]!.annotations.reason)).toContain("does not decode")
            // The corrupt entry is dropped, so the next read is a plain miss.
            expect(yield* cache.exists(connectionKey(id))).toBe(false)
          }).pipe(Effect.provide(layer))
        }
        expect(JSON.stringify(logs.entries)).not.toContain(secretBase64)
      })
    },
  )
})

describe("ProviderConnectionCache failing open", () => {
  const run = (cache: Layer.Layer<Cache>) => {
    const logs = captureLogs()
    const layer = ProviderConnectionCache.layerWithTtl("5 minutes").pipe(
      Layer.provide(cache),
      Layer.provideMerge(logs.layer),
    )
    return { logs, layer }
  }

  for (const [label, cache] of [
    ["an outage", failingCache],
    ["a defect", dyingCache],
  ] as const) {
    it.effect(`turns ${label} into misses and no-ops with a warning, never a failure`, () => {
      const { layer, logs } = run(cache)
      return Effect.gen(function* () {
        const connections = yield* ProviderConnectionCache
        const connection = makeConnection()
        const results = yield* Effect.exit(
          Effect.all([
            connections.get(connection.id),
            connections.set(connection),
            connections.delete(connection.id),
            connections.exists(connection.id),
          ]),
        )
        expect(results).toStrictEqual(Exit.succeed([Option.none(), undefined, false, false]))
        expect(logs.entries.filter((e) => e.level === "WARN")).toHaveLength(4)
        for (const entry of logs.entries) expect(entry.annotations.connectionId).toBe(connection.id)
        expect(JSON.stringify(logs.entries)).not.toContain(secretBase64)
      }).pipe(Effect.provide(layer))
    })
  }

  it.effect(
    "a stored value the read path throws on (a Cache answering a number) is a miss with a warning",
    () => {
      // A defective Cache that answers `some(42)`: reading the text throws inside the read path itself.
      const { layer, logs } = run(cacheWithGet(() => Effect.succeed(Option.some(42))))
      return Effect.gen(function* () {
        const connections = yield* ProviderConnectionCache
        const id = makeConnection().id
        expect(yield* Effect.exit(connections.get(id))).toStrictEqual(Exit.succeed(Option.none()))
        const warnings = logs.entries.filter((e) => e.level === "WARN")
        expect(warnings).toHaveLength(1)
        expect(warnings[0]!.annotations).toStrictEqual({
          connectionId: id,
          reason: "unexpected defect in the Cache implementation",
        })
      }).pipe(Effect.provide(layer))
    },
  )

  it.effect("a Cache whose read throws, when it is built or when it runs, is a miss with a warning", () => {
    // Reads a Cache answers from memory are run by ProviderConnectionCache.get itself (readNow.ts): what
    // they throw must fail open like any other defect, not reach the caller's fiber.
    class Throwing extends ReadNow<Option.Option<string>, CacheError> {
      run(): Effect.Effect<Option.Option<string>, CacheError> {
        throw new Error("the read failed")
      }
    }
    let built = 0
    const { layer, logs } = run(
      cacheWithGet(() => {
        if (++built % 2 === 0) throw new Error("the read could not be built")
        return new Throwing()
      }),
    )
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const id = makeConnection().id
      for (let i = 0; i < 2; i++) {
        expect(yield* connections.get(id)).toStrictEqual(Option.none())
        expect(yield* Effect.exit(Effect.map(connections.get(id), Option.isNone))).toStrictEqual(
          Exit.succeed(true),
        )
      }
      expect(built).toBe(4)
      const warnings = logs.entries.filter((e) => e.level === "WARN")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.annotations.reason).toBe("unexpected defect in the Cache implementation")
    }).pipe(Effect.provide(layer))
  })

  it.effect(
    "warnings are rate-limited per operation: one line, then one carrying the number suppressed",
    () => {
      const { layer, logs } = run(failingCache)
      return Effect.gen(function* () {
        const connections = yield* ProviderConnectionCache
        const connection = makeConnection()
        for (let i = 0; i < 1_000; i++) yield* connections.set(connection)
        const warnings = () => logs.entries.filter((e) => e.level === "WARN")
        expect(warnings()).toHaveLength(1)
        expect(warnings()[0]!.annotations.suppressed).toBeUndefined()
        // Another operation has its own budget.
        yield* connections.get(connection.id)
        expect(warnings()).toHaveLength(2)

        yield* TestClock.adjust("4999 millis")
        yield* connections.set(connection)
        expect(warnings()).toHaveLength(2)
        yield* TestClock.adjust("1 millis")
        yield* connections.set(connection)
        expect(warnings()).toHaveLength(3)
        expect(warnings()[2]!.message).toContain("ProviderConnectionCache.set failed open")
        expect(warnings()[2]!.annotations.suppressed).toBe(1_000)
      }).pipe(Effect.provide(layer))
    },
  )

  it.effect("an invalid ttl on set is a logged no-op", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const connection = makeConnection()
      yield* connections.set(connection, { ttl: 0 })
      expect(yield* connections.exists(connection.id)).toBe(false)
      expect(String(logs.entries[0]?.annotations.reason)).toContain("InvalidArgument")
    }).pipe(
      Effect.provide(
        ProviderConnectionCache.layerWithTtl("1 minute").pipe(
          Layer.provide(MemoryCache.layer()),
          Layer.provideMerge(logs.layer),
        ),
      ),
    )
  })
})

describe("ProviderConnectionCache configuration", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  const live = ProviderConnectionCache.layer.pipe(Layer.provideMerge(MemoryCache.layer()))

  it.effect("CACHE_PROVIDER_TTL sets the default ttl; 300 seconds without it", () =>
    Effect.gen(function* () {
      const check = (expectedSeconds: number) =>
        Effect.gen(function* () {
          const connections = yield* ProviderConnectionCache
          const cache = yield* Cache
          const connection = makeConnection()
          yield* connections.set(connection)
          const ttl = Option.getOrThrow(yield* cache.ttl(connectionKey(connection.id)))
          expect(Duration.toSeconds(ttl)).toBe(expectedSeconds)
          yield* TestClock.adjust(Duration.seconds(expectedSeconds + 1))
          expect(yield* connections.get(connection.id)).toStrictEqual(Option.none())
        }).pipe(Effect.provide(live))
      yield* check(120).pipe(withEnv({ CACHE_PROVIDER_TTL: "120" }))
      yield* check(300).pipe(withEnv({}))
    }),
  )

  it.effect("a non-positive or non-numeric CACHE_PROVIDER_TTL fails the layer with a ConfigError", () =>
    Effect.gen(function* () {
      for (const value of ["0", "-5", "abc", "1.5", ""]) {
        const exit = yield* Effect.exit(
          Layer.build(live).pipe(Effect.scoped, withEnv({ CACHE_PROVIDER_TTL: value })),
        )
        expect([value, Exit.isFailure(exit)]).toStrictEqual([value, true])
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("CACHE_PROVIDER_TTL")
      }
    }),
  )
})
