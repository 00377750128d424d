/**
 * High availability: a Sentinel failover under load through `RedisCache.layerSentinel`, and a plain-URL layer
 * whose node is demoted to a replica. Every test starts its own `redis-server` and sentinel processes on free
 * loopback ports and stops them.
 */

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
import { Redis } from "ioredis"
import { Cache, type CacheError } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { cacheContract } from "./contract/cacheContract.js"
import { captureLogs } from "./support/fixtures.js"
import { forceFailover, masterAddress, startRedisSentinel } from "./support/redisSentinel.js"
import { freePort, startRedisServer } from "./support/redisServer.js"
import { failOnUnexpectedErrors } from "./support/unexpectedErrors.js"

const tuning = {
  commandTimeout: Duration.millis(300),
  connectTimeout: Duration.millis(500),
  maxReconnectDelay: Duration.millis(200),
  breakerThreshold: 3,
  breakerCooldown: Duration.millis(400),
} as const

/** How soon after the sentinels announce the new master every write must land there. */
const SWITCH_BOUND_MS = 3_000

failOnUnexpectedErrors()

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** A direct connection to a node or sentinel the test started, closed with the scope. */
const direct = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 })
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.sync(() => client.disconnect()),
  )

interface Outcome {
  readonly op: "set" | "get"
  readonly key: string
  readonly started: number
  readonly ended: number
  /** undefined: success (for a get, it also read back what was just written). */
  readonly failure?: { readonly reason: string; readonly detail: string } | undefined
}

const failureOf = (result: Either.Either<unknown, CacheError>) =>
  Either.isLeft(result) ? { reason: result.left.reason, detail: result.left.detail ?? "" } : undefined

describe("Sentinel", () => {
  it.live(
    "failover under 50 set/get loops: writes land on the new master within 3 s of the switch, no READONLY after",
    () =>
      Effect.gen(function* () {
        const deployment = yield* Effect.acquireRelease(
          Effect.promise(() => startRedisSentinel()),
          (d) => Effect.promise(() => d.stop()),
        )
        const { name, master, sentinels } = deployment
        const replica = deployment.replica!

        // The switch as the sentinels announce it: the first +switch-master on any of them.
        let switchAt: number | undefined
        let switchMessage = ""
        for (const sentinel of sentinels) {
          const subscriber = yield* direct(sentinel.port)
          subscriber.on("message", (_channel: string, message: string) => {
            if (switchAt === undefined) {
              switchAt = Date.now()
              switchMessage = message
            }
          })
          yield* Effect.promise(() => subscriber.subscribe("+switch-master"))
        }

        const cache = Context.get(
          yield* Layer.build(
            RedisCache.layerSentinel({
              sentinels: sentinels.map(({ host, port }) => ({ host, port })),
              name,
              ...tuning,
            }),
          ),
          Cache,
        )
        yield* cache.set("fo:warm", "v")

        const outcomes: Array<Outcome> = []
        let running = true
        const worker = (n: number) =>
          Effect.gen(function* () {
            for (let i = 0; running; i++) {
              const key = `fo:${n}:${i}`
              const value = `${n}:${i}`
              let started = Date.now()
              const set = yield* Effect.either(cache.set(key, value, { ttl: "10 minutes" }))
              outcomes.push({ op: "set", key, started, ended: Date.now(), failure: failureOf(set) })
              started = Date.now()
              const get = yield* Effect.either(cache.get(key))
              const read =
                Either.isRight(get) && Either.isRight(set) && !Option.contains(get.right, value)
                  ? { reason: "Mismatch", detail: `read ${JSON.stringify(get.right)}` }
                  : failureOf(get)
              outcomes.push({ op: "get", key, started, ended: Date.now(), failure: read })
              yield* sleep(1)
            }
          })
        const load = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 50 }, (_, n) => worker(n)),
            { concurrency: "unbounded", discard: true },
          ),
        )
        yield* sleep(500)
        const failoverAt = Date.now()
        yield* Effect.promise(() => forceFailover(sentinels[0]!.port, name))
        while (switchAt === undefined && Date.now() - failoverAt < 15_000) yield* sleep(10)
        expect(switchAt, "no +switch-master within 15 s of SENTINEL FAILOVER").toBeDefined()
        const switched = switchAt!
        expect(switchMessage).toBe(`${name} 127.0.0.1 ${master.port} 127.0.0.1 ${replica.port}`)
        // Load continues well past the bound, so a late READONLY or a write to the old master would show.
        yield* sleep(SWITCH_BOUND_MS + 3_000)
        running = false
        yield* load.await

        const newMaster = yield* direct(replica.port)
        const sets = outcomes.filter((o) => o.op === "set")
        const acknowledged = sets.filter((o) => o.failure === undefined && o.started >= switched)
        const present = new Set<string>()
        for (let i = 0; i < acknowledged.length; i += 1_000) {
          const keys = acknowledged.slice(i, i + 1_000).map((o) => o.key)
          const values = yield* Effect.promise(() => newMaster.mget(...keys))
          keys.forEach((key, j) => {
            if (values[j] !== null) present.add(key)
          })
        }

        // Writes reach the new master within the bound.
        const firstOnNewMaster = acknowledged
          .filter((o) => present.has(o.key))
          .reduce((first, o) => Math.min(first, o.ended), Number.POSITIVE_INFINITY)
        expect(firstOnNewMaster - switched).toBeLessThan(SWITCH_BOUND_MS)
        // After the bound: every operation succeeds, every acknowledged write is on the new master, and
        // every read returns what was just written.
        const late = outcomes.filter((o) => o.started >= switched + SWITCH_BOUND_MS)
        expect(late.filter((o) => o.op === "set").length).toBeGreaterThan(500)
        expect(late.filter((o) => o.failure !== undefined)).toStrictEqual([])
        expect(late.filter((o) => o.op === "set" && !present.has(o.key)).map((o) => o.key)).toStrictEqual([])
        // No READONLY failure later than the bound, whenever the operation started.
        const readOnly = outcomes.filter((o) => o.failure?.detail.startsWith("READONLY"))
        expect(readOnly.filter((o) => o.ended > switched + SWITCH_BOUND_MS)).toStrictEqual([])
        // Whatever failed did so as an outage (Connection/Timeout), never as a refused command. (A read that
        // missed a write the old master acknowledged just before the switch is the loss the README states.)
        for (const o of outcomes) {
          if (o.failure !== undefined && o.failure.reason !== "Mismatch") {
            expect(["Connection", "Timeout"]).toContain(o.failure.reason)
          }
        }

        // A value written now is read back from the new master directly, and the sentinels agree on it.
        yield* cache.set("fo:after", "on the new master")
        expect(yield* Effect.promise(() => newMaster.get("fo:after"))).toBe("on the new master")
        expect(yield* Effect.promise(() => masterAddress(sentinels[2]!.port, name))).toStrictEqual({
          host: "127.0.0.1",
          port: replica.port,
        })
      }).pipe(Effect.scoped),
    60_000,
  )

  it.live(
    "a plain-URL layer on a node demoted to replica: READONLY is a Connection failure for the breaker",
    () =>
      Effect.gen(function* () {
        const node = yield* Effect.acquireRelease(
          Effect.promise(() => startRedisServer()),
          (s) => Effect.promise(() => s.stop()),
        )
        const other = yield* Effect.acquireRelease(
          Effect.promise(() => startRedisServer()),
          (s) => Effect.promise(() => s.stop()),
        )
        const logs = captureLogs()
        const cache = Context.get(
          yield* Layer.build(RedisCache.layer({ url: node.url, ...tuning }).pipe(Layer.provide(logs.layer))),
          Cache,
        )
        yield* cache.set("demoted:k", "v")
        const admin = yield* direct(node.port)
        const connectionsBefore = yield* Effect.promise(() => admin.info("stats"))
        yield* Effect.promise(() => admin.replicaof("127.0.0.1", String(other.port)))

        const first = yield* Effect.flip(cache.set("demoted:k", "w"))
        expect(first.reason).toBe("Connection")
        expect(first.detail).toBe("READONLY You can't write against a read only replica.")
        // Every further failure counts too: after `breakerThreshold` outage failures the breaker is open.
        for (let i = 1; i < tuning.breakerThreshold; i++) {
          expect((yield* Effect.flip(cache.set("demoted:k", "w"))).reason).toBe("Connection")
        }
        const start = Date.now()
        const open = yield* Effect.flip(cache.set("demoted:k", "w"))
        expect(Date.now() - start).toBeLessThan(50)
        expect(open.reason).toBe("Connection")
        expect(open.detail).toContain("circuit breaker open")

        // READONLY made the client drop that connection and connect again.
        const connectionsOf = (info: string) => Number(/total_connections_received:(\d+)/.exec(info)?.[1])
        yield* sleep(300)
        const connectionsAfter = yield* Effect.promise(() => admin.info("stats"))
        expect(connectionsOf(connectionsAfter)).toBeGreaterThan(connectionsOf(connectionsBefore))

        // Promoted again, the node takes writes once the breaker lets a probe through.
        yield* Effect.promise(() => admin.replicaof("NO", "ONE"))
        const recoveredBy = Date.now() + 3_000
        let recovered = false
        while (!recovered && Date.now() < recoveredBy) {
          recovered = Either.isRight(yield* Effect.either(cache.set("demoted:k", "again")))
          if (!recovered) yield* sleep(50)
        }
        expect(recovered).toBe(true)
        expect(yield* Effect.promise(() => admin.get("demoted:k"))).toBe("again")
      }).pipe(Effect.scoped),
  )
})

// The whole Cache contract through the sentinel layer (one sentinel, no replica: nothing fails over here).
cacheContract(
  "RedisCache through Sentinel",
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.promise(() => startRedisSentinel({ sentinels: 1, replica: false })),
        (d) => Effect.promise(() => d.stop()),
      ),
      (d) =>
        RedisCache.layerSentinel({
          sentinels: d.sentinels.map(({ host, port }) => ({ host, port })),
          name: d.name,
          keyPrefix: "app:",
        }),
    ),
  ),
  { elapse: (ms) => sleep(ms), realTime: true },
)

describe("Sentinel credentials and outages", () => {
  const nodePassword = "node-S3CRET-pw"
  const sentinelPassword = "sentinel-S3CRET-pw"

  it.live("each password goes where it belongs; a wrong one is Connection and no secret is printed", () =>
    Effect.gen(function* () {
      const deployment = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startRedisSentinel({ sentinels: 1, replica: false, password: nodePassword, sentinelPassword }),
        ),
        (d) => Effect.promise(() => d.stop()),
      )
      const base = {
        sentinels: deployment.sentinels.map(({ host, port }) => ({ host, port })),
        name: deployment.name,
        db: 2,
        ...tuning,
      }
      const build = (password: string, sentinel: string) => {
        const logs = captureLogs()
        return Effect.map(
          Layer.build(
            RedisCache.layerSentinel({
              ...base,
              password: Redacted.make(password),
              sentinelPassword: Redacted.make(sentinel),
            }).pipe(Layer.provide(logs.layer)),
          ),
          (context) => ({ cache: Context.get(context, Cache), logs }),
        )
      }

      const right = yield* build(nodePassword, sentinelPassword)
      yield* right.cache.set("auth:k", "v")
      expect(yield* right.cache.get("auth:k")).toStrictEqual(Option.some("v"))
      const inDb2 = yield* Effect.promise(async () => {
        const client = new Redis({
          port: deployment.master.port,
          host: "127.0.0.1",
          password: nodePassword,
          db: 2,
        })
        try {
          return await client.get("auth:k")
        } finally {
          client.disconnect()
        }
      })
      expect(inDb2).toBe("v")

      for (const [password, sentinel] of [
        ["wrong-node-pw", sentinelPassword],
        [nodePassword, "wrong-sentinel-pw"],
      ] as const) {
        const { cache, logs } = yield* build(password, sentinel)
        const error = yield* Effect.flip(cache.set("auth:k", "w"))
        expect(error.reason).toBe("Connection")
        for (const text of [
          error.message,
          String(error),
          JSON.stringify(error),
          JSON.stringify(logs.entries),
        ]) {
          for (const secret of [nodePassword, sentinelPassword, password, sentinel]) {
            expect(text).not.toContain(secret)
          }
        }
      }
    }).pipe(Effect.scoped),
  )

  it.live("no sentinel reachable: the layer builds, fails fast, and closes promptly", () =>
    Effect.gen(function* () {
      const ports = [yield* Effect.promise(freePort), yield* Effect.promise(freePort)]
      const logs = captureLogs()
      const scope = yield* Scope.make()
      const start = Date.now()
      const cache = Context.get(
        yield* Layer.buildWithScope(
          RedisCache.layerSentinel({
            sentinels: ports.map((port) => ({ host: "127.0.0.1", port })),
            name: "mymaster",
            ...tuning,
          }).pipe(Layer.provide(logs.layer)),
          scope,
        ),
        Cache,
      )
      expect(Date.now() - start).toBeLessThan(2_000)
      expect(logs.entries.some((e) => e.level === "WARN" && e.message.includes("not reachable"))).toBe(true)
      const failedAt = Date.now()
      expect((yield* Effect.flip(cache.get("down:k"))).reason).toBe("Connection")
      expect(Date.now() - failedAt).toBeLessThan(100)
      const closing = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - closing).toBeLessThan(2 * 300 + 700)
    }),
  )
})

describe("sentinelConfig", () => {
  const read = (env: Record<string, string>) =>
    RedisCache.sentinelConfig.pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.either,
    )

  it.effect("reads the sentinels, the master name, the passwords (redacted) and the tuning variables", () =>
    Effect.gen(function* () {
      const options = Either.getOrThrow(
        yield* read({
          REDIS_SENTINELS: "10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381",
          REDIS_SENTINEL_NAME: "mymaster",
          REDIS_SENTINEL_PASSWORD: "sentinel-s3cret",
          REDIS_PASSWORD: "data-s3cret",
          REDIS_COMMAND_TIMEOUT: "250",
          CACHE_KEY_PREFIX: "app:",
        }),
      )
      expect(options.sentinels).toStrictEqual([
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26380 },
        { host: "::1", port: 26381 },
      ])
      expect(options.name).toBe("mymaster")
      expect(options.keyPrefix).toBe("app:")
      expect(Duration.toMillis(Duration.decode(options.commandTimeout!))).toBe(250)
      expect(Redacted.value(options.password as Redacted.Redacted<string>)).toBe("data-s3cret")
      expect(Redacted.value(options.sentinelPassword as Redacted.Redacted<string>)).toBe("sentinel-s3cret")
      expect(JSON.stringify(options)).not.toMatch(/s3cret/)
      expect("url" in options).toBe(false)
    }),
  )

  it.effect("rejects a missing or malformed REDIS_SENTINELS with a ConfigError naming it", () =>
    Effect.gen(function* () {
      for (const sentinels of [
        "",
        " , ",
        "10.0.0.1",
        "10.0.0.1:notaport",
        "10.0.0.1:0",
        "10.0.0.1:65536",
        ":26379",
      ]) {
        const result = yield* read({ REDIS_SENTINELS: sentinels, REDIS_SENTINEL_NAME: "mymaster" })
        expect(Either.isLeft(result), sentinels).toBe(true)
        expect(String(Either.flip(result).pipe(Either.getOrThrow))).toContain("REDIS_SENTINELS")
      }
      const noName = yield* read({ REDIS_SENTINELS: "10.0.0.1:26379" })
      expect(String(Either.flip(noName).pipe(Either.getOrThrow))).toContain("REDIS_SENTINEL_NAME")
    }),
  )
})
