import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Either, Equal, Exit, Layer, Option, Schema } from "effect"
import {
  connectionKey,
  MemoryCache,
  ProviderConnection,
  ProviderConnectionCache,
  ProviderConnectionJson,
  ProviderCredentials,
} from "../src/index.js"
import { copyConnection, makeConnectionDecoder } from "../src/internal/connectionDecoder.js"
import { makeDecodeMemo } from "../src/internal/decodeMemo.js"
import { make } from "../src/ProviderConnectionCache.js"
import { makeConnection, uuid } from "./support/fixtures.js"

const encode = Schema.encodeSync(ProviderConnectionJson)
const decodeJson = Schema.decodeUnknownEither(ProviderConnectionJson)

/** The real decoder, counting its calls: a call is a memo miss. */
const countingDecoder = (capacity: number) => {
  const counter = { decodes: 0 }
  const decoder = makeConnectionDecoder(capacity, connectionKey, (text) => {
    counter.decodes++
    return decodeJson(text)
  })
  return { decoder, counter }
}

const stored = (n: number) => {
  const connection = makeConnection({ id: uuid(10_000 + n) })
  return { id: connection.id, connection, text: encode(connection) }
}

describe("DecodeMemo", () => {
  it("drops the least recently used entry at the bound, not the oldest written", () => {
    const memo = makeDecodeMemo<string>(3)
    memo.set("a", "text-a", "A")
    memo.set("b", "text-b", "B")
    memo.set("c", "text-c", "C")
    expect(memo.get("a", "text-a")).toBe("A")
    memo.set("d", "text-d", "D")
    expect(memo.size()).toBe(3)
    expect(memo.get("b", "text-b")).toBeUndefined()
    expect([memo.get("a", "text-a"), memo.get("c", "text-c"), memo.get("d", "text-d")]).toStrictEqual([
      "A",
      "C",
      "D",
    ])
  })

  it("answers only for the exact text, and keeps one entry per key", () => {
    const memo = makeDecodeMemo<string>(3)
    memo.set("a", "text-1", "A1")
    expect(memo.get("a", "text-2")).toBeUndefined()
    memo.set("a", "text-2", "A2")
    expect(memo.size()).toBe(1)
    expect(memo.get("a", "text-1")).toBeUndefined()
    expect(memo.get("a", "text-2")).toBe("A2")
  })

  it("agrees with a reference LRU over random reads and writes", () => {
    // The reference: an array in recency order (least recent first), searched linearly.
    const capacity = 5
    const memo = makeDecodeMemo<string>(capacity)
    let reference: Array<{ key: string; text: string; value: string }> = []
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    for (let step = 0; step < 5_000; step++) {
      const key = `k${random(9)}`
      const text = `t${random(3)}`
      const found = reference.find((e) => e.key === key)
      if (random(2) === 0) {
        const expected = found !== undefined && found.text === text ? found.value : undefined
        expect(memo.get(key, text)).toBe(expected)
        if (expected !== undefined) reference = [...reference.filter((e) => e !== found), found!]
      } else {
        const value = `v${step}`
        memo.set(key, text, value)
        reference = reference.filter((e) => e.key !== key)
        if (found === undefined && reference.length >= capacity) reference = reference.slice(1)
        reference.push({ key, text, value })
      }
      expect(memo.size()).toBe(reference.length)
    }
  })

  it("keeps the store's key of each kept entry, built once, and forgets it with the entry", () => {
    const built: Array<string> = []
    const memo = makeDecodeMemo<string>(2, (key) => {
      built.push(key)
      return `store:${key}`
    })
    expect(memo.storeKey("a")).toBeUndefined()
    memo.set("a", "text-a", "A")
    memo.set("a", "text-a2", "A2")
    memo.set("b", "text-b", "B")
    expect([memo.storeKey("a"), memo.storeKey("b")]).toStrictEqual(["store:a", "store:b"])
    memo.set("c", "text-c", "C")
    expect([memo.storeKey("a"), memo.storeKey("c")]).toStrictEqual([undefined, "store:c"])
    expect(built).toStrictEqual(["a", "b", "c"])
    expect(makeDecodeMemo<string>(0).storeKey("a")).toBeUndefined()
  })

  it("keeps nothing at capacity 0", () => {
    const memo = makeDecodeMemo<string>(0)
    memo.set("a", "text-a", "A")
    expect(memo.get("a", "text-a")).toBeUndefined()
    expect(memo.size()).toBe(0)
  })
})

describe("the connection decoder's memo", () => {
  it("keeps a hot set larger than 1,024 within its size, and evicts the least recently read at the bound", () => {
    const { decoder, counter } = countingDecoder(2_000)
    const hot = Array.from({ length: 1_500 }, (_, n) => stored(n))
    for (let pass = 0; pass < 3; pass++) {
      for (const { id, text, connection } of hot) {
        expect(Either.getOrThrow(decoder(id, text))).toStrictEqual(connection)
      }
    }
    // Decoded once each, then served from the memo.
    expect(counter.decodes).toBe(1_500)

    // Fill up to the bound, read the first connection again, then one more: the least recently read goes.
    const more = Array.from({ length: 501 }, (_, n) => stored(1_500 + n))
    for (const { id, text } of more.slice(0, 500)) decoder(id, text)
    expect(decoder.memo.size()).toBe(2_000)
    decoder(hot[0]!.id, hot[0]!.text)
    counter.decodes = 0
    decoder(more[500]!.id, more[500]!.text)
    expect(decoder.memo.size()).toBe(2_000)
    expect(counter.decodes).toBe(1)
    decoder(hot[0]!.id, hot[0]!.text)
    expect(counter.decodes).toBe(1)
    decoder(hot[1]!.id, hot[1]!.text)
    expect(counter.decodes).toBe(2)
  })

  it("gives the Cache key of an id, kept or not", () => {
    const { decoder } = countingDecoder(1)
    const first = stored(1)
    const second = stored(2)
    expect(decoder.cacheKey(first.id)).toBe(connectionKey(first.id))
    decoder(first.id, first.text)
    expect(decoder.memo.storeKey(first.id)).toBe(connectionKey(first.id))
    expect(decoder.cacheKey(first.id)).toBe(connectionKey(first.id))
    decoder(second.id, second.text)
    expect(decoder.memo.storeKey(first.id)).toBeUndefined()
    expect([decoder.cacheKey(first.id), decoder.cacheKey(second.id)]).toStrictEqual([
      connectionKey(first.id),
      connectionKey(second.id),
    ])
  })

  it("serves a changed entry by decoding it, and never keeps failures", () => {
    const { decoder, counter } = countingDecoder(10)
    const { id, text } = stored(1)
    decoder(id, text)
    const revoked = makeConnection({ id, status: "revoked" })
    expect(Either.getOrThrow(decoder(id, encode(revoked)))).toStrictEqual(revoked)
    expect(counter.decodes).toBe(2)
    expect(decoder.memo.size()).toBe(1)
    expect(Either.isLeft(decoder(id, "{not json"))).toBe(true)
    expect(Either.isLeft(decoder(id, "{not json"))).toBe(true)
    expect(counter.decodes).toBe(4)
  })

  it("returns a new copy on every read, memoized or not", () => {
    for (const capacity of [0, 10]) {
      const { decoder, counter } = countingDecoder(capacity)
      const { id, text, connection } = stored(2)
      const first = Either.getOrThrow(decoder(id, text))
      const second = Either.getOrThrow(decoder(id, text))
      expect(counter.decodes).toBe(capacity === 0 ? 2 : 1)
      expect(second).not.toBe(first)
      expect(second.credentials!.encryptedData).not.toBe(first.credentials!.encryptedData)
      expect(second.createdAt).not.toBe(first.createdAt)
      first.credentials!.encryptedData.fill(0)
      first.updatedAt.setTime(0)
      expect(Either.getOrThrow(decoder(id, text))).toStrictEqual(connection)
    }
  })
})

describe("copyConnection", () => {
  /** Everything an instance is made of: prototype, own keys and symbols in order, descriptors, frozenness. */
  const shape = (o: object): unknown => ({
    prototype: Object.getPrototypeOf(o),
    keys: Reflect.ownKeys(o),
    descriptors: Reflect.ownKeys(o).map((k) => {
      const { value: _, ...rest } = Object.getOwnPropertyDescriptor(o, k)!
      return [k, rest]
    }),
    extensible: Object.isExtensible(o),
  })

  it("builds the same instances the Schema.Class constructors build", () => {
    for (const connection of [
      makeConnection(),
      makeConnection({ status: "pending", credentials: null, alias: null, connectedAt: null }),
    ]) {
      const copy = copyConnection(connection)
      const constructed = new ProviderConnection({ ...copy }, true)
      // Shapes first: Equal.equals caches a hash on the instances it compares.
      expect(shape(copy)).toStrictEqual(shape(constructed))
      if (copy.credentials !== null) {
        const credentials = new ProviderCredentials({ ...copy.credentials }, true)
        expect(shape(copy.credentials)).toStrictEqual(shape(credentials))
        expect(copy.credentials).toBeInstanceOf(ProviderCredentials)
        expect(String(copy.credentials)).toBe(String(connection.credentials))
      }
      expect(copy).toStrictEqual(connection)
      expect(copy).toBeInstanceOf(ProviderConnection)
      expect(Equal.equals(copy, constructed)).toBe(true)
      expect(Equal.equals(constructed, copy)).toBe(true)
      expect(copy.isConnected).toBe(connection.isConnected)
      // Through the Schema too: the copy encodes like the original.
      expect(encode(copy)).toBe(encode(connection))
    }
  })
})

describe("ProviderConnectionCache decodeCacheSize", () => {
  it.effect("is taken by layerWithTtl; 0 turns the memo off and reads still work", () =>
    Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      const connection = makeConnection({ id: uuid(3) })
      yield* connections.set(connection)
      const first = yield* connections.get(connection.id)
      const second = yield* connections.get(connection.id)
      expect(first).toStrictEqual(Option.some(connection))
      expect(second).toStrictEqual(Option.some(connection))
      expect(Option.getOrThrow(second)).not.toBe(Option.getOrThrow(first))
    }).pipe(
      Effect.provide(
        ProviderConnectionCache.layerWithTtl("1 minute", { decodeCacheSize: 0 }).pipe(
          Layer.provideMerge(MemoryCache.layer()),
        ),
      ),
    ),
  )

  it.effect("a negative, fractional or infinite size is a defect naming the option", () =>
    Effect.gen(function* () {
      for (const decodeCacheSize of [-1, 1.5, Number.POSITIVE_INFINITY, Number.NaN]) {
        const exit = yield* Effect.exit(
          make({ defaultTtl: "1 minute", decodeCacheSize }).pipe(Effect.provide(MemoryCache.layer())),
        )
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const defect = Cause.dieOption(exit.cause)
          expect(Option.isSome(defect) && Cause.isIllegalArgumentException(defect.value)).toBe(true)
          expect(Cause.pretty(exit.cause)).toContain("decodeCacheSize")
        }
      }
    }),
  )

  it.effect("CACHE_PROVIDER_DECODE_CACHE_SIZE configures the layer; a negative value fails it", () =>
    Effect.gen(function* () {
      const build = (value: string) =>
        Effect.exit(
          Layer.build(ProviderConnectionCache.layer.pipe(Layer.provide(MemoryCache.layer()))).pipe(
            Effect.scoped,
            Effect.withConfigProvider(
              ConfigProvider.fromMap(new Map([["CACHE_PROVIDER_DECODE_CACHE_SIZE", value]])),
            ),
          ),
        )
      expect(Exit.isSuccess(yield* build("0"))).toBe(true)
      expect(Exit.isSuccess(yield* build("50000"))).toBe(true)
      for (const value of ["-1", "1.5", "many"]) {
        const exit = yield* build(value)
        expect([value, Exit.isFailure(exit)]).toStrictEqual([value, true])
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("CACHE_PROVIDER_DECODE_CACHE_SIZE")
      }
    }),
  )
})
