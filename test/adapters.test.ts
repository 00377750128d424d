/**
 * The Effect-ecosystem adapters, held to the behaviour of the abstractions they implement: a
 * `KeyValueStore` as `@effect/platform` defines it, and `PersistedCache` on `CachePersistence` (round trip,
 * persisted failures, expiry), over every Cache layer.
 */
import { PersistedCache, Persistence } from "@effect/experimental"
import { KeyValueStore } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option, PrimaryKey, Schema } from "effect"
import { Cache, CacheError } from "../src/index.js"
import { CacheKeyValueStore } from "../src/keyValueStore.js"
import { CachePersistence } from "../src/persistence.js"
import { backends } from "./support/backends.js"
import { failingCache } from "./support/fixtures.js"

class GetQuote extends Schema.TaggedRequest<GetQuote>()("GetQuote", {
  failure: Schema.String,
  success: Schema.Struct({ symbol: Schema.String, price: Schema.Number, at: Schema.DateFromString }),
  payload: { symbol: Schema.String },
}) {
  [PrimaryKey.symbol]() {
    return `quote:${this.symbol}`
  }
}

describe.each(backends)("adapters over $name", ({ layer, elapse }) => {
  describe("CacheKeyValueStore", () => {
    const live = (prefix?: string) =>
      CacheKeyValueStore.layer(prefix === undefined ? {} : { prefix }).pipe(Layer.provideMerge(layer()))

    it.effect("get, set, has, remove, modify, size, isEmpty, clear", () =>
      Effect.gen(function* () {
        const store = yield* KeyValueStore.KeyValueStore
        expect(yield* store.isEmpty).toBe(true)
        expect(yield* store.get("a")).toStrictEqual(Option.none())
        yield* store.set("a", "1")
        yield* store.set("b", "2")
        expect(yield* store.get("a")).toStrictEqual(Option.some("1"))
        expect(yield* store.has("a")).toBe(true)
        expect(yield* store.has("missing")).toBe(false)
        expect(yield* store.size).toBe(2)
        expect(yield* store.modify("a", (v) => `${v}1`)).toStrictEqual(Option.some("11"))
        expect(yield* store.modify("missing", (v) => v)).toStrictEqual(Option.none())
        expect(yield* store.get("a")).toStrictEqual(Option.some("11"))
        yield* store.remove("a")
        yield* store.remove("a")
        expect(yield* store.has("a")).toBe(false)
        expect(yield* store.size).toBe(1)
        yield* store.clear
        expect(yield* store.isEmpty).toBe(true)
      }).pipe(Effect.provide(live("kv:"))),
    )

    it.effect("the prefix bounds size and clear; KeyValueStore.prefix composes", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const store = yield* KeyValueStore.KeyValueStore
        yield* cache.set("outside", "x")
        yield* cache.set("kvx:lookalike", "x")
        yield* store.set("a", "1")
        const nested = KeyValueStore.prefix(store, "users:")
        yield* nested.set("1", "ada")
        expect(yield* cache.get("kv*:users:1")).toStrictEqual(Option.some("ada"))
        expect(yield* store.size).toBe(2)
        yield* store.clear
        expect(yield* store.size).toBe(0)
        // A glob character in the prefix is literal: neither counted nor cleared beyond it.
        expect(yield* cache.get("outside")).toStrictEqual(Option.some("x"))
        expect(yield* cache.get("kvx:lookalike")).toStrictEqual(Option.some("x"))
      }).pipe(Effect.provide(live("kv*:"))),
    )

    it.effect("bytes round-trip through getUint8Array; forSchema encodes and validates", () =>
      Effect.gen(function* () {
        const store = yield* KeyValueStore.KeyValueStore
        const bytes = new Uint8Array([0, 255, 128, 10, 13, 0xfe])
        yield* store.set("bytes", bytes)
        expect(Option.getOrThrow(yield* store.getUint8Array("bytes"))).toStrictEqual(bytes)
        const Person = Schema.Struct({ name: Schema.String, born: Schema.DateFromString })
        const people = store.forSchema(Person)
        yield* people.set("ada", { name: "Ada", born: new Date("1815-12-10T00:00:00.000Z") })
        expect(yield* people.get("ada")).toStrictEqual(
          Option.some({ name: "Ada", born: new Date("1815-12-10T00:00:00.000Z") }),
        )
        yield* store.set("not-a-person", '{"name":1}')
        const bad = yield* Effect.flip(people.get("not-a-person"))
        expect(bad._tag).toBe("ParseError")
      }).pipe(Effect.provide(live("kvbytes:"))),
    )

    it.effect("without a prefix the store is the whole Cache", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const store = yield* KeyValueStore.KeyValueStore
        yield* cache.flush
        yield* cache.set("c", "3")
        expect(yield* store.get("c")).toStrictEqual(Option.some("3"))
        expect(yield* store.size).toBe(1)
        yield* store.clear
        expect(yield* cache.exists("c")).toBe(false)
      }).pipe(Effect.provide(live())),
    )
  })

  describe("CachePersistence", () => {
    const live = () =>
      Layer.mergeAll(CachePersistence.layerResult({ prefix: "persisted:" }), CachePersistence.layer()).pipe(
        Layer.provideMerge(layer()),
      )

    // Each round uses a fresh PersistedCache (a fresh in-memory tier), so a hit can only come from the store.
    const quotes = (lookups: Array<string>, ttl: number) =>
      PersistedCache.make({
        storeId: "quotes",
        lookup: (request: GetQuote) =>
          Effect.sync(() => lookups.push(request.symbol)).pipe(
            Effect.zipRight(
              request.symbol === "NOPE"
                ? Effect.fail(`unknown symbol ${request.symbol}`)
                : Effect.succeed({
                    symbol: request.symbol,
                    price: 189.3,
                    at: new Date("2026-11-20T14:30:00.000Z"),
                  }),
            ),
          ),
        timeToLive: (_request, exit) => (Exit.isSuccess(exit) ? ttl : ttl / 2),
      })

    it.effect("PersistedCache: a round trip through the Cache, failures included, until the ttl", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const lookups: Array<string> = []
        const ttl = 1_000
        const first = yield* Effect.scoped(
          Effect.flatMap(quotes(lookups, ttl), (q) =>
            Effect.all([
              q.get(new GetQuote({ symbol: "AAPL" })),
              Effect.flip(q.get(new GetQuote({ symbol: "NOPE" }))),
            ]),
          ),
        )
        expect(first[0].at).toStrictEqual(new Date("2026-11-20T14:30:00.000Z"))
        expect(first[1]).toBe("unknown symbol NOPE")
        expect(lookups).toStrictEqual(["AAPL", "NOPE"])
        // Stored as an ordinary Cache entry with the ttl of its exit.
        expect(Option.isSome(yield* cache.getJson("persisted:quotes:quote:AAPL"))).toBe(true)
        const left = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("persisted:quotes:quote:AAPL")))
        expect(left).toBeGreaterThan(0)
        expect(left).toBeLessThanOrEqual(ttl)

        const second = yield* Effect.scoped(
          Effect.flatMap(quotes(lookups, ttl), (q) =>
            Effect.all([
              q.get(new GetQuote({ symbol: "AAPL" })),
              Effect.flip(q.get(new GetQuote({ symbol: "NOPE" }))),
            ]),
          ),
        )
        expect(second).toStrictEqual(first)
        expect(lookups).toStrictEqual(["AAPL", "NOPE"])

        // The failure (ttl / 2) expires first, then the success.
        yield* elapse(ttl / 2 + 150)
        yield* Effect.scoped(
          Effect.flatMap(quotes(lookups, ttl), (q) =>
            Effect.all([
              q.get(new GetQuote({ symbol: "AAPL" })),
              Effect.flip(q.get(new GetQuote({ symbol: "NOPE" }))),
            ]),
          ),
        )
        expect(lookups).toStrictEqual(["AAPL", "NOPE", "NOPE"])
        yield* elapse(ttl / 2 + 150)
        yield* Effect.scoped(
          Effect.flatMap(quotes(lookups, ttl), (q) => q.get(new GetQuote({ symbol: "AAPL" }))),
        )
        expect(lookups).toStrictEqual(["AAPL", "NOPE", "NOPE", "AAPL"])
      }).pipe(Effect.provide(live())),
    )

    it.effect("PersistedCache.invalidate removes the stored entry", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const lookups: Array<string> = []
        yield* Effect.scoped(
          Effect.gen(function* () {
            const q = yield* quotes(lookups, 60_000)
            yield* q.get(new GetQuote({ symbol: "MSFT" }))
            yield* q.invalidate(new GetQuote({ symbol: "MSFT" }))
            yield* q.get(new GetQuote({ symbol: "MSFT" }))
          }),
        )
        expect(lookups).toStrictEqual(["MSFT", "MSFT"])
        expect(yield* cache.exists("persisted:quotes:quote:MSFT")).toBe(true)
      }).pipe(Effect.provide(live())),
    )

    it.effect(
      "BackingPersistence: setMany with per-entry ttls, getMany, a zero ttl, clear of one store",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          const backing = yield* Persistence.BackingPersistence
          const a = yield* backing.make("a")
          const b = yield* backing.make("b")
          yield* a.setMany([
            ["short", { n: 1 }, Option.some(Duration.millis(300))],
            ["long", [1, "two", null], Option.some(Duration.hours(1))],
            ["forever", "x", Option.none()],
            ["gone", "x", Option.some(Duration.zero)],
          ])
          yield* b.set("short", { n: 2 }, Option.none())
          expect(yield* a.getMany(["short", "long", "forever", "gone", "missing"])).toStrictEqual([
            Option.some({ n: 1 }),
            Option.some([1, "two", null]),
            Option.some("x"),
            Option.none(),
            Option.none(),
          ])
          expect(yield* cache.ttl("a:forever")).toStrictEqual(Option.none())
          expect(Duration.toMillis(Option.getOrThrow(yield* cache.ttl("a:long")))).toBeGreaterThan(3_500_000)
          yield* elapse(450)
          expect(yield* a.get("short")).toStrictEqual(Option.none())
          yield* a.set("long", "replaced", Option.some(Duration.zero))
          expect(yield* a.get("long")).toStrictEqual(Option.none())
          yield* a.clear
          expect(yield* a.get("forever")).toStrictEqual(Option.none())
          expect(yield* b.get("short")).toStrictEqual(Option.some({ n: 2 }))
          const error = yield* Effect.flip(a.set("bigint", { n: 1n }, Option.none()))
          expect(error.reason).toBe("BackingError")
          expect(error.cause).toBeInstanceOf(CacheError)
          expect((error.cause as CacheError).reason).toBe("Serialization")
          expect(yield* cache.exists("a:bigint")).toBe(false)
        }).pipe(Effect.scoped, Effect.provide(CachePersistence.layer().pipe(Layer.provideMerge(layer())))),
    )
  })
})

describe("adapter errors", () => {
  it.effect("KeyValueStore fails with a PlatformError whose cause is the CacheError", () =>
    Effect.gen(function* () {
      const store = yield* KeyValueStore.KeyValueStore
      const error = yield* Effect.flip(store.get("k"))
      expect(error._tag).toBe("SystemError")
      expect(error.cause).toBeInstanceOf(CacheError)
      expect((error.cause as CacheError).reason).toBe("Connection")
    }).pipe(Effect.provide(CacheKeyValueStore.layer().pipe(Layer.provide(failingCache)))),
  )

  it.effect("PersistedCache fails with a PersistenceBackingError whose cause is the CacheError", () =>
    Effect.gen(function* () {
      const quotes = yield* PersistedCache.make({
        storeId: "quotes",
        lookup: (request: GetQuote) =>
          Effect.succeed({ symbol: request.symbol, price: 1, at: new Date("2026-11-20T14:30:00.000Z") }),
        timeToLive: () => "1 minute",
      })
      const exit = yield* Effect.exit(quotes.get(new GetQuote({ symbol: "AAPL" })))
      const error = Option.getOrThrow(Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none())
      expect(error).toBeInstanceOf(Persistence.PersistenceBackingError)
      const cause = (error as Persistence.PersistenceBackingError).cause
      expect(cause).toBeInstanceOf(CacheError)
      expect((cause as CacheError).reason).toBe("Connection")
    }).pipe(Effect.scoped, Effect.provide(CachePersistence.layerResult().pipe(Layer.provide(failingCache)))),
  )
})
