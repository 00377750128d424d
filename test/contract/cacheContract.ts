/**
 * The one suite every `Cache` layer must pass. Redis is the reference: the memory layer runs the same
 * assertions, and `globCompare.test.ts` checks its glob matching against a real Redis.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Exit, type Layer, Option } from "effect"
import { Cache, type CacheError, escapeGlob } from "../../src/index.js"

export interface ContractOptions {
  /** Lets time pass for expiry: `TestClock.adjust` for memory, a real sleep for Redis. */
  readonly elapse: (ms: number) => Effect.Effect<void>
  /** Whether entries may expire between two calls a few ms apart (real clocks: yes). */
  readonly realTime: boolean
  /**
   * How much tag bookkeeping the cache holds (Redis: the tag records and indexes under the prefix; memory:
   * the tagged keys). Default: the Redis way, `countPattern` of the bookkeeping keys.
   */
  readonly tagBookkeeping?: (cache: Cache.Service) => Effect.Effect<number, CacheError>
}

const failure = <A>(effect: Effect.Effect<A, CacheError>) => Effect.flip(effect)

export const cacheContract = (
  name: string,
  cacheLayer: Layer.Layer<Cache, CacheError>,
  options: ContractOptions,
) =>
  layer(cacheLayer, { timeout: Duration.seconds(30) })(name, (it) => {
    // Short real TTLs for Redis stay well above scheduling noise; TestClock makes them exact in memory.
    const shortTtl = options.realTime ? 300 : 1_000
    const pastShortTtl = shortTtl + (options.realTime ? 200 : 1)

    it.effect("get of a missing key is none; set then get returns the value", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.get("basic:missing")).toStrictEqual(Option.none())
        yield* cache.set("basic:k", "v1")
        expect(yield* cache.get("basic:k")).toStrictEqual(Option.some("v1"))
        yield* cache.set("basic:k", "v2")
        expect(yield* cache.get("basic:k")).toStrictEqual(Option.some("v2"))
      }),
    )

    it.effect(
      "an operation is a description: built once, every run acts again and reads what is there then",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          // A key read a few times first, so that a layer with a local tier holds it when the reads are built.
          yield* cache.set("rerun:k", '"zero"')
          for (let i = 0; i < 3; i++) {
            yield* cache.get("rerun:k")
            yield* cache.getMany(["rerun:k", "rerun:other"])
            yield* options.elapse(20)
          }
          // Built once; `Effect.repeat`, `Effect.retry` and polling loops run one value again and again.
          const get = cache.get("rerun:k")
          const getJson = cache.getJson("rerun:k")
          const getMany = cache.getMany(["rerun:k", "rerun:other"])
          const exists = cache.exists("rerun:k")
          const ttl = cache.ttl("rerun:k")
          const set = cache.set("rerun:k", '"one"')
          const increment = cache.increment("rerun:n")
          const decrement = cache.decrement("rerun:n", 5)
          const del = cache.delete("rerun:k")
          const setIfAbsent = cache.setIfAbsent("rerun:lock", "holder")
          const expire = cache.expire("rerun:k", "1 minute")

          expect(yield* get).toStrictEqual(Option.some('"zero"'))
          expect(yield* getJson).toStrictEqual(Option.some("zero"))
          expect(yield* getMany).toStrictEqual(
            new Map([
              ["rerun:k", Option.some('"zero"')],
              ["rerun:other", Option.none()],
            ]),
          )
          expect(yield* del).toBe(true)
          expect(yield* del).toBe(false)
          expect(yield* get).toStrictEqual(Option.none())
          expect(yield* exists).toBe(false)
          expect(yield* expire).toBe(false)
          yield* set
          expect(yield* get).toStrictEqual(Option.some('"one"'))
          expect(yield* getJson).toStrictEqual(Option.some("one"))
          expect(yield* exists).toBe(true)
          expect(yield* ttl).toStrictEqual(Option.none())
          expect(yield* expire).toBe(true)
          expect(Option.isSome(yield* ttl)).toBe(true)
          yield* cache.set("rerun:k", '"two"')
          expect(yield* get).toStrictEqual(Option.some('"two"'))
          // Not yielded by a generator: run as a primitive of the fiber (a combinator, Effect.repeat).
          expect(yield* Effect.map(get, (value) => value)).toStrictEqual(Option.some('"two"'))
          const seen: Array<Option.Option<string>> = []
          yield* get.pipe(
            Effect.tap((value) => {
              seen.push(value)
              return seen.length === 2 ? cache.set("rerun:k", '"three"') : Effect.void
            }),
            Effect.repeat({ times: 2 }),
          )
          expect(seen).toStrictEqual([Option.some('"two"'), Option.some('"two"'), Option.some('"three"')])
          yield* cache.set("rerun:k", '"two"')
          expect(yield* getJson).toStrictEqual(Option.some("two"))
          expect(yield* getMany).toStrictEqual(
            new Map([
              ["rerun:k", Option.some('"two"')],
              ["rerun:other", Option.none()],
            ]),
          )
          yield* cache.set("rerun:other", "o")
          expect(yield* getMany).toStrictEqual(
            new Map([
              ["rerun:k", Option.some('"two"')],
              ["rerun:other", Option.some("o")],
            ]),
          )
          // The set run again writes again, and drops the ttl `expire` gave the key.
          yield* set
          expect(yield* get).toStrictEqual(Option.some('"one"'))
          expect(yield* ttl).toStrictEqual(Option.none())
          expect(yield* increment).toBe(1)
          expect(yield* increment).toBe(2)
          expect(yield* decrement).toBe(-3)
          expect(yield* decrement).toBe(-8)
          expect(yield* setIfAbsent).toBe(true)
          expect(yield* setIfAbsent).toBe(false)
          expect(yield* del).toBe(true)
          expect(yield* del).toBe(false)
          expect(yield* get).toStrictEqual(Option.none())
          expect(yield* getJson).toStrictEqual(Option.none())
          expect(yield* exists).toBe(false)
        }),
    )

    it.effect("a long loop of reads lets other fibers run, whatever answers the reads", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("fair:k", "v")
        for (let i = 0; i < 3; i++) {
          yield* cache.get("fair:k")
          yield* options.elapse(20)
        }
        let ran = false
        yield* Effect.fork(
          Effect.sync(() => {
            ran = true
          }),
        )
        // Reads answered from process memory finish without waiting; the loop must still give way.
        let readsBefore = -1
        for (let i = 0; i < 5_000; i++) {
          expect(yield* cache.get("fair:k")).toStrictEqual(Option.some("v"))
          if (ran && readsBefore < 0) readsBefore = i
        }
        expect(readsBefore).toBeGreaterThanOrEqual(0)
        expect(readsBefore).toBeLessThanOrEqual(2_048)
      }),
    )

    it.effect("keys and values: empty, unicode, whitespace, glob characters, __proto__", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const keys = [
          "",
          "ключ:日本:🔑",
          "with space\nand newline\t",
          "glob*?[]\\{}",
          "__proto__",
          "constructor",
        ]
        for (const key of keys) {
          yield* cache.set(key, `value of ${key}`)
          expect(yield* cache.get(key)).toStrictEqual(Option.some(`value of ${key}`))
        }
        yield* cache.set("values:empty", "")
        expect(yield* cache.get("values:empty")).toStrictEqual(Option.some(""))
        const many = yield* cache.getMany(keys)
        expect(Array.from(many.keys())).toStrictEqual(keys)
        for (const key of keys) expect(many.get(key)).toStrictEqual(Option.some(`value of ${key}`))
        for (const key of keys) expect(yield* cache.delete(key)).toBe(true)
      }),
    )

    it.effect("strings with a lone surrogate are refused, not corrupted", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const badValue = yield* failure(cache.set("surrogate:v", "a\uD800b"))
        expect(badValue.reason).toBe("InvalidArgument")
        expect(yield* cache.exists("surrogate:v")).toBe(false)
        const badKey = yield* failure(cache.set("surrogate:\uDC00", "v"))
        expect(badKey.reason).toBe("InvalidArgument")
        // JSON escapes lone surrogates, so setJson stores and returns them exactly.
        yield* cache.setJson("surrogate:json", { s: "a\uD800b" })
        expect(yield* cache.getJson("surrogate:json")).toStrictEqual(Option.some({ s: "a\uD800b" }))
      }),
    )

    it.effect("set with a ttl expires the key; set without ttl removes an existing ttl", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("ttl:a", "v", { ttl: Duration.millis(shortTtl) })
        const remaining = yield* cache.ttl("ttl:a")
        expect(Option.isSome(remaining)).toBe(true)
        const ms = Duration.toMillis(Option.getOrThrow(remaining))
        expect(ms).toBeGreaterThan(0)
        expect(ms).toBeLessThanOrEqual(shortTtl)

        yield* cache.set("ttl:b", "v", { ttl: Duration.millis(shortTtl) })
        yield* cache.set("ttl:b", "w")
        expect(yield* cache.ttl("ttl:b")).toStrictEqual(Option.none())

        yield* options.elapse(pastShortTtl)
        expect(yield* cache.get("ttl:a")).toStrictEqual(Option.none())
        expect(yield* cache.exists("ttl:a")).toBe(false)
        expect(yield* cache.ttl("ttl:a")).toStrictEqual(Option.none())
        expect(yield* cache.get("ttl:b")).toStrictEqual(Option.some("w"))
      }),
    )

    it.effect("ttl accepts DurationInput forms and keeps millisecond precision", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("ttlforms:string", "v", { ttl: "30 minutes" })
        const minutes = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("ttlforms:string")))
        expect(minutes).toBeGreaterThan(30 * 60_000 - 5_000)
        expect(minutes).toBeLessThanOrEqual(30 * 60_000)
        // A live key is never reported as "no expiry", even with under a second left.
        yield* cache.set("ttlforms:ms", "v", { ttl: 1_500 })
        const ms = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("ttlforms:ms")))
        expect(ms).toBeGreaterThan(1_000)
        expect(ms).toBeLessThanOrEqual(1_500)
        // Sub-millisecond rounds up to 1 ms rather than down to "no ttl".
        yield* cache.set("ttlforms:sub", "v", { ttl: Duration.micros(300n) })
        const sub = yield* cache.ttl("ttlforms:sub")
        if (Option.isSome(sub)) expect(Duration.toMillis(sub.value)).toBeLessThanOrEqual(1)
        // Infinity means no expiry.
        yield* cache.set("ttlforms:inf", "v", { ttl: Duration.infinity })
        expect(yield* cache.ttl("ttlforms:inf")).toStrictEqual(Option.none())
        expect(yield* cache.get("ttlforms:inf")).toStrictEqual(Option.some("v"))
      }),
    )

    it.effect(
      "zero, negative, NaN, unparsable and too-large ttls are InvalidArgument and write nothing",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          yield* cache.set("badttl:k", "original")
          const bad: ReadonlyArray<Duration.DurationInput> = [
            0,
            -1,
            Number.NaN,
            Duration.zero,
            "-5 seconds" as Duration.DurationInput,
            "soon" as Duration.DurationInput,
            Number.MAX_SAFE_INTEGER * 2,
          ]
          for (const ttl of bad) {
            const error = yield* failure(cache.set("badttl:k", "changed", { ttl }))
            expect(error.reason).toBe("InvalidArgument")
            expect(error.operation).toBe("set")
            const jsonError = yield* failure(cache.setJson("badttl:k", { changed: true }, { ttl }))
            expect(jsonError.reason).toBe("InvalidArgument")
            const manyError = yield* failure(
              cache.setMany(
                [
                  ["badttl:k", "changed"],
                  ["badttl:other", "x"],
                ],
                { ttl },
              ),
            )
            expect(manyError.reason).toBe("InvalidArgument")
          }
          expect(yield* cache.get("badttl:k")).toStrictEqual(Option.some("original"))
          expect(yield* cache.ttl("badttl:k")).toStrictEqual(Option.none())
          expect(yield* cache.exists("badttl:other")).toBe(false)
        }),
    )

    it.effect("getJson distinguishes a miss from a stored null and rejects invalid JSON", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.getJson("json:missing")).toStrictEqual(Option.none())
        yield* cache.setJson("json:null", null)
        expect(yield* cache.getJson("json:null")).toStrictEqual(Option.some(null))
        const value = { a: 1, b: ["x", true, null], c: { d: "é" }, dropped: undefined }
        yield* cache.setJson("json:obj", value, { ttl: "1 minute" })
        expect(yield* cache.getJson("json:obj")).toStrictEqual(
          Option.some({ a: 1, b: ["x", true, null], c: { d: "é" } }),
        )
        yield* cache.set("json:broken", "{not json")
        const error = yield* failure(cache.getJson("json:broken"))
        expect(error.reason).toBe("Serialization")
        expect(error.operation).toBe("getJson")
        expect(error.key).toBe("json:broken")
      }),
    )

    it.effect("setJson of what JSON cannot represent is Serialization and writes nothing", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const cyclic: Record<string, unknown> = { name: "loop" }
        cyclic.self = cyclic
        const unrepresentable: ReadonlyArray<unknown> = [
          10n,
          { nested: 1n },
          cyclic,
          () => 1,
          { f: () => 1 },
          undefined,
          [1, undefined],
          Number.NaN,
          { n: Number.POSITIVE_INFINITY },
          Symbol("s"),
        ]
        for (const value of unrepresentable) {
          const error = yield* failure(cache.setJson("unjson:k", value))
          expect(error.reason).toBe("Serialization")
        }
        expect(yield* cache.exists("unjson:k")).toBe(false)
      }),
    )

    it.effect("setIfAbsent writes only a missing key (SET NX), with its ttl; a lapsed key is missing", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.setIfAbsent("nx:k", "holder-a", { ttl: Duration.millis(shortTtl) })).toBe(true)
        expect(yield* cache.setIfAbsent("nx:k", "holder-b", { ttl: Duration.millis(shortTtl) })).toBe(false)
        expect(yield* cache.get("nx:k")).toStrictEqual(Option.some("holder-a"))
        const ms = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("nx:k")))
        expect(ms).toBeGreaterThan(0)
        expect(ms).toBeLessThanOrEqual(shortTtl)
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.setIfAbsent("nx:k", "holder-b", { ttl: "1 minute" })).toBe(true)
        expect(yield* cache.get("nx:k")).toStrictEqual(Option.some("holder-b"))
        // Without a ttl the key does not expire, as SET NX without PX.
        expect(yield* cache.setIfAbsent("nx:forever", "v")).toBe(true)
        expect(yield* cache.ttl("nx:forever")).toStrictEqual(Option.none())
        expect(yield* cache.exists("nx:forever")).toBe(true)
        expect((yield* failure(cache.setIfAbsent("nx:bad", "v", { ttl: -1 }))).reason).toBe("InvalidArgument")
        expect((yield* failure(cache.setIfAbsent("nx:bad", "a\uD800"))).reason).toBe("InvalidArgument")
        expect(yield* cache.exists("nx:bad")).toBe(false)
        yield* cache.delete("nx:k")
        yield* cache.delete("nx:forever")
      }),
    )

    it.effect("deleteIfEquals: a holder whose lease lapsed cannot delete the next holder's lease", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.deleteIfEquals("cad:missing", "x")).toBe(false)
        expect(yield* cache.setIfAbsent("cad:lease", "token-a", { ttl: Duration.millis(shortTtl) })).toBe(
          true,
        )
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.setIfAbsent("cad:lease", "token-b", { ttl: "1 minute" })).toBe(true)
        // Holder A comes back late and releases: B's lease stays.
        expect(yield* cache.deleteIfEquals("cad:lease", "token-a")).toBe(false)
        expect(yield* cache.get("cad:lease")).toStrictEqual(Option.some("token-b"))
        // A prefix of the value is not the value.
        expect(yield* cache.deleteIfEquals("cad:lease", "token-")).toBe(false)
        expect(yield* cache.deleteIfEquals("cad:lease", "token-b")).toBe(true)
        expect(yield* cache.exists("cad:lease")).toBe(false)
        expect(yield* cache.deleteIfEquals("cad:lease", "token-b")).toBe(false)
      }),
    )

    it.effect("delete and exists", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.delete("del:k")).toBe(false)
        yield* cache.set("del:k", "v")
        expect(yield* cache.exists("del:k")).toBe(true)
        expect(yield* cache.delete("del:k")).toBe(true)
        expect(yield* cache.exists("del:k")).toBe(false)
        expect(yield* cache.delete("del:k")).toBe(false)
      }),
    )

    it.effect(
      "expire: false without a key, sets a ttl, deletes on a non-positive ttl, persists on infinity",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          expect(yield* cache.expire("exp:missing", "1 minute")).toBe(false)
          yield* cache.set("exp:k", "v")
          expect(yield* cache.expire("exp:k", "1 minute")).toBe(true)
          const ms = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("exp:k")))
          expect(ms).toBeGreaterThan(55_000)
          expect(ms).toBeLessThanOrEqual(60_000)
          expect(yield* cache.expire("exp:k", Duration.infinity)).toBe(true)
          expect(yield* cache.ttl("exp:k")).toStrictEqual(Option.none())
          expect(yield* cache.get("exp:k")).toStrictEqual(Option.some("v"))
          expect(yield* cache.expire("exp:k", 0)).toBe(true)
          expect(yield* cache.exists("exp:k")).toBe(false)
          yield* cache.set("exp:neg", "v")
          expect(yield* cache.expire("exp:neg", -10)).toBe(true)
          expect(yield* cache.exists("exp:neg")).toBe(false)
          yield* cache.set("exp:short", "v")
          expect(yield* cache.expire("exp:short", shortTtl)).toBe(true)
          yield* options.elapse(pastShortTtl)
          expect(yield* cache.exists("exp:short")).toBe(false)
          expect((yield* failure(cache.expire("exp:short", "soon" as Duration.DurationInput))).reason).toBe(
            "InvalidArgument",
          )
        }),
    )

    it.effect("increment and decrement: start at 0, amounts, no ttl by default, keep an existing ttl", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.increment("incr:a")).toBe(1)
        expect(yield* cache.increment("incr:a", 5)).toBe(6)
        expect(yield* cache.decrement("incr:a")).toBe(5)
        expect(yield* cache.decrement("incr:a", 10)).toBe(-5)
        expect(yield* cache.increment("incr:a", -5)).toBe(-10)
        expect(yield* cache.get("incr:a")).toStrictEqual(Option.some("-10"))
        expect(yield* cache.ttl("incr:a")).toStrictEqual(Option.none())
        expect(yield* cache.decrement("incr:new")).toBe(-1)

        yield* cache.set("incr:ttl", "41", { ttl: "1 minute" })
        expect(yield* cache.increment("incr:ttl")).toBe(42)
        expect(Option.isSome(yield* cache.ttl("incr:ttl"))).toBe(true)
        // The ttl option applies only when the key is created.
        expect(yield* cache.increment("incr:ttl", 1, { ttl: "1 second" })).toBe(43)
        expect(Duration.toMillis(Option.getOrThrow(yield* cache.ttl("incr:ttl")))).toBeGreaterThan(50_000)
      }),
    )

    it.effect("increment with a ttl sets it atomically on creation only", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.increment("window:k", 1, { ttl: Duration.millis(shortTtl) })).toBe(1)
        expect(Option.isSome(yield* cache.ttl("window:k"))).toBe(true)
        expect(yield* cache.increment("window:k", 1, { ttl: "1 hour" })).toBe(2)
        expect(Duration.toMillis(Option.getOrThrow(yield* cache.ttl("window:k")))).toBeLessThanOrEqual(
          shortTtl,
        )
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.increment("window:k", 1, { ttl: Duration.millis(shortTtl) })).toBe(1)
        expect((yield* failure(cache.increment("window:k", 1, { ttl: 0 }))).reason).toBe("InvalidArgument")
      }),
    )

    it.effect("increment failures: non-integer value, bad amounts, results past the safe range", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        for (const stored of ["abc", "1.5", " 1", "01", "+1", "-0", "", "99999999999999999999"]) {
          yield* cache.set("incrbad:v", stored)
          const error = yield* failure(cache.increment("incrbad:v"))
          expect(error.reason).toBe("Command")
          expect(error.operation).toBe("increment")
          expect(yield* cache.get("incrbad:v")).toStrictEqual(Option.some(stored))
        }
        for (const amount of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
          expect((yield* failure(cache.increment("incrbad:a", amount))).reason).toBe("InvalidArgument")
          expect((yield* failure(cache.decrement("incrbad:a", amount))).reason).toBe("InvalidArgument")
        }
        expect(yield* cache.exists("incrbad:a")).toBe(false)

        yield* cache.set("incrbad:edge", String(Number.MAX_SAFE_INTEGER - 1))
        expect(yield* cache.increment("incrbad:edge")).toBe(Number.MAX_SAFE_INTEGER)
        const past = yield* failure(cache.increment("incrbad:edge"))
        expect(past.reason).toBe("Command")
        expect(yield* cache.get("incrbad:edge")).toStrictEqual(Option.some(String(Number.MAX_SAFE_INTEGER)))

        yield* cache.set("incrbad:low", String(Number.MIN_SAFE_INTEGER))
        expect((yield* failure(cache.decrement("incrbad:low"))).reason).toBe("Command")
        expect(yield* cache.get("incrbad:low")).toStrictEqual(Option.some(String(Number.MIN_SAFE_INTEGER)))

        yield* cache.set("incrbad:int64", "9223372036854775807")
        expect((yield* failure(cache.increment("incrbad:int64"))).reason).toBe("Command")
        expect(yield* cache.get("incrbad:int64")).toStrictEqual(Option.some("9223372036854775807"))
      }),
    )

    it.effect(
      "concurrent writes: each caller gets its own result or error, in the order they were made",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          yield* cache.set("conc:text", "not a number")
          // 300 writes from 300 fibers in one round: keys spread over many hash slots, a failing increment
          // among them, and repeated writes to one key.
          const outcomes = yield* Effect.all(
            Array.from({ length: 300 }, (_, i) =>
              Effect.either(
                i === 150
                  ? cache.increment("conc:text")
                  : i % 3 === 0
                    ? cache.increment("conc:counter")
                    : i % 3 === 1
                      ? Effect.as(cache.set(`conc:key:${i}`, `v${i}`, { ttl: "1 minute" }), i)
                      : Effect.as(cache.set("conc:last", String(i)), i),
              ),
            ),
            { concurrency: "unbounded" },
          )
          const failed = outcomes.flatMap((o, i) => (o._tag === "Left" ? [[i, o.left.reason] as const] : []))
          expect(failed).toStrictEqual([[150, "Command"]])
          // Increments in call order: 1, 2, 3, … in the order the fibers were started.
          const counts = outcomes
            .filter((_, i) => i % 3 === 0 && i !== 150)
            .map((o) => (o as { right: number }).right)
          expect(counts).toStrictEqual(counts.map((_, n) => n + 1))
          expect(yield* cache.get("conc:counter")).toStrictEqual(Option.some(String(counts.length)))
          // The last write to one key wins.
          expect(yield* cache.get("conc:last")).toStrictEqual(Option.some("299"))
          const stored = yield* cache.getMany(Array.from({ length: 100 }, (_, n) => `conc:key:${3 * n + 1}`))
          for (const [key, value] of stored) expect(value).toStrictEqual(Option.some(`v${key.slice(9)}`))
          expect(yield* cache.get("conc:text")).toStrictEqual(Option.some("not a number"))
          // Deletes and expiries from concurrent callers, each with its own answer.
          const removed = yield* Effect.all(
            [
              cache.delete("conc:last"),
              cache.delete("conc:last"),
              cache.expire("conc:counter", "1 minute"),
              cache.expire("conc:missing", "1 minute"),
            ],
            { concurrency: "unbounded" },
          )
          expect(removed).toStrictEqual([true, false, true, false])
        }),
    )

    it.effect("ping", () =>
      Effect.map(Cache, (cache) => cache.ping).pipe(
        Effect.flatten,
        Effect.map((p) => expect(p).toBe(true)),
      ),
    )

    it.effect("getMany: an entry per key, duplicates, empty input, and values set by setMany", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect((yield* cache.getMany([])).size).toBe(0)
        yield* cache.setMany([
          ["many:a", "1"],
          ["many:b", "2"],
        ])
        yield* cache.setMany({ "many:c": "3", __proto__: "proto" } as Record<string, string>)
        yield* cache.setMany(JSON.parse('{"many:d":"4","__proto__":"own proto"}') as Record<string, string>)
        const result = yield* cache.getMany([
          "many:a",
          "many:missing",
          "many:b",
          "many:a",
          "many:c",
          "__proto__",
        ])
        expect(result.size).toBe(5)
        expect(result.get("many:a")).toStrictEqual(Option.some("1"))
        expect(result.get("many:b")).toStrictEqual(Option.some("2"))
        expect(result.get("many:c")).toStrictEqual(Option.some("3"))
        expect(result.get("many:missing")).toStrictEqual(Option.none())
        expect(result.get("__proto__")).toStrictEqual(Option.some("own proto"))
        const big = Array.from({ length: 2_500 }, (_, i) => [`many:big:${i}`, `v${i}`] as const)
        yield* cache.setMany(big, { ttl: "1 minute" })
        const bigResult = yield* cache.getMany(big.map(([k]) => k))
        expect(bigResult.size).toBe(2_500)
        expect(bigResult.get("many:big:2499")).toStrictEqual(Option.some("v2499"))
        expect(Option.isSome(yield* cache.ttl("many:big:1234"))).toBe(true)
      }),
    )

    it.effect("setMany keeps millisecond precision for every ttl, up to the largest", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        for (const ttl of [1_500, 2 ** 52 - 1, 2 ** 52, 2 ** 52 + 7, Number.MAX_SAFE_INTEGER]) {
          yield* cache.setMany(
            [
              ["manyttl:a", "1"],
              ["manyttl:b", "2"],
            ],
            { ttl },
          )
          for (const key of ["manyttl:a", "manyttl:b"]) {
            const left = Duration.toMillis(Option.getOrThrow(yield* cache.ttl(key)))
            expect(left).toBeLessThanOrEqual(ttl)
            expect(left).toBeGreaterThan(ttl - 1_000)
          }
        }
      }),
    )

    it.effect("setMany stores every well-formed string exactly, byte for byte", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const values = [
          "",
          "é",
          "日本語のテキスト",
          "emoji 👍🏽 and 𝄞",
          "line\r\nbreak",
          "$5\r\nhello\r\n*2\r\n",
          "\u0000nul\u0000",
          "x".repeat(100_000),
          "ü".repeat(70_000),
        ]
        const entries = values.map((v, i) => [`bytes:${i}:ключ:🔑`, v] as const)
        yield* cache.setMany(entries, { ttl: "1 minute" })
        const read = yield* cache.getMany(entries.map(([k]) => k))
        expect(Array.from(read.values())).toStrictEqual(values.map((v) => Option.some(v)))
        for (const [key, v] of entries) expect(yield* cache.get(key)).toStrictEqual(Option.some(v))
      }),
    )

    it.effect("setMany applies the ttl to every key; later duplicates win", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany(
          [
            ["setmany:a", "1"],
            ["setmany:b", "2"],
            ["setmany:a", "3"],
          ],
          { ttl: Duration.millis(shortTtl) },
        )
        expect(yield* cache.get("setmany:a")).toStrictEqual(Option.some("3"))
        for (const key of ["setmany:a", "setmany:b"]) expect(Option.isSome(yield* cache.ttl(key))).toBe(true)
        yield* options.elapse(pastShortTtl)
        const after = yield* cache.getMany(["setmany:a", "setmany:b"])
        expect(Array.from(after.values())).toStrictEqual([Option.none(), Option.none()])
        yield* cache.setMany([])
        const bad = yield* failure(cache.setMany([["setmany:c", "x\uDFFF"]]))
        expect(bad.reason).toBe("InvalidArgument")
        expect(yield* cache.exists("setmany:c")).toBe(false)
      }),
    )

    it.effect("setMany: an entry's own ttl replaces the call's; infinity is no expiry; checked first", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany(
          [
            ["setmanyttl:call", "1"],
            ["setmanyttl:own", "2", { ttl: "1 hour" }],
            ["setmanyttl:forever", "3", { ttl: Duration.infinity }],
            ["setmanyttl:empty", "4", {}],
            ["setmanyttl:dup", "early", { ttl: "1 hour" }],
            ["setmanyttl:dup", "late"],
          ],
          { ttl: Duration.millis(shortTtl) },
        )
        const own = Duration.toMillis(Option.getOrThrow(yield* cache.ttl("setmanyttl:own")))
        expect(own).toBeGreaterThan(3_590_000)
        expect(own).toBeLessThanOrEqual(3_600_000)
        expect(yield* cache.ttl("setmanyttl:forever")).toStrictEqual(Option.none())
        expect(yield* cache.get("setmanyttl:dup")).toStrictEqual(Option.some("late"))
        yield* options.elapse(pastShortTtl)
        const after = yield* cache.getMany([
          "setmanyttl:call",
          "setmanyttl:own",
          "setmanyttl:forever",
          "setmanyttl:empty",
          "setmanyttl:dup",
        ])
        expect(Array.from(after.values())).toStrictEqual([
          Option.none(),
          Option.some("2"),
          Option.some("3"),
          Option.none(),
          Option.none(),
        ])
        // Entries without a call ttl: only the ones with their own expire.
        yield* cache.setMany([
          ["setmanyttl:plain", "p"],
          ["setmanyttl:short", "s", { ttl: Duration.millis(shortTtl) }],
        ])
        expect(yield* cache.ttl("setmanyttl:plain")).toStrictEqual(Option.none())
        expect(Option.isSome(yield* cache.ttl("setmanyttl:short"))).toBe(true)
        // A bad ttl on one entry fails the whole call before anything is written.
        const bad = yield* failure(
          cache.setMany([
            ["setmanyttl:ok", "v", { ttl: "1 minute" }],
            ["setmanyttl:bad", "v", { ttl: 0 }],
          ]),
        )
        expect(bad.reason).toBe("InvalidArgument")
        expect(bad.key).toBe("setmanyttl:bad")
        expect(yield* cache.exists("setmanyttl:ok")).toBe(false)
      }),
    )

    it.effect("countPattern: Redis glob semantics, live keys only, across SCAN pages", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany([
          ["cp:a1", "v"],
          ["cp:a2", "v"],
          ["cp:b1", "v"],
          ["cp:*", "v"],
          ["cp:short", "v", { ttl: Duration.millis(shortTtl) }],
        ])
        expect(yield* cache.countPattern("cp:a*")).toBe(2)
        expect(yield* cache.countPattern("cp:?1")).toBe(2)
        expect(yield* cache.countPattern(escapeGlob("cp:*"))).toBe(1)
        expect(yield* cache.countPattern("cp:nothing*")).toBe(0)
        expect(yield* cache.countPattern("cp:*")).toBe(5)
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.countPattern("cp:*")).toBe(4)
        const many = Array.from({ length: 2_500 }, (_, i) => [`cp:many:${i}`, "v"] as const)
        yield* cache.setMany(many, { ttl: "1 minute" })
        expect(yield* cache.countPattern("cp:many:*")).toBe(2_500)
        expect(yield* cache.deletePattern("cp:*")).toBe(2_504)
        expect(yield* cache.countPattern("cp:*")).toBe(0)
        const bad = yield* failure(cache.countPattern("cp:\uD800"))
        expect(bad.reason).toBe("InvalidArgument")
      }),
    )

    it.effect("deletePattern: Redis glob semantics and the number of keys actually deleted", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const keys = ["dp:a1", "dp:a2", "dp:b1", "dp:ab", "dp:c", "dp:*", "dp:?x", "dp:[a]", "dp:é"]
        const reset = cache.setMany(keys.map((k) => [k, "v"] as const))
        const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
          ["dp:a*", ["dp:a1", "dp:a2", "dp:ab"]],
          ["dp:?1", ["dp:a1", "dp:b1"]],
          ["dp:[ab]1", ["dp:a1", "dp:b1"]],
          ["dp:[^a]1", ["dp:b1"]],
          ["dp:[a-b]?", ["dp:a1", "dp:a2", "dp:b1", "dp:ab"]],
          ["dp:\\*", ["dp:*"]],
          ["dp:\\?x", ["dp:?x"]],
          ["dp:\\[a\\]", ["dp:[a]"]],
          ["dp:?", ["dp:c", "dp:*"]],
          ["dp:??", ["dp:a1", "dp:a2", "dp:b1", "dp:ab", "dp:?x", "dp:é"]],
          ["dp:nothing*", []],
          ["dp:*", keys],
        ]
        for (const [pattern, expected] of cases) {
          yield* reset
          expect([pattern, yield* cache.deletePattern(pattern)]).toStrictEqual([pattern, expected.length])
          const left = yield* cache.getMany(keys)
          for (const key of keys) {
            expect([pattern, key, Option.isSome(left.get(key)!)]).toStrictEqual([
              pattern,
              key,
              !expected.includes(key),
            ])
          }
        }
        // Expired keys are not counted.
        yield* cache.set("dp:exp", "v", { ttl: Duration.millis(shortTtl) })
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.deletePattern("dp:exp*")).toBe(0)
      }),
    )

    it.effect("escapeGlob keeps hostile input from widening a pattern", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany([
          ["authz:alice:1", "v"],
          ["authz:alice:2", "v"],
          ["authz:bob:1", "v"],
          ["authz:*:1", "v"],
        ])
        const hostile = "*"
        expect(yield* cache.deletePattern(`authz:${escapeGlob(hostile)}:*`)).toBe(1)
        expect(yield* cache.exists("authz:bob:1")).toBe(true)
        expect(yield* cache.deletePattern(`authz:${escapeGlob("alice")}:*`)).toBe(2)
        expect(yield* cache.deletePattern(`authz:${escapeGlob("[ab]ob\\")}:*`)).toBe(0)
        expect(yield* cache.exists("authz:bob:1")).toBe(true)
      }),
    )

    it.effect("a 10 MiB value and a 64 KiB key round-trip", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const bigValue = "x".repeat(10 * 1024 * 1024)
        yield* cache.set("big:value", bigValue)
        expect(Option.getOrThrow(yield* cache.get("big:value")).length).toBe(bigValue.length)
        const bigKey = `big:${"k".repeat(64 * 1024)}`
        yield* cache.set(bigKey, "v")
        expect(yield* cache.get(bigKey)).toStrictEqual(Option.some("v"))
        const error = yield* failure(cache.increment(bigKey))
        expect(error.message.length).toBeLessThan(500)
        yield* cache.delete("big:value")
        yield* cache.delete(bigKey)
      }),
    )

    it.effect("flush removes every key of this cache", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany([
          ["flush:a", "1"],
          ["flush:b", "2"],
        ])
        yield* cache.set("", "empty key")
        yield* cache.flush
        const left = yield* cache.getMany(["flush:a", "flush:b", ""])
        expect(Array.from(left.values())).toStrictEqual([Option.none(), Option.none(), Option.none()])
      }),
    )

    it.effect("hostile input, table-driven: a typed error or the correct result, never a partial write", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        type Row = readonly [label: string, run: Effect.Effect<unknown, CacheError>, expected: string]
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        const rows: ReadonlyArray<Row> = [
          ["empty key", cache.set("", "v"), "ok"],
          ["64 KiB key", cache.set("k".repeat(65_536), "v"), "ok"],
          ["unicode key", cache.set("키:🔑:ü", "v"), "ok"],
          ["whitespace key", cache.set(" \n\t\r ", "v"), "ok"],
          ["glob key", cache.set("*?[a-z]\\", "v"), "ok"],
          ["__proto__ key", cache.set("__proto__", "v"), "ok"],
          ["constructor key", cache.set("constructor", "v"), "ok"],
          ["lone surrogate key", cache.set("k\uD83D", "v"), "InvalidArgument"],
          ["empty value", cache.set("hostile:v", ""), "ok"],
          ["10 MiB value", cache.set("hostile:v", "v".repeat(10 * 1024 * 1024)), "ok"],
          ["unicode value", cache.set("hostile:v", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓"), "ok"],
          ["lone surrogate value", cache.set("hostile:v", "\uDE00"), "InvalidArgument"],
          ["JSON cycle", cache.setJson("hostile:j", cyclic), "Serialization"],
          ["JSON BigInt", cache.setJson("hostile:j", { n: 1n }), "Serialization"],
          ["JSON function", cache.setJson("hostile:j", () => 0), "Serialization"],
          ["JSON undefined", cache.setJson("hostile:j", undefined), "Serialization"],
          ["ttl 0", cache.set("hostile:t", "v", { ttl: 0 }), "InvalidArgument"],
          ["ttl negative", cache.set("hostile:t", "v", { ttl: -1_000 }), "InvalidArgument"],
          ["ttl NaN", cache.set("hostile:t", "v", { ttl: Number.NaN }), "InvalidArgument"],
          ["ttl Infinity", cache.set("hostile:t", "v", { ttl: Number.POSITIVE_INFINITY }), "ok"],
          ["ttl sub-millisecond", cache.set("hostile:t2", "v", { ttl: Duration.nanos(1n) }), "ok"],
          [
            "ttl beyond what Redis accepts",
            cache.set("hostile:t", "v", { ttl: Duration.days(1e12) }),
            "InvalidArgument",
          ],
          ["amount 0.5", cache.increment("hostile:n", 0.5), "InvalidArgument"],
          ["amount NaN", cache.increment("hostile:n", Number.NaN), "InvalidArgument"],
          ["amount 2^53", cache.increment("hostile:n", 2 ** 53), "InvalidArgument"],
          ["amount -Infinity", cache.decrement("hostile:n", Number.NEGATIVE_INFINITY), "InvalidArgument"],
          ["amount max safe", cache.increment("hostile:n", Number.MAX_SAFE_INTEGER), "ok"],
          ["result past max safe", cache.increment("hostile:n", 1), "Command"],
          ["pattern with lone surrogate", cache.deletePattern("\uD800*"), "InvalidArgument"],
        ]
        for (const [label, run, expected] of rows) {
          const outcome = yield* Effect.match(run, { onFailure: (e) => e.reason, onSuccess: () => "ok" })
          expect([label, outcome]).toStrictEqual([label, expected])
        }
        // Nothing half-written: the failed rows left the earlier good values alone.
        expect(Option.getOrThrow(yield* cache.get("hostile:v")).length).toBe("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓".length)
        expect(yield* cache.exists("hostile:j")).toBe(false)
        expect(yield* cache.exists("hostile:t")).toBe(true)
        expect(yield* cache.ttl("hostile:t")).toStrictEqual(Option.none())
        expect(yield* cache.get("hostile:n")).toStrictEqual(Option.some(String(Number.MAX_SAFE_INTEGER)))
        for (const key of [
          "",
          "k".repeat(65_536),
          "__proto__",
          "constructor",
          "hostile:v",
          "hostile:t",
          "hostile:t2",
          "hostile:n",
        ]) {
          yield* cache.delete(key)
        }
      }),
    )

    it.effect("a pattern built from user input without escapeGlob is widened; with it, it is not", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const keys = ["user:alice:token", "user:bob:token", "user:a*:token"]
        const reset = cache.setMany(keys.map((k) => [k, "v"] as const))
        const hostileId = "a*"
        yield* reset
        expect(yield* cache.deletePattern(`user:${hostileId}:*`)).toBe(2)
        yield* reset
        expect(yield* cache.deletePattern(`user:${escapeGlob(hostileId)}:*`)).toBe(1)
        expect(yield* cache.exists("user:alice:token")).toBe(true)
        for (const hostile of ["*", "?", "[a-z]*", "\\", "[", "]", "[^x]*"]) {
          yield* reset
          expect([hostile, yield* cache.deletePattern(`user:${escapeGlob(hostile)}:token`)]).toStrictEqual([
            hostile,
            0,
          ])
        }
        yield* cache.deletePattern("user:*")
      }),
    )

    it.effect("tags: invalidateTags deletes the keys written with a tag, and only those", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("tags:a", "1", { tags: ["t1"] })
        yield* cache.setJson("tags:b", { n: 2 }, { ttl: "1 minute", tags: ["t1", "t2", "t1"] })
        yield* cache.setMany([["tags:c", "3"]], { tags: ["t2"] })
        yield* cache.set("tags:d", "4")
        expect(yield* cache.invalidateTags(["t1"])).toBe(2)
        const left = yield* cache.getMany(["tags:a", "tags:b", "tags:c", "tags:d"])
        expect(Array.from(left.values())).toStrictEqual([
          Option.none(),
          Option.none(),
          Option.some("3"),
          Option.some("4"),
        ])
        expect(yield* cache.invalidateTags(new Set(["t2", "t1"]))).toBe(1)
        expect(yield* cache.exists("tags:c")).toBe(false)
        expect(yield* cache.invalidateTags(["t1", "t2", "never used"])).toBe(0)
        expect(yield* cache.invalidateTags([])).toBe(0)
        expect(yield* cache.get("tags:d")).toStrictEqual(Option.some("4"))
        yield* cache.delete("tags:d")
      }),
    )

    it.effect(
      "tags: a key rewritten without a tag leaves it; keys written after the call are untouched",
      () =>
        Effect.gen(function* () {
          const cache = yield* Cache
          yield* cache.set("retag:set", "v", { tags: ["x"] })
          yield* cache.set("retag:set", "w")
          yield* cache.set("retag:other", "v", { tags: ["x", "y"] })
          yield* cache.set("retag:other", "w", { tags: ["y"] })
          yield* cache.setMany([["retag:many", "v"]], { tags: ["x"] })
          yield* cache.setMany([["retag:many", "w"]])
          yield* cache.setJson("retag:json", 1, { tags: ["x"] })
          yield* cache.setJson("retag:json", 2, { tags: [] })
          expect(yield* cache.invalidateTags(["x"])).toBe(0)
          const kept = yield* cache.getMany(["retag:set", "retag:other", "retag:many", "retag:json"])
          expect(Array.from(kept.values())).toStrictEqual([
            Option.some("w"),
            Option.some("w"),
            Option.some("w"),
            Option.some("2"),
          ])
          // Written with the tag after the invalidation: untouched by it, deleted by the next one.
          yield* cache.set("retag:after", "v", { tags: ["x"] })
          expect(yield* cache.get("retag:after")).toStrictEqual(Option.some("v"))
          expect(yield* cache.invalidateTags(["x"])).toBe(1)
          expect(yield* cache.invalidateTags(["y"])).toBe(1)
          expect(yield* cache.exists("retag:other")).toBe(false)
          yield* cache.deletePattern("retag:*")
        }),
    )

    it.effect("tags: setMany takes the call's tags, an entry's own tags replace them", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.setMany(
          [
            ["tagmany:a", "1", { tags: ["own"] }],
            ["tagmany:b", "2"],
            ["tagmany:c", "3", { ttl: "1 minute" }],
            ["tagmany:d", "4", { tags: [] }],
          ],
          { tags: ["call"] },
        )
        expect(yield* cache.invalidateTags(["call"])).toBe(2)
        expect(yield* cache.invalidateTags(["own"])).toBe(1)
        expect(yield* cache.get("tagmany:d")).toStrictEqual(Option.some("4"))
        yield* cache.delete("tagmany:d")
      }),
    )

    it.effect("tags: delete, increment, setIfAbsent and expire keep the tags in step with the key", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        // A deleted tagged key, created again without tags, is not the tagged key.
        yield* cache.set("tagops:counter", "5", { tags: ["ops"] })
        yield* cache.delete("tagops:counter")
        expect(yield* cache.increment("tagops:counter")).toBe(1)
        yield* cache.set("tagops:lease", "a", { tags: ["ops"] })
        expect(yield* cache.deleteIfEquals("tagops:lease", "a")).toBe(true)
        expect(yield* cache.setIfAbsent("tagops:lease", "b")).toBe(true)
        // An increment of a tagged key keeps the tag (as it keeps the ttl).
        yield* cache.set("tagops:kept", "1", { tags: ["ops"] })
        expect(yield* cache.increment("tagops:kept")).toBe(2)
        // An expiry extended past the tagged write's keeps the tag for the key's whole life.
        yield* cache.set("tagops:extended", "v", { ttl: shortTtl, tags: ["ops"] })
        expect(yield* cache.expire("tagops:extended", "1 minute")).toBe(true)
        yield* options.elapse(pastShortTtl)
        expect(yield* cache.exists("tagops:extended")).toBe(true)
        expect(yield* cache.invalidateTags(["ops"])).toBe(2)
        expect(yield* cache.get("tagops:counter")).toStrictEqual(Option.some("1"))
        expect(yield* cache.get("tagops:lease")).toStrictEqual(Option.some("b"))
        expect(yield* cache.exists("tagops:kept")).toBe(false)
        expect(yield* cache.exists("tagops:extended")).toBe(false)
        yield* cache.deletePattern("tagops:*")
      }),
    )

    it.effect("tags: invalid tags are InvalidArgument and nothing is written", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const bad = yield* failure(cache.set("tagbad:k", "v", { tags: ["ok", "\uD800"] }))
        expect([bad.reason, bad.operation]).toStrictEqual(["InvalidArgument", "set"])
        const many = yield* failure(cache.setMany([["tagbad:m", "v", { tags: ["\uDC00"] }]]))
        expect(many.reason).toBe("InvalidArgument")
        const tooMany = Array.from({ length: 1_001 }, (_, i) => `t${i}`)
        expect((yield* failure(cache.setJson("tagbad:j", 1, { tags: tooMany }))).reason).toBe(
          "InvalidArgument",
        )
        expect(yield* cache.getMany(["tagbad:k", "tagbad:m", "tagbad:j"])).toStrictEqual(
          new Map([
            ["tagbad:k", Option.none()],
            ["tagbad:m", Option.none()],
            ["tagbad:j", Option.none()],
          ]),
        )
        const invalidation = yield* failure(cache.invalidateTags(["\uD800"]))
        expect([invalidation.reason, invalidation.operation]).toStrictEqual([
          "InvalidArgument",
          "invalidateTags",
        ])
        // Tags are names, not patterns.
        yield* cache.set("tagbad:star", "v", { tags: ["*"] })
        yield* cache.set("tagbad:plain", "v", { tags: ["a"] })
        expect(yield* cache.invalidateTags(["*"])).toBe(1)
        expect(yield* cache.invalidateTags(["a"])).toBe(1)
      }),
    )

    it.effect("tags: bookkeeping goes with the keys (expiry, invalidation, flush)", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.flush
        // Records and indexes (not the cluster's slot registries, which outlive their keys by a margin).
        const bookkeeping = options.tagBookkeeping?.(cache) ?? cache.countPattern("__tags__:\\{*")
        yield* cache.set("tagexp:a", "v", { ttl: shortTtl, tags: ["short", "both"] })
        yield* cache.setMany(
          Array.from({ length: 20 }, (_, i) => [`tagexp:m${i}`, "v"] as const),
          { ttl: shortTtl, tags: ["both"] },
        )
        expect(yield* bookkeeping).toBeGreaterThan(0)
        yield* options.elapse(pastShortTtl)
        expect(yield* bookkeeping).toBe(0)
        expect(yield* cache.invalidateTags(["short", "both"])).toBe(0)
        yield* cache.set("tagexp:b", "v", { tags: ["long"] })
        expect(yield* cache.invalidateTags(["long"])).toBe(1)
        expect(yield* bookkeeping).toBe(0)
        yield* cache.set("tagexp:c", "v", { tags: ["flushed"] })
        yield* cache.flush
        expect(yield* cache.countPattern("__tags__:*")).toBe(0)
        expect(yield* cache.invalidateTags(["flushed"])).toBe(0)
      }),
    )

    it.effect("errors carry reason, operation and key, and a readable message", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const error = yield* failure(cache.set("errors:k", "v", { ttl: 0 }))
        expect(error._tag).toBe("CacheError")
        expect(error.reason).toBe("InvalidArgument")
        expect(error.operation).toBe("set")
        expect(error.key).toBe("errors:k")
        expect(error.message).toContain("errors:k")
        expect(error.message).toContain("InvalidArgument")
        const exit = yield* Effect.exit(cache.increment("errors:k", 0.5))
        expect(Exit.isFailure(exit)).toBe(true)
        // Refused by the store itself (Redis answers ERR inside the write batch): the same context, each
        // write its own, whatever else was batched with it.
        yield* cache.set("errors:k", "not a number")
        const [counted, increment, decrement] = yield* Effect.all(
          [
            cache.increment("errors:n"),
            Effect.flip(cache.increment("errors:k")),
            Effect.flip(cache.decrement("errors:k", 2)),
          ],
          { concurrency: "unbounded" },
        )
        expect(counted).toBe(1)
        for (const [error, operation] of [
          [increment, "increment"],
          [decrement, "decrement"],
        ] as const) {
          expect(error._tag).toBe("CacheError")
          expect(error.reason).toBe("Command")
          expect(error.operation).toBe(operation)
          expect(error.key).toBe("errors:k")
          expect(error.message).toContain("errors:k")
        }
      }),
    )
  })
