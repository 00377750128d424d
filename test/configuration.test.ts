/**
 * Configuration that must not silently do something else: a malformed URL (whose password must not leak),
 * a database Redis cannot select, an empty REDIS_URL, timeouts Node's timers cannot hold, bad cluster seed
 * nodes, and a Redis too old for the scripts. Every test that needs a server starts its own, on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Option,
  Redacted,
} from "effect"
import { Redis } from "ioredis"
import { CacheLive } from "../examples/cacheLayer.js"
import { Cache, CacheError } from "../src/index.js"
import { MAX_TIMER_MS, parseSeedNode, redisUrlProblem } from "../src/internal/redisOptions.js"
import { makeSecretScrubber, secretsOf } from "../src/internal/secrets.js"
import { redisVersionOf, versionProblem } from "../src/internal/serverGuard.js"
import { RedisCache } from "../src/redis.js"
import { startFakeRedisServer } from "./support/fakeRedisServer.js"
import { captureLogs } from "./support/fixtures.js"
import { freePort, startRedisServer } from "./support/redisServer.js"
import { failOnUnexpectedErrors } from "./support/unexpectedErrors.js"

const PASSWORD = "S3cretPassw0rd"

failOnUnexpectedErrors()

const tuning = {
  commandTimeout: Duration.millis(300),
  connectTimeout: Duration.millis(500),
  maxReconnectDelay: Duration.millis(100),
} as const

const server = (options?: Parameters<typeof startRedisServer>[0]) =>
  Effect.acquireRelease(
    Effect.promise(() => startRedisServer(options)),
    (s) => Effect.promise(() => s.stop()),
  )

const rawClient = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url)),
    (r) => Effect.sync(() => r.disconnect()),
  )

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** The failure of building `layer`, or a test failure if it builds. */
const buildFailure = <E>(layer: Layer.Layer<Cache, E>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
    if (Exit.isSuccess(exit)) throw new Error("the layer was expected to fail, and it built")
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure))
      throw new Error(`the layer died instead of failing: ${Cause.pretty(exit.cause)}`)
    return { error: failure.value, text: Cause.pretty(exit.cause) }
  })

const expectConnectError = (error: unknown, reason: CacheError["reason"]) => {
  expect(error).toBeInstanceOf(CacheError)
  const cacheError = error as CacheError
  expect(cacheError.operation).toBe("connect")
  expect(cacheError.reason).toBe(reason)
  return cacheError
}

const withEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

/** Polls `effect` until `done` holds for its outcome (fails the test after `limitMs`). */
const eventually = <A, E>(
  effect: Effect.Effect<A, E>,
  done: (outcome: Either.Either<A, E>) => boolean,
  limitMs = 5_000,
) =>
  Effect.gen(function* () {
    const start = Date.now()
    let last: Either.Either<A, E> | undefined
    while (Date.now() - start < limitMs) {
      last = yield* Effect.either(effect)
      if (done(last)) return last
      yield* sleep(50)
    }
    throw new Error(`condition not reached within ${limitMs} ms; last outcome: ${JSON.stringify(last)}`)
  })

const isCommandFailure = (detail: RegExp) => (outcome: Either.Either<unknown, CacheError>) =>
  Either.isLeft(outcome) && outcome.left.reason === "Command" && detail.test(outcome.left.detail ?? "")

describe("secrets in malformed URLs", () => {
  const withAt = `${PASSWORD.slice(0, 4)}@${PASSWORD.slice(4)}`
  const withSlashes = `${PASSWORD.slice(0, 4)}//${PASSWORD.slice(4)}`
  /** [URL, the password as ioredis would send it]. */
  const shapes: ReadonlyArray<readonly [string, string]> = [
    [`redis//:${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`redis:/:${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`redis:${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`//:${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`:${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`${PASSWORD}@127.0.0.1:6519`, PASSWORD],
    [`redis://user:${PASSWORD}@127.0.0.1:99999`, PASSWORD],
    [`redis://:${PASSWORD}@`, PASSWORD],
    [`REDIS://:${PASSWORD}@host:6379`, PASSWORD],
    [`redis://:${PASSWORD.slice(0, 4)}%40${PASSWORD.slice(4)}@host:6379`, withAt],
    [`redis://:${withAt}@host:6379`, withAt],
    [`redis://:${withSlashes}@host:6379`, withSlashes],
    [`redis://host:6379/0?password=${PASSWORD}`, PASSWORD],
    [`rediss :${PASSWORD}@host`, PASSWORD],
  ]

  it.each(shapes)("no text derived from %s carries its password", (url, password) => {
    const scrub = makeSecretScrubber(url)
    const texts = [
      `connect ENOENT ${url.replace(/^redis/, "")}`,
      `connect ENOENT //:${password}@127.0.0.1:6519`,
      `AUTH ${password}`,
      `Error: ${url}`,
      `WRONGPASS for ${encodeURIComponent(password)}`,
    ]
    for (const text of texts) {
      const scrubbed = scrub(text)
      expect(scrubbed).not.toContain(password)
      expect(scrubbed).not.toContain(encodeURIComponent(password))
    }
  })

  it("a password is found whichever way the URL is read", () => {
    expect(secretsOf(`redis//:${PASSWORD}@127.0.0.1:6519`)).toContain(PASSWORD)
    expect(secretsOf(`redis://:p%40ss@h`)).toContain("p@ss")
    // A well-formed URL without credentials has nothing to hide but itself.
    expect(secretsOf("redis://127.0.0.1:6379/2")).toStrictEqual(["redis://127.0.0.1:6379/2"])
  })

  it.live("the URL of the issue fails the layer naming the option, and a client on it logs no password", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const url = `redis//:${PASSWORD}@127.0.0.1:${redis.port}`
      const logs = captureLogs()
      const { error, text } = yield* buildFailure(
        RedisCache.layer({ url, ...tuning }).pipe(Layer.provide(logs.layer)),
      )
      const connect = expectConnectError(error, "InvalidArgument")
      expect(connect.detail).toBe("option url must start with redis:// or rediss://")
      for (const surface of [text, connect.message, JSON.stringify(connect), JSON.stringify(logs.entries)]) {
        expect(surface).not.toContain(PASSWORD)
      }

      // makeClient does not validate: ioredis reads the string as a Unix socket path and fails with ENOENT,
      // and the text it logs is scrubbed. (Before: `connect ENOENT //:S3cretPassw0rd@127.0.0.1:…`.)
      yield* RedisCache.makeClient({ url, ...tuning }).pipe(Effect.provide(logs.layer), Effect.scoped)
      const logged = JSON.stringify(logs.entries)
      expect(logged).toContain("ENOENT")
      expect(logged).not.toContain(PASSWORD)
    }).pipe(Effect.scoped),
  )
})

describe("URL validation", () => {
  const invalid: ReadonlyArray<readonly [string, string]> = [
    [`redis//:${PASSWORD}@127.0.0.1:6519`, "must start with redis:// or rediss://"],
    [`REDISS://:${PASSWORD}@127.0.0.1:6519`, "must start with redis:// or rediss://"],
    [`127.0.0.1:6379`, "must start with redis:// or rediss://"],
    [`redis://:${PASSWORD}@127.0.0.1:99999`, "is not a valid URL"],
    [`redis://:${PASSWORD}@127.0.0.1:notaport`, "is not a valid URL"],
    [`redis://:${PASSWORD}@127.0.0.1:0`, "has port 0"],
    [`redis://:${PASSWORD}@`, "is not a valid URL"],
    [`redis://:${PASSWORD}@127.0.0.1:6379/abc`, "has an invalid database"],
    [`redis://:${PASSWORD}@127.0.0.1:6379/1/2`, "has an invalid database"],
    [`redis://:${PASSWORD}@127.0.0.1:6379?db=x`, "has an invalid db parameter"],
    [`redis://:pa#${PASSWORD}@127.0.0.1:6379`, "contains '#'"],
    [`redis://:100%${PASSWORD}@127.0.0.1:6379`, "has a user or password with an invalid percent-encoding"],
  ]

  it.each(invalid)("%s: %s", (url, problem) => {
    expect(redisUrlProblem(url)).toContain(problem)
  })

  it.each([
    "redis://127.0.0.1:6379",
    "redis://localhost",
    `redis://:${PASSWORD}@127.0.0.1:6379/15`,
    "redis://app:p%40ss@[::1]:6380/0",
    "rediss://cache.example.com:6380?db=2",
  ])("%s is valid", (url) => {
    expect(redisUrlProblem(url)).toBeUndefined()
  })

  it.live(
    "layer: each malformed url fails the layer with InvalidArgument naming `url`, without its value",
    () =>
      Effect.gen(function* () {
        for (const [url, problem] of invalid) {
          const { error, text } = yield* buildFailure(RedisCache.layer({ url: Redacted.make(url) }))
          const connect = expectConnectError(error, "InvalidArgument")
          expect(connect.detail).toContain(`option url ${problem}`)
          expect(text).not.toContain(PASSWORD)
          expect(text).not.toContain("Invalid URL")
        }
      }),
  )

  it.live("layerFromEnv: a malformed REDIS_URL is a ConfigError naming REDIS_URL, not a bare TypeError", () =>
    Effect.gen(function* () {
      for (const [url, problem] of invalid) {
        const { error, text } = yield* buildFailure(RedisCache.layerFromEnv).pipe(
          withEnv([["REDIS_URL", url]]),
        )
        expect(error).not.toBeInstanceOf(CacheError)
        expect(text).toContain(`REDIS_URL ${problem}`)
        expect(text).not.toContain(PASSWORD)
        expect(text).not.toContain("TypeError")
      }
    }),
  )
})

describe("the database in the URL", () => {
  it.live("a database Redis cannot select fails the layer; nothing is written to DB 0", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const raw = yield* rawClient(redis.url)
      const logs = captureLogs()
      const { error, text } = yield* buildFailure(
        RedisCache.layer({ url: `redis://:@127.0.0.1:${redis.port}/99`, ...tuning }).pipe(
          Layer.provide(logs.layer),
        ),
      )
      const connect = expectConnectError(error, "Command")
      expect(connect.detail).toBe("database 99 cannot be selected: DB index is out of range")
      expect(text).toContain("database 99")
      expect(yield* Effect.promise(() => raw.dbsize())).toBe(0)
    }).pipe(Effect.scoped),
  )

  it.live(
    "the database is used; when a reconnect cannot select it, every operation fails, never on DB 0",
    () =>
      Effect.gen(function* () {
        let redis = yield* Effect.promise(() => startRedisServer({ args: ["--databases", "16"] }))
        yield* Effect.addFinalizer(() => Effect.promise(() => redis.stop()))
        const logs = captureLogs()
        const context = yield* Layer.build(
          RedisCache.layer({ url: `${redis.url}/5`, ...tuning }).pipe(Layer.provide(logs.layer)),
        )
        const cache = Context.get(context, Cache)
        yield* cache.set("db:k", "in five")
        const raw = yield* rawClient(`${redis.url}/5`)
        expect(yield* Effect.promise(() => raw.get("db:k"))).toBe("in five")
        raw.disconnect()

        // The same port, now with 4 databases: database 5 cannot be selected.
        yield* Effect.promise(() => redis.kill())
        redis = yield* Effect.promise(() =>
          startRedisServer({ port: redis.port, args: ["--databases", "4"] }),
        )
        const refused = yield* eventually(
          cache.set("db:k2", "v"),
          isCommandFailure(/database 5 cannot be selected/),
        )
        expect(Either.isLeft(refused) && refused.left.detail).toBe(
          "database 5 cannot be selected: DB index is out of range",
        )
        for (const operation of [
          cache.get("db:k"),
          cache.getMany(["db:k"]),
          cache.setMany({ "db:a": "1" }),
          cache.increment("db:n"),
          cache.delete("db:k"),
          cache.exists("db:k"),
          cache.expire("db:k", "1 minute"),
          cache.ttl("db:k"),
          cache.deletePattern("db:*"),
          cache.flush,
          cache.ping,
        ] as ReadonlyArray<Effect.Effect<unknown, CacheError>>) {
          const failure = yield* Effect.flip(operation)
          expect(failure.reason).toBe("Command")
          expect(failure.detail).toContain("database 5 cannot be selected")
        }
        const db0 = yield* rawClient(redis.url)
        expect(yield* Effect.promise(() => db0.dbsize())).toBe(0)
        expect(logs.entries.some((e) => e.level === "ERROR" && /cannot be used/.test(e.message))).toBe(true)

        // And back: a server where database 5 exists is used again.
        yield* Effect.promise(() => redis.kill())
        redis = yield* Effect.promise(() =>
          startRedisServer({ port: redis.port, args: ["--databases", "16"] }),
        )
        yield* eventually(cache.set("db:k3", "back"), Either.isRight)
        const raw5 = yield* rawClient(`${redis.url}/5`)
        expect(yield* Effect.promise(() => raw5.get("db:k3"))).toBe("back")
        expect(yield* Effect.promise(() => db0.dbsize())).toBe(0)
      }).pipe(Effect.scoped),
  )
})

describe("the Redis version", () => {
  it("redis_version is read from INFO and must be 7.0 or later", () => {
    expect(redisVersionOf("# Server\r\nredis_version:6.2.14\r\nredis_git_sha1:0\r\n")).toBe("6.2.14")
    expect(versionProblem("6.2.14")).toContain("needs Redis 7.0 or later")
    expect(versionProblem("5.0.7")).toContain("Redis 5.0.7 is too old")
    expect(versionProblem("7.0.0")).toBeUndefined()
    expect(versionProblem("7.2.4")).toBeUndefined()
    expect(versionProblem("8.0.1")).toBeUndefined()
    // Unknown (INFO not allowed to this user): let through.
    expect(versionProblem(undefined)).toBeUndefined()
  })

  it.live("a Redis 6.2 reachable at build fails the layer with a clear error", () =>
    Effect.gen(function* () {
      const fake = yield* Effect.acquireRelease(
        Effect.promise(() => startFakeRedisServer({ version: "6.2.0" })),
        (s) => Effect.promise(() => s.stop()),
      )
      const { error } = yield* buildFailure(
        RedisCache.layer({ url: `redis://127.0.0.1:${fake.port}`, ...tuning }),
      )
      const connect = expectConnectError(error, "Command")
      expect(connect.detail).toBe(
        "Redis 6.2.0 is too old: this cache needs Redis 7.0 or later (its Lua scripts use shebang flags)",
      )
      expect(fake.commands.some((args) => args[0]?.toUpperCase() === "INFO")).toBe(true)
    }).pipe(Effect.scoped),
  )

  it.live(
    "a Redis 6.2 first reached after the layer was built fails every operation with the same error",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(() => freePort())
        const cache = Context.get(
          yield* Layer.build(RedisCache.layer({ url: `redis://127.0.0.1:${port}`, ...tuning })),
          Cache,
        )
        expect((yield* Effect.flip(cache.get("k"))).reason).toBe("Connection")
        yield* Effect.acquireRelease(
          Effect.promise(() => startFakeRedisServer({ version: "6.2.0", port })),
          (s) => Effect.promise(() => s.stop()),
        )
        yield* eventually(cache.set("k", "v"), isCommandFailure(/Redis 6\.2\.0 is too old/))
        const failure = yield* Effect.flip(cache.get("k"))
        expect(failure.reason).toBe("Command")
        expect(failure.operation).toBe("get")
        expect(failure.key).toBe("k")
      }).pipe(Effect.scoped),
  )

  it.live("a real Redis 7 passes", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const cache = Context.get(yield* Layer.build(RedisCache.layer({ url: redis.url, ...tuning })), Cache)
      yield* cache.set("k", "v")
      expect(yield* cache.get("k")).toStrictEqual(Option.some("v"))
    }).pipe(Effect.scoped),
  )
})

describe("timeouts and other numbers", () => {
  const unreachable = "redis://127.0.0.1:1"

  it.live("a duration of 2^31 ms or more, zero, negative or infinite fails the layer naming the option", () =>
    Effect.gen(function* () {
      for (const name of ["commandTimeout", "connectTimeout", "maxReconnectDelay", "breakerCooldown"]) {
        for (const value of [2 ** 31, Duration.days(30), 0, -5, Duration.infinity] as const) {
          const { error } = yield* buildFailure(RedisCache.layer({ url: unreachable, [name]: value }))
          const connect = expectConnectError(error, "InvalidArgument")
          expect(connect.detail).toMatch(new RegExp(`^option ${name} must be`))
        }
      }
      for (const value of [0, 1.5, -1, Number.NaN]) {
        const { error } = yield* buildFailure(RedisCache.layer({ url: unreachable, breakerThreshold: value }))
        expect(expectConnectError(error, "InvalidArgument").detail).toBe(
          "option breakerThreshold must be a positive integer",
        )
      }
    }),
  )

  it.live("the largest timer Node holds is accepted", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const cache = Context.get(
        yield* Layer.build(
          RedisCache.layer({ url: redis.url, commandTimeout: MAX_TIMER_MS, breakerCooldown: MAX_TIMER_MS }),
        ),
        Cache,
      )
      yield* cache.set("k", "v")
      expect(yield* cache.get("k")).toStrictEqual(Option.some("v"))
    }).pipe(Effect.scoped),
  )

  it.live("a millisecond variable of 2^31 or more is a ConfigError naming the variable", () =>
    Effect.gen(function* () {
      for (const name of [
        "REDIS_COMMAND_TIMEOUT",
        "REDIS_CONNECT_TIMEOUT",
        "REDIS_MAX_RECONNECT_DELAY",
        "REDIS_BREAKER_COOLDOWN",
      ]) {
        const exit = yield* Effect.exit(RedisCache.config.pipe(withEnv([[name, String(2 ** 31)]])))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(String(Exit.isFailure(exit) && exit.cause)).toContain(`${name} must be a whole number`)
        const ok = yield* RedisCache.config.pipe(withEnv([[name, String(MAX_TIMER_MS)]]))
        expect(ok).toBeDefined()
      }
    }),
  )
})

describe("REDIS_URL empty", () => {
  it.effect("RedisCache.config reads an empty REDIS_URL as unset: the default URL", () =>
    Effect.gen(function* () {
      for (const value of ["", "  "]) {
        const options = yield* RedisCache.config.pipe(withEnv([["REDIS_URL", value]]))
        expect(Redacted.value(options.url as Redacted.Redacted<string>)).toBe("redis://127.0.0.1:6379")
      }
    }),
  )

  it.live("npm start's cache is the in-memory one when REDIS_URL is empty", () =>
    Effect.gen(function* () {
      const printed: Array<string> = []
      const console = {
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(args.join(" "))),
      }
      const cache = yield* Effect.provide(Cache, CacheLive).pipe(
        Effect.withConsole(console as never),
        withEnv([["REDIS_URL", ""]]),
      )
      yield* cache.set("k", "v")
      expect(printed).toStrictEqual(["Cache: in-memory (set REDIS_URL to run against Redis)"])
    }),
  )
})

describe("cluster seed nodes", () => {
  it.each([
    ["", "is empty"],
    ["   ", "is empty"],
    ["host:notaport", "has no valid port"],
    ["host:", "has no valid port"],
    ["host:0", "has no valid port"],
    ["host:65536", "has no valid port"],
    [":7000", "has no host"],
    ["::1:7000", "without brackets"],
  ])("%j %s", (node, problem) => {
    expect(parseSeedNode(node)).toContain(problem)
  })

  it("valid seed nodes", () => {
    expect(parseSeedNode(" 10.0.0.1:7000 ")).toStrictEqual({ host: "10.0.0.1", port: 7000 })
    expect(parseSeedNode("redis-a")).toStrictEqual({ host: "redis-a", port: 6379 })
    expect(parseSeedNode("[::1]:7001")).toStrictEqual({ host: "::1", port: 7001 })
  })

  it.effect("REDIS_CLUSTER_NODES empty, with an empty entry or a bad port is a ConfigError naming it", () =>
    Effect.gen(function* () {
      for (const [value, problem] of [
        ["", "entry 1 is empty"],
        ["host:notaport", "entry 1 has no valid port"],
        ["a:7000,,b:7001", "entry 2 is empty"],
        ["a:7000,b:99999", "entry 2 has no valid port"],
      ]) {
        const exit = yield* Effect.exit(
          RedisCache.clusterConfig.pipe(withEnv([["REDIS_CLUSTER_NODES", value!]])),
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(String(Exit.isFailure(exit) && exit.cause)).toContain(`REDIS_CLUSTER_NODES ${problem}`)
      }
      const ok = yield* RedisCache.clusterConfig.pipe(withEnv([["REDIS_CLUSTER_NODES", "a:7000, b:7001"]]))
      expect(ok.nodes).toStrictEqual([
        { host: "a", port: 7000 },
        { host: "b", port: 7001 },
      ])
    }),
  )

  it.effect("a malformed REDIS_URL does not fail the cluster configuration, which does not read it", () =>
    Effect.gen(function* () {
      const ok = yield* RedisCache.clusterConfig.pipe(
        withEnv([
          ["REDIS_CLUSTER_NODES", "a:7000"],
          ["REDIS_URL", "not a url"],
        ]),
      )
      expect(ok.nodes).toHaveLength(1)
    }),
  )

  it.live("layerCluster refuses bad nodes and timeouts with InvalidArgument", () =>
    Effect.gen(function* () {
      for (const [options, detail] of [
        [{ nodes: [] }, "option nodes must name at least one host:port"],
        [{ nodes: ["h:notaport"] }, "option nodes entry 1 has no valid port"],
        [{ nodes: [{ host: "h", port: 0 }] }, "option nodes entry 1 has a port outside 1-65535"],
        [{ nodes: ["h:7000"], commandTimeout: 2 ** 31 }, "option commandTimeout must be at most"],
      ] as const) {
        const { error } = yield* buildFailure(RedisCache.layerCluster(options))
        expect(expectConnectError(error, "InvalidArgument").detail).toContain(detail)
      }
    }),
  )
})

describe("layerConfig: Effect's Config.Wrap convention", () => {
  it.live("each option comes from the Config the caller gives; the rest take their defaults", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const raw = yield* rawClient(redis.url)
      const layer = RedisCache.layerConfig({
        url: Config.redacted("SESSIONS_REDIS_URL"),
        keyPrefix: Config.succeed("sessions:"),
        commandTimeout: Config.succeed("200 millis"),
      })
      const cache = Context.get(
        yield* Layer.build(layer).pipe(withEnv([["SESSIONS_REDIS_URL", redis.url]])),
        Cache,
      )
      yield* cache.set("k", "v")
      expect(yield* Effect.promise(() => raw.get("sessions:k"))).toBe("v")

      // A missing variable is the ConfigError; a bad value from a Config is the layer's InvalidArgument.
      const missing = yield* buildFailure(layer).pipe(withEnv([]))
      expect(missing.text).toContain("SESSIONS_REDIS_URL")
      const bad = yield* buildFailure(layer).pipe(withEnv([["SESSIONS_REDIS_URL", `redis//:${PASSWORD}@h`]]))
      expect(expectConnectError(bad.error, "InvalidArgument").detail).toBe(
        "option url must start with redis:// or rediss://",
      )
      expect(bad.text).not.toContain(PASSWORD)
    }).pipe(Effect.scoped),
  )

  it.live("a whole Config works too: layerConfig(RedisCache.config) is layerFromEnv", () =>
    Effect.gen(function* () {
      const redis = yield* server()
      const cache = Context.get(
        yield* Layer.build(RedisCache.layerConfig(RedisCache.config)).pipe(
          withEnv([
            ["REDIS_URL", redis.url],
            ["CACHE_KEY_PREFIX", "whole:"],
          ]),
        ),
        Cache,
      )
      yield* cache.set("k", "v")
      const raw = yield* rawClient(redis.url)
      expect(yield* Effect.promise(() => raw.get("whole:k"))).toBe("v")
    }).pipe(Effect.scoped),
  )
})
