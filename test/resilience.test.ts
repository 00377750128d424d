/**
 * Fault injection: every test starts its own redis-server on a free port and kills, stops or restarts it.
 * The time bounds asserted here are the feature (bounded latency during an outage), with margins wide
 * enough for a loaded CI machine; throughput targets live in the benchmark, not here.
 */

import v8 from "node:v8"
import vm from "node:vm"
import { describe, expect, it } from "@effect/vitest"
import {
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Option,
  Redacted,
  Scope,
} from "effect"
import { Cache, CacheError, ProviderConnectionCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { captureLogs, makeConnection } from "./support/fixtures.js"
import { freePort, type RedisServer, startRedisServer } from "./support/redisServer.js"
import { failOnUnexpectedErrors } from "./support/unexpectedErrors.js"

const TIMEOUT_MS = 300
const MARGIN_MS = 700
const tuning = {
  commandTimeout: Duration.millis(TIMEOUT_MS),
  connectTimeout: Duration.millis(500),
  maxReconnectDelay: Duration.millis(200),
  breakerThreshold: 3,
  breakerCooldown: Duration.millis(400),
} as const

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

failOnUnexpectedErrors()

const server = (options?: Parameters<typeof startRedisServer>[0]) =>
  Effect.acquireRelease(
    Effect.promise(() => startRedisServer(options)),
    (s) => Effect.promise(() => s.stop()),
  )

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Runs `effect`, returning how long it took and its outcome. */
const measure = <A>(effect: Effect.Effect<A, CacheError>) =>
  Effect.map(Effect.timed(Effect.either(effect)), ([duration, result]) => ({
    ms: Duration.toMillis(duration),
    result,
  }))

/** Polls until `effect` succeeds; returns how long that took (fails the test after `limitMs`). */
const recoveryTime = <A>(effect: Effect.Effect<A, CacheError>, limitMs: number) =>
  Effect.gen(function* () {
    const start = Date.now()
    while (Date.now() - start < limitMs) {
      if (Either.isRight(yield* Effect.either(effect))) return Date.now() - start
      yield* sleep(50)
    }
    return Number.POSITIVE_INFINITY
  })

const reasonOf = (result: Either.Either<unknown, CacheError>) =>
  Either.isLeft(result) ? result.left.reason : "ok"

describe("RedisCache under faults", () => {
  it.live("Redis killed under load: every operation ends within the timeout; the domain cache misses", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const context = yield* Layer.build(
        ProviderConnectionCache.layerWithTtl("1 minute").pipe(
          Layer.provideMerge(RedisCache.layer({ url: redis.url, ...tuning })),
        ),
      )
      const cache = Context.get(context, Cache)
      const connections = Context.get(context, ProviderConnectionCache)
      const connection = makeConnection()
      yield* connections.set(connection)

      const outcomes: Array<{ ms: number; reason: string }> = []
      const worker = (n: number) =>
        Effect.gen(function* () {
          const until = Date.now() + 1_500
          let i = 0
          while (Date.now() < until) {
            i++
            const key = `load:${n}:${i % 20}`
            const op =
              i % 4 === 0
                ? cache.set(key, "v", { ttl: "1 minute" })
                : i % 4 === 1
                  ? cache.get(key)
                  : i % 4 === 2
                    ? cache.increment(`${key}:n`)
                    : cache.getMany([key, `${key}:n`])
            const { ms, result } = yield* measure(op as Effect.Effect<unknown, CacheError>)
            outcomes.push({ ms, reason: reasonOf(result) })
            // Requests arrive through the event loop; a worker that never leaves it would delay every
            // timer in the process (the outage makes failures synchronous).
            yield* sleep(1)
          }
        })
      const load = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 50 }, (_, n) => worker(n)),
          { concurrency: "unbounded" },
        ),
      )
      yield* sleep(300)
      yield* Effect.promise(() => redis.kill())
      yield* load.await

      const reasons = new Set(outcomes.map((o) => o.reason))
      expect(outcomes.filter((o) => o.reason === "ok").length).toBeGreaterThan(100)
      expect(outcomes.filter((o) => o.reason !== "ok").length).toBeGreaterThan(100)
      for (const reason of reasons) expect(["ok", "Connection", "Timeout"]).toContain(reason)
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
      expect(yield* connections.get(connection.id)).toStrictEqual(Option.none())
    }).pipe(Effect.scoped),
  )

  it.live(
    "Redis hung: Timeout at the command timeout, then the breaker fails calls at once; memory stays flat",
    () =>
      Effect.gen(function* () {
        const redis = yield* server()
        const cache = yield* Effect.provide(
          Cache,
          yield* Layer.build(RedisCache.layer({ url: redis.url, ...tuning })),
        )
        yield* cache.set("hung:k", "v")
        redis.pause()

        for (let i = 0; i < tuning.breakerThreshold; i++) {
          const { ms, result } = yield* measure(cache.get("hung:k"))
          expect(reasonOf(result)).toBe("Timeout")
          expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5)
          expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
        }
        // Open: the next calls do not wait for the timeout.
        const fast = yield* Effect.forEach(Array.from({ length: 100 }), () =>
          measure(cache.set("hung:k", "w")),
        )
        expect(fast.every((o) => reasonOf(o.result) === "Connection")).toBe(true)
        expect(Math.max(...fast.map((o) => o.ms))).toBeLessThan(50)
        const open = fast[0]!.result
        expect(Either.isLeft(open) && open.left.message).toContain("circuit breaker")
        expect(Either.isLeft(open) && [open.left.operation, open.left.key]).toEqual(["set", "hung:k"])

        // 100k operations while hung: nothing queues.
        gc()
        const before = process.memoryUsage().heapUsed
        for (let round = 0; round < 10; round++) {
          yield* Effect.forEach(
            Array.from({ length: 10_000 }, (_, i) => i),
            (i) => Effect.either(i % 2 === 0 ? cache.get(`hung:${i}`) : cache.set(`hung:${i}`, "x")),
            { concurrency: 100, discard: true },
          )
        }
        gc()
        const growthMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024
        expect(growthMb).toBeLessThan(30)

        redis.resume()
        expect(yield* recoveryTime(cache.get("hung:k"), 5_000)).toBeLessThan(2_500)
      }).pipe(Effect.scoped),
  )

  it.live("a write that timed out while Redis was hung is never executed later", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const cache = yield* Effect.provide(
        Cache,
        // Five writes in a row must each reach the hung server's socket and time out there; the watchdog
        // would replace the silent connection after a second (tested in connectionHealth.test.ts).
        yield* Layer.build(
          RedisCache.layer({
            url: redis.url,
            ...tuning,
            breakerThreshold: 100,
            unresponsiveTimeout: "1 minute",
          }),
        ),
      )
      yield* cache.set("late:counter", "10")
      redis.pause()
      const writes = [
        cache.set("late:set", "should not exist"),
        cache.setMany([["late:many", "x"]], { ttl: "1 minute" }),
        cache.increment("late:counter", 5),
        cache.delete("late:counter"),
        cache.expire("late:counter", 0),
      ]
      for (const write of writes) {
        expect(reasonOf((yield* measure(write as Effect.Effect<unknown, CacheError>)).result)).toBe("Timeout")
      }
      redis.resume()
      expect(yield* recoveryTime(cache.ping, 5_000)).toBeLessThan(2_500)
      yield* sleep(100)
      expect(yield* cache.get("late:set")).toStrictEqual(Option.none())
      expect(yield* cache.get("late:many")).toStrictEqual(Option.none())
      expect(yield* cache.get("late:counter")).toStrictEqual(Option.some("10"))
    }).pipe(Effect.scoped),
  )

  it.live("Redis restarted on the same port: fast failures while down, working again within ~2 s", () =>
    Effect.gen(function* () {
      let redis: RedisServer = yield* Effect.promise(() => startRedisServer())
      yield* Effect.addFinalizer(() => Effect.promise(() => redis.stop()))
      const cache = yield* Effect.provide(
        Cache,
        yield* Layer.build(RedisCache.layer({ url: redis.url, ...tuning })),
      )
      yield* cache.set("restart:k", "v")
      yield* Effect.promise(() => redis.kill())
      const down = yield* Effect.forEach(Array.from({ length: 20 }), () => measure(cache.get("restart:k")))
      for (const { ms, result } of down) {
        expect(reasonOf(result)).toBe("Connection")
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
      }
      redis = yield* Effect.promise(() => redis.restart())
      expect(yield* recoveryTime(cache.set("restart:k", "again"), 5_000)).toBeLessThan(2_500)
      expect(yield* cache.get("restart:k")).toStrictEqual(Option.some("again"))
    }).pipe(Effect.scoped),
  )

  it.live("starting with Redis down: the layer builds, warns, fails fast, and works once Redis appears", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const logs = captureLogs()
      const start = Date.now()
      const context = yield* Layer.build(
        RedisCache.layer({ url: `redis://127.0.0.1:${port}`, ...tuning }).pipe(Layer.provide(logs.layer)),
      )
      expect(Date.now() - start).toBeLessThan(2_000)
      expect(logs.entries.some((e) => e.level === "WARN" && e.message.includes("not reachable"))).toBe(true)
      const cache = Context.get(context, Cache)
      const { ms, result } = yield* measure(cache.get("boot:k"))
      expect(reasonOf(result)).toBe("Connection")
      expect(ms).toBeLessThan(100)

      const redis = yield* server({ port })
      expect(redis.port).toBe(port)
      expect(yield* recoveryTime(cache.set("boot:k", "v"), 5_000)).toBeLessThan(2_500)
      expect(yield* cache.get("boot:k")).toStrictEqual(Option.some("v"))
    }).pipe(Effect.scoped),
  )

  for (const fault of ["hung", "down"] as const) {
    it.live(`closing the layer while Redis is ${fault} returns promptly and leaves nothing running`, () =>
      Effect.gen(function* () {
        const redis = yield* server()
        const handles = () =>
          process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "Timeout").length
        const baseline = handles()
        const scope = yield* Scope.make()
        const cache = yield* Effect.provide(
          Cache,
          yield* Layer.buildWithScope(RedisCache.layer({ url: redis.url, ...tuning }), scope),
        )
        yield* cache.set("close:k", "v")
        if (fault === "hung") redis.pause()
        else yield* Effect.promise(() => redis.kill())
        yield* Effect.either(cache.get("close:k"))
        const start = Date.now()
        yield* Scope.close(scope, Exit.void)
        expect(Date.now() - start).toBeLessThan(2 * TIMEOUT_MS + MARGIN_MS)
        yield* sleep(50)
        expect(handles()).toBeLessThanOrEqual(baseline)
        redis.resume()
      }).pipe(Effect.scoped),
    )
  }
})

describe("secrets and access", () => {
  const password = "s3cret-PASSWORD-value"
  const wrong = "wrong-PASSWORD-xyz"

  it.live("a wrong password is a Connection error that names no secret, in errors or in logs", () =>
    Effect.gen(function* () {
      const redis = yield* server({ args: ["--requirepass", password] })
      const logs = captureLogs()
      const url = `redis://:${wrong}@127.0.0.1:${redis.port}`
      const cache = yield* Effect.provide(
        Cache,
        yield* Layer.build(RedisCache.layer({ url, ...tuning }).pipe(Layer.provide(logs.layer))),
      )
      const error = yield* Effect.flip(cache.set("auth:k", "v"))
      expect(error).toBeInstanceOf(CacheError)
      expect(error.reason).toBe("Connection")
      const surfaces = [error.message, String(error), JSON.stringify(error), JSON.stringify(logs.entries)]
      for (const text of surfaces) {
        expect(text).not.toContain(wrong)
        expect(text).not.toContain(password)
      }
      // Read from configuration, the URL stays Redacted: printing the options shows no password.
      const options = yield* RedisCache.config.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", url]]))),
      )
      expect(Redacted.value(options.url as Redacted.Redacted<string>)).toBe(url)
      for (const text of [
        JSON.stringify(options),
        String(options.url),
        `${JSON.stringify({ url: options.url })}`,
      ]) {
        expect(text).not.toContain(wrong)
      }
    }).pipe(Effect.scoped),
  )

  it.live("password and ACL user authentication work", () =>
    Effect.gen(function* () {
      const redis = yield* server({
        args: ["--requirepass", password, "--user", "app", "on", ">app-pass", "~*", "&*", "+@all"],
      })
      for (const url of [
        `redis://:${password}@127.0.0.1:${redis.port}`,
        `redis://app:app-pass@127.0.0.1:${redis.port}`,
      ]) {
        const cache = yield* Effect.provide(Cache, yield* Layer.build(RedisCache.layer({ url, ...tuning })))
        yield* cache.set("auth:ok", url.includes("app:") ? "acl" : "password")
        expect(Option.isSome(yield* cache.get("auth:ok"))).toBe(true)
      }
    }).pipe(Effect.scoped),
  )

  it.live("TLS (rediss://) against a server with a CA the test generates", () =>
    Effect.gen(function* () {
      const tls = yield* Effect.promise(() =>
        import("./support/tls.js").then((m) => m.makeTestCertificates()),
      )
      yield* Effect.addFinalizer(() => Effect.sync(tls.cleanup))
      const tlsPort = yield* Effect.promise(() => freePort())
      const redis = yield* server({
        args: [
          "--tls-port",
          String(tlsPort),
          "--tls-cert-file",
          tls.certFile,
          "--tls-key-file",
          tls.keyFile,
          "--tls-ca-cert-file",
          tls.caFile,
          "--tls-auth-clients",
          "no",
        ],
      })
      expect(redis.port).not.toBe(tlsPort)
      const cache = yield* Effect.provide(
        Cache,
        yield* Layer.build(
          RedisCache.layer({ url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca: tls.ca }, ...tuning }),
        ),
      )
      yield* cache.set("tls:k", "over TLS")
      expect(yield* cache.get("tls:k")).toStrictEqual(Option.some("over TLS"))
      // Without the CA the server's certificate is refused: a Connection error, not a hang.
      const untrusted = yield* Effect.provide(
        Cache,
        yield* Layer.build(RedisCache.layer({ url: `rediss://127.0.0.1:${tlsPort}`, ...tuning })),
      )
      expect((yield* Effect.flip(untrusted.get("tls:k"))).reason).toBe("Connection")
    }).pipe(Effect.scoped),
  )
})
