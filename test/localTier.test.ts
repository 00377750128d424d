/**
 * The local tier (`localCache`) against its own redis-server processes: invalidation by other clients (a raw
 * ioredis client and a second RedisCache "instance"), read-your-writes for every write, the race of an
 * invalidation overtaking a GET reply (forced with a proxy that holds replies), the connections and the
 * server being killed, restarted, paused and flushed, expiry, bounds and metrics. The pure part (LRU, race
 * guard, per-node state) is also tested on its own.
 */
import net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Either, Exit, Fiber, Layer, Metric, Option } from "effect"
import { Redis } from "ioredis"
import { Cache, CacheMetrics } from "../src/index.js"
import { makeLocalTier } from "../src/internal/localTier.js"
import { makeTracking } from "../src/internal/tracking.js"
import { RedisCache } from "../src/redis.js"
import { commandCalls, serverCpuMicros } from "./support/commandStats.js"
import { captureLogs } from "./support/fixtures.js"
import { startRedisCluster } from "./support/redisCluster.js"
import { forceFailover, startRedisSentinel } from "./support/redisSentinel.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"
import { failOnUnexpectedErrors } from "./support/unexpectedErrors.js"

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

// Nothing the tier's connections do (kills, restarts, refusals) may surface as an unhandled rejection or an
// uncaught error.
failOnUnexpectedErrors()

let counter = 0
const uniqueName = (label: string) => `local-${label}-${++counter}`

const localCount = (name: string, result: "hit" | "miss") =>
  Metric.value(
    CacheMetrics.localLookups.pipe(Metric.tagged("cache", name), Metric.tagged("result", result)),
  ).pipe(Effect.map((state) => state.count))

/** A Cache with the local tier, in the test's scope. */
const localCache = (options: RedisCache.RedisCacheOptions & { readonly name: string }) =>
  Effect.map(
    Layer.build(
      RedisCache.layer({
        commandTimeout: Duration.millis(300),
        maxReconnectDelay: Duration.millis(100),
        breakerCooldown: Duration.millis(200),
        localCache: { maxEntries: 10_000 },
        // The tests read the local tier's counter.
        metrics: true,
        ...options,
      }),
    ),
    Context.get(Cache),
  )

/** The same Cache without the local tier (no CLIENT TRACKING on its connection), in the test's scope. */
const plainCache = (options: RedisCache.RedisCacheOptions) =>
  Effect.map(
    Layer.build(RedisCache.layer({ commandTimeout: Duration.millis(300), ...options })),
    Context.get(Cache),
  )

/**
 * The least CPU (ms) the server behind `client` spent on each of two workloads, run in turn `rounds` times:
 * what tracking adds to Redis's work, compared in one test, on one machine, whatever its speed.
 */
const leastServerCpu = (
  client: Redis,
  rounds: number,
  tracked: (round: number) => Effect.Effect<void>,
  plain: (round: number) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const cpuMs = (work: Effect.Effect<void>) =>
      Effect.gen(function* () {
        const before = yield* Effect.promise(() => serverCpuMicros(client))
        yield* work
        return ((yield* Effect.promise(() => serverCpuMicros(client))) - before) / 1000
      })
    let trackedMs = Number.POSITIVE_INFINITY
    let plainMs = Number.POSITIVE_INFINITY
    for (let round = 0; round < rounds; round++) {
      trackedMs = Math.min(trackedMs, yield* cpuMs(tracked(round)))
      plainMs = Math.min(plainMs, yield* cpuMs(plain(round)))
    }
    return { trackedMs, plainMs }
  })

/** Reads `key` until a read is answered by the local tier (tracking is established), within 3 s. */
const untilLocal = (cache: Cache.Service, name: string, key: string, withinMs = 3_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + withinMs
    for (;;) {
      yield* Effect.either(cache.get(key))
      const before = yield* localCount(name, "hit")
      yield* Effect.either(cache.get(key))
      if ((yield* localCount(name, "hit")) > before) return
      if (Date.now() > deadline) throw new Error(`the local tier of ${name} never answered for ${key}`)
      yield* sleep(20)
    }
  })

/** Whether the next read of `key` is answered locally (it reads `key` once). */
const servedLocally = (cache: Cache.Service, name: string, key: string) =>
  Effect.gen(function* () {
    const before = yield* localCount(name, "hit")
    const value = yield* Effect.either(cache.get(key))
    return { local: (yield* localCount(name, "hit")) > before, value }
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/**
 * A proxy that can hold what the server sends on data connections (not on the invalidation connection,
 * recognised by its CLIENT SETNAME), to deliver a reply after an invalidation sent later.
 */
const startHoldingProxy = (upstreamPort: number) =>
  new Promise<{
    port: number
    hold: () => void
    release: () => void
    close: () => void
  }>((resolve) => {
    let holding = false
    const flows: Array<{ invalidation: boolean; held: Array<Buffer>; client: net.Socket }> = []
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(upstreamPort, "127.0.0.1")
      sockets.add(client)
      sockets.add(upstream)
      const flow = { invalidation: false, held: [] as Array<Buffer>, client }
      flows.push(flow)
      client.on("data", (data) => {
        if (data.includes("epc-invalidate-")) flow.invalidation = true
        upstream.write(data)
      })
      upstream.on("data", (data) => {
        if (holding && !flow.invalidation) flow.held.push(data)
        else client.write(data)
      })
      const end = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on("close", end)
      upstream.on("close", end)
      client.on("error", () => {})
      upstream.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        hold: () => {
          holding = true
        },
        release: () => {
          holding = false
          for (const flow of flows) for (const data of flow.held.splice(0)) flow.client.write(data)
        },
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        },
      })
    })
  })

describe("local tier on one node", () => {
  let server: RedisServer
  let other: Redis
  beforeAll(async () => {
    server = await startRedisServer({ args: ["--enable-debug-command", "yes"] })
    other = new Redis(server.port, "127.0.0.1")
  }, 30_000)
  afterAll(async () => {
    other.disconnect()
    await server.stop()
  })

  it.live("every write by another client reaches the reader's local tier, which serves it again", () =>
    Effect.gen(function* () {
      const name = uniqueName("latency")
      const reader = yield* localCache({ url: server.url, name })
      yield* Effect.promise(() => other.set("lat:k", "v0"))
      yield* untilLocal(reader, name, "lat:k")
      const latencies: Array<number> = []
      const roundTrips: Array<number> = []
      for (let i = 1; i <= 300; i++) {
        // The value is cached and served locally before the write.
        expect(yield* servedLocally(reader, name, "lat:k")).toStrictEqual({
          local: true,
          value: Either.right(Option.some(`v${i - 1}`)),
        })
        const started = performance.now()
        yield* Effect.promise(() => other.set("lat:k", `v${i}`))
        for (;;) {
          if (Option.getOrUndefined(yield* reader.get("lat:k")) === `v${i}`) break
          if (performance.now() - started > 1_000) throw new Error(`v${i} never reached the reader`)
          yield* Effect.promise(tick)
        }
        latencies.push(performance.now() - started)
        // Read again so the next round starts from a local entry.
        yield* reader.get("lat:k")
        // The machine's own noise, for the report: one plain round trip of the writer.
        const rtt = performance.now()
        yield* Effect.promise(() => other.get("lat:k"))
        roundTrips.push(performance.now() - rtt)
      }
      const p99 = percentile(latencies, 99)
      console.log(
        `local-invalidation: p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${Math.max(...latencies).toFixed(3)} ms; a plain GET round trip: p50 ${percentile(roundTrips, 50).toFixed(3)} ms, p99 ${percentile(roundTrips, 99).toFixed(3)} ms`,
      )
      // What is asserted is above: every write reached the reader (or the loop fails past 1 s), and the
      // next round found the new value served from the local tier. The 5 ms p99 is a performance target,
      // the bench row `local-invalidation-p99-ms`; asserted here, it failed whenever other work loaded
      // the machine (7.7 ms once, with a plain round trip's own p99 at 2.3 ms).
    }).pipe(Effect.scoped),
  )

  it.live(
    "the commands: tracking in the default mode, redirected to the subscribed connection; reads as one transaction",
    () =>
      Effect.gen(function* () {
        const monitor = yield* Effect.acquireRelease(
          Effect.promise(() => new Redis(server.port, "127.0.0.1").monitor()),
          (client) => Effect.sync(() => client.disconnect()),
        )
        const commands: Array<string> = []
        // Commands run inside scripts are shown too, from source "lua": left out.
        monitor.on("monitor", (_time: string, args: Array<string>, source: string) => {
          if (source !== "lua") commands.push(args.join(" ").toLowerCase())
        })
        const name = uniqueName("commands")
        const cache = yield* localCache({ url: server.url, name, keyPrefix: "mon:" })
        yield* cache.set("k", "v")
        yield* untilLocal(cache, name, "k")
        const list = yield* Effect.promise(() => other.client("LIST") as Promise<string>)
        const invalidationId = /^id=(\d+) .*name=epc-invalidate-/m.exec(list)![1]!
        expect(commands).toContain("subscribe __redis__:invalidate")
        expect(commands).toContain(`client tracking on redirect ${invalidationId}`)
        expect(commands.filter((c) => c.startsWith("client tracking"))).toStrictEqual([
          `client tracking on redirect ${invalidationId}`,
        ])
        // Until tracking is on, a read is a plain MGET (nothing is kept); from then on a miss is one
        // transaction: MGET, then PTTL, of the prefixed key. No script: see the next test.
        const tracking = commands.indexOf(`client tracking on redirect ${invalidationId}`)
        const reads = commands
          .slice(tracking)
          .filter((c) => /^(get|pttl|mget|evalsha|eval|multi|exec)\b/.test(c))
        expect(reads.length).toBeGreaterThan(0)
        expect(reads.length % 4).toBe(0)
        for (let i = 0; i < reads.length; i += 4) {
          expect(reads.slice(i, i + 4)).toStrictEqual(["multi", "mget mon:k", "pttl mon:k", "exec"])
        }
        expect(commands.join("\n")).not.toMatch(/noloop|bcast|optin/)
      }).pipe(Effect.scoped),
  )

  it.live(
    "getMany of 10,000 keys within the command timeout, before and after tracking: reads cost Redis linear time",
    () =>
      Effect.gen(function* () {
        // A script reading n keys (MGET, then a PTTL each) costs Redis n² tracking work: Redis 7 records
        // every key the script declares for every command it runs. With 1,000 keys per script that was
        // 104 ms of Redis time per read, and this getMany timed out once tracking was on.
        const keysOf = (round: number) => Array.from({ length: 10_000 }, (_, i) => `many:${round}:${i}`)
        const all = [0, 1, 2].flatMap(keysOf)
        yield* Effect.promise(() => other.mset("many:probe", "v", ...all.flatMap((key) => [key, "v"])))
        const name = uniqueName("many")
        const cache = yield* localCache({ url: server.url, name, commandTimeout: Duration.millis(500) })
        const plain = yield* plainCache({ url: server.url, commandTimeout: Duration.millis(500) })
        yield* untilLocal(cache, name, "many:probe")
        // Three reads of 10,000 keys, through the tier (the first reads Redis, the others are local) and
        // without it (three MGETs).
        const readAll = (cache: Cache.Service, keys: ReadonlyArray<string>) =>
          Effect.gen(function* () {
            for (let pass = 0; pass < 3; pass++) {
              const found = yield* Effect.orDie(cache.getMany(keys))
              const values = Array.from(found.values(), (value) => Option.getOrUndefined(value))
              expect(values.filter((value) => value === "v")).toHaveLength(keys.length)
            }
          })
        const { trackedMs, plainMs } = yield* leastServerCpu(
          other,
          3,
          (round) => readAll(cache, keysOf(round)),
          (round) => readAll(plain, keysOf(round)),
        )
        expect(yield* localCount(name, "hit")).toBeGreaterThanOrEqual(20_000)
        // Redis's CPU here, least of three rounds: 13-17 ms through the tier (an MGET and a PTTL a key)
        // against 6-9 ms without it (an MGET). With the script: 1,027 ms of Redis time for one round.
        expect(trackedMs).toBeLessThan(3 * plainMs + 25)
        yield* Effect.promise(() => other.del("many:probe", ...all))
      }).pipe(Effect.scoped),
  )

  it.live("increments with a ttl on a tracking connection cost Redis linear time", () =>
    Effect.gen(function* () {
      // The write script found out whether an INCRBY created its key with EXISTS; on a connection with
      // CLIENT TRACKING on, each read-only command a script runs records every key of the script, so a
      // batch of n increments did n² tracking work.
      const name = uniqueName("incr")
      const cache = yield* localCache({ url: server.url, name, keyPrefix: "incr:" })
      const plain = yield* plainCache({ url: server.url, keyPrefix: "incr-plain:" })
      yield* cache.set("k", "v")
      yield* untilLocal(cache, name, "k")
      // 6,400 increments with a ttl, each of a key it creates, at once (batches of up to 128).
      const keysOf = (round: number) => Array.from({ length: 6_400 }, (_, i) => `c:${round}:${i}`)
      const incrementAll = (cache: Cache.Service, round: number) =>
        Effect.gen(function* () {
          const values = yield* Effect.forEach(
            keysOf(round),
            (key) => Effect.orDie(cache.increment(key, 2, { ttl: "1 minute" })),
            { concurrency: "unbounded" },
          )
          expect(values.filter((value) => value === 2)).toHaveLength(values.length)
        })
      const { trackedMs, plainMs } = yield* leastServerCpu(
        other,
        5,
        (round) => incrementAll(cache, round),
        (round) => incrementAll(plain, round),
      )
      // Redis's CPU here, least of five rounds: 26-38 ms on the tracking connection against 20-28 ms without
      // tracking (1.1-1.6 times). With EXISTS put back in the script: 64-76 ms against 17-28 (2.7-3.9 times;
      // when it was found, its batches timed out at 300 ms).
      expect(trackedMs).toBeLessThan(1.6 * plainMs + 10)
      const ttl = yield* Effect.promise(() => other.pttl("incr:c:0:0"))
      expect(ttl).toBeGreaterThan(50_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
      for (const prefix of ["incr:", "incr-plain:"]) {
        yield* Effect.promise(() =>
          other.del(...[0, 1, 2, 3, 4].flatMap(keysOf).map((key) => `${prefix}${key}`)),
        )
      }
    }).pipe(Effect.scoped),
  )

  it.live("a busy event loop does not make the heartbeat drop a healthy invalidation connection", () =>
    Effect.gen(function* () {
      // Under CPU load the loop turns late: a heartbeat's PONG can sit unread in the socket when its 300 ms
      // timer fires, since timers run before I/O in a turn. A plain timer then took the connection for a
      // silent one: it dropped every local entry and replaced the connection, under load.
      const name = uniqueName("busy")
      const cache = yield* localCache({ url: server.url, name, keyPrefix: "busy:" })
      yield* cache.set("k", "v")
      yield* untilLocal(cache, name, "k")
      const invalidationIds = Effect.promise(async () =>
        ((await other.client("LIST")) as string)
          .split("\n")
          .filter((line) => line.includes(`name=epc-invalidate-`))
          .map((line) => /^id=(\d+)/.exec(line)![1]!),
      )
      const before = yield* invalidationIds
      // Four seconds of 400 ms synchronous stretches, each followed by one turn of the loop: every
      // heartbeat (once a second) is sent in such a turn and its reply read only after the next stretch.
      const end = Date.now() + 4_000
      while (Date.now() < end) {
        const until = Date.now() + 400
        while (Date.now() < until) {}
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
      yield* sleep(50)
      const after = yield* invalidationIds
      expect(after.filter((id) => before.includes(id)).length).toBe(before.length)
      const hits = yield* localCount(name, "hit")
      expect(yield* cache.get("k")).toStrictEqual(Option.some("v"))
      expect(yield* localCount(name, "hit")).toBe(hits + 1)
    }).pipe(Effect.scoped),
  )

  it.live("an invalidation connection lost during the handshake is not taken for a refusal", () =>
    Effect.gen(function* () {
      // The race seen once at startup under load: the invalidation connection was replaced (its heartbeat
      // timed out while the event loop was busy) between reading its id and `CLIENT TRACKING … REDIRECT id`,
      // which Redis then answers "ERR The client ID you want redirect to does not exist". That is not a
      // refusal: no warning that the tier is bypassed, and the tier works again at once.
      const data = new Redis(server.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => data.disconnect()))
      const call = data.call.bind(data) as (...args: Array<string>) => Promise<unknown>
      let killed: string | undefined
      ;(data as unknown as { call: (...args: Array<string>) => Promise<unknown> }).call = (...args) => {
        if (killed === undefined && args[0] === "CLIENT" && args[1] === "TRACKING") {
          killed = args[4]!
          return other.client("KILL", "ID", killed).then(() => call(...args))
        }
        return call(...args)
      }
      const tier = makeLocalTier({ maxEntries: 10, ttlMs: undefined, now: () => performance.now() })
      const warnings: Array<string> = []
      const tracking = yield* makeTracking(tier, () => data, {
        timeoutMs: 300,
        maxReconnectDelayMs: 100,
        heartbeatMs: 1_000,
        warn: (message, _node, reason) => warnings.push(`${message}: ${reason}`),
      })
      tracking.ensure("")
      const start = Date.now()
      while (!tier.isEnabled("") && Date.now() - start < 3_000) yield* sleep(10)
      expect(killed).toBeDefined()
      expect(tier.isEnabled("")).toBe(true)
      expect(warnings).toStrictEqual([])
    }).pipe(Effect.scoped),
  )

  it.live("two instances: each sees the other's writes through its local tier, getMany and getJson too", () =>
    Effect.gen(function* () {
      const nameA = uniqueName("a")
      const nameB = uniqueName("b")
      const a = yield* localCache({ url: server.url, name: nameA, keyPrefix: "two:" })
      const b = yield* localCache({ url: server.url, name: nameB, keyPrefix: "two:" })
      yield* a.setJson("j", { n: 1 })
      yield* a.set("s", "a1")
      yield* untilLocal(a, nameA, "s")
      yield* untilLocal(b, nameB, "s")
      expect(yield* b.getJson("j")).toStrictEqual(Option.some({ n: 1 }))
      const hitsBefore = yield* localCount(nameB, "hit")
      expect(yield* b.getMany(["s", "j", "none"])).toStrictEqual(
        new Map([
          ["s", Option.some("a1")],
          ["j", Option.some('{"n":1}')],
          ["none", Option.none()],
        ]),
      )
      expect(yield* b.getJson("j")).toStrictEqual(Option.some({ n: 1 }))
      expect((yield* localCount(nameB, "hit")) - hitsBefore).toBeGreaterThanOrEqual(3)

      yield* b.set("s", "b2")
      yield* b.setJson("j", { n: 2 })
      yield* b.set("none", "now")
      const seen = (cache: Cache.Service) =>
        Effect.gen(function* () {
          const deadline = Date.now() + 1_000
          for (;;) {
            const many = yield* cache.getMany(["s", "j", "none"])
            const json = yield* cache.getJson("j")
            if (
              Option.getOrUndefined(many.get("s")!) === "b2" &&
              Option.getOrUndefined(many.get("none")!) === "now" &&
              (Option.getOrUndefined(json) as { n: number } | undefined)?.n === 2
            )
              return
            if (Date.now() > deadline) throw new Error("a never saw b's writes")
            yield* sleep(1)
          }
        })
      yield* seen(a)
      yield* seen(b)
    }).pipe(Effect.scoped),
  )

  it.live("a read is looked up when it runs, not when it is built: a read run again sees later writes", () =>
    Effect.gen(function* () {
      const name = uniqueName("rerun")
      const reader = yield* localCache({ url: server.url, name })
      yield* Effect.promise(() => other.mset("rerun:a", '"a0"', "rerun:b", '"b0"'))
      yield* untilLocal(reader, name, "rerun:a")
      yield* untilLocal(reader, name, "rerun:b")
      // Built once, while both keys are served locally; run before and after another client's writes, as
      // `Effect.repeat`, `Effect.retry` or a polling loop run one Effect value again and again.
      const get = reader.get("rerun:a")
      const getJson = reader.getJson("rerun:a")
      const getMany = reader.getMany(["rerun:a", "rerun:b"])
      const lookupsBuilt = (yield* localCount(name, "hit")) + (yield* localCount(name, "miss"))
      expect(yield* get).toStrictEqual(Option.some('"a0"'))
      expect(yield* getJson).toStrictEqual(Option.some("a0"))
      expect(yield* getMany).toStrictEqual(
        new Map([
          ["rerun:a", Option.some('"a0"')],
          ["rerun:b", Option.some('"b0"')],
        ]),
      )
      // Four lookups, all counted when they ran: none when the reads were built.
      expect((yield* localCount(name, "hit")) + (yield* localCount(name, "miss")) - lookupsBuilt).toBe(4)

      yield* Effect.promise(() => other.mset("rerun:a", '"a1"', "rerun:b", '"b1"'))
      const deadline = Date.now() + 1_000
      while (Option.getOrUndefined(yield* reader.get("rerun:b")) !== '"b1"') {
        if (Date.now() > deadline) throw new Error("the write never reached the reader")
        yield* sleep(1)
      }
      expect(yield* get).toStrictEqual(Option.some('"a1"'))
      expect(yield* getJson).toStrictEqual(Option.some("a1"))
      expect(yield* getMany).toStrictEqual(
        new Map([
          ["rerun:a", Option.some('"a1"')],
          ["rerun:b", Option.some('"b1"')],
        ]),
      )
    }).pipe(Effect.scoped),
  )

  it.live(
    "read-your-writes: every write is visible to this process's next read, under concurrent reads",
    () =>
      Effect.gen(function* () {
        const name = uniqueName("ryw")
        const cache = yield* localCache({ url: server.url, name, keyPrefix: "ryw:" })
        yield* cache.set("k", "0")
        yield* untilLocal(cache, name, "k")
        // Readers keep the key cached and keep reads of it in flight while the writes run.
        let stop = false
        const readers = yield* Effect.fork(
          Effect.forEach(
            Array.from({ length: 8 }),
            () =>
              Effect.whileLoop({
                while: () => !stop,
                body: () =>
                  Effect.either(Effect.zipRight(cache.get("k"), cache.getMany(["k", "k2"]))).pipe(
                    Effect.zipLeft(Effect.promise(tick)),
                  ),
                step: () => {},
              }),
            { concurrency: "unbounded", discard: true },
          ),
        )
        for (let i = 1; i <= 150; i++) {
          yield* cache.set("k", `s${i}`)
          expect(yield* cache.get("k")).toStrictEqual(Option.some(`s${i}`))
          yield* cache.setJson("k", { i })
          expect(yield* cache.getJson("k")).toStrictEqual(Option.some({ i }))
          yield* cache.delete("k")
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
          expect(yield* cache.increment("k", 5)).toBe(5)
          expect(yield* cache.get("k")).toStrictEqual(Option.some("5"))
          yield* cache.expire("k", 0)
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
          yield* cache.setMany([
            ["k", `m${i}`],
            ["k2", `n${i}`],
          ])
          expect(yield* cache.getMany(["k", "k2"])).toStrictEqual(
            new Map([
              ["k", Option.some(`m${i}`)],
              ["k2", Option.some(`n${i}`)],
            ]),
          )
          yield* cache.deletePattern("k*")
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
          yield* cache.set("k", `f${i}`)
          expect(yield* cache.get("k")).toStrictEqual(Option.some(`f${i}`))
          yield* cache.flush
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
          expect(yield* cache.getMany(["k2"])).toStrictEqual(new Map([["k2", Option.none()]]))
          expect(yield* cache.setIfAbsent("k", `a${i}`)).toBe(true)
          expect(yield* cache.get("k")).toStrictEqual(Option.some(`a${i}`))
          expect(yield* cache.deleteIfEquals("k", `a${i}`)).toBe(true)
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
          yield* cache.set("k", `t${i}`, { tags: ["ryw-tag"] })
          expect(yield* cache.get("k")).toStrictEqual(Option.some(`t${i}`))
          yield* cache.invalidateTags(["ryw-tag"])
          expect(yield* cache.get("k")).toStrictEqual(Option.none())
        }
        stop = true
        yield* Fiber.join(readers)
        // The tier was in use all along, not bypassed.
        expect(yield* localCount(name, "hit")).toBeGreaterThan(100)
      }).pipe(Effect.scoped),
  )

  it.live("flush without a key prefix (FLUSHDB) is read-your-writes too", () =>
    Effect.gen(function* () {
      const name = uniqueName("flushdb")
      const cache = yield* localCache({ url: `${server.url}/5`, name })
      for (let i = 0; i < 50; i++) {
        yield* cache.set("k", `v${i}`)
        yield* untilLocal(cache, name, "k")
        yield* cache.flush
        expect(yield* cache.get("k")).toStrictEqual(Option.none())
      }
    }).pipe(Effect.scoped),
  )

  it.live("the race: a GET reply that arrives after an invalidation of its key is not stored", () =>
    Effect.gen(function* () {
      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startHoldingProxy(server.port)),
        (p) => Effect.sync(p.close),
      )
      const name = uniqueName("race")
      const cache = yield* localCache({
        url: `redis://127.0.0.1:${proxy.port}`,
        name,
        commandTimeout: "5 seconds",
      })
      yield* Effect.promise(() => other.set("race:k", "old"))
      // Tracking established (on another key, so race:k is not cached yet).
      yield* untilLocal(cache, name, "race:warm")

      // Redis has run the read (the key is tracked) when its INFO counts one more transaction.
      const probe = new Redis(server.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => probe.disconnect()))
      const before = yield* Effect.promise(() => commandCalls(probe, "exec"))
      proxy.hold()
      const read = yield* Effect.fork(cache.get("race:k"))
      // The reply is held.
      yield* Effect.promise(async () => {
        const deadline = Date.now() + 2_000
        while ((await commandCalls(probe, "exec")) === before && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5))
      })
      // Another client writes; the invalidation travels on the connection that is not held.
      yield* Effect.promise(() => other.set("race:k", "new"))
      yield* sleep(50)
      proxy.release()
      // The read returns what Redis answered when it ran: the old value.
      expect(yield* Fiber.join(read)).toStrictEqual(Option.some("old"))
      // Without the guard the tier would now hold "old" for good: Redis sent its one invalidation already.
      expect(yield* cache.get("race:k")).toStrictEqual(Option.some("new"))
      yield* untilLocal(cache, name, "race:k")
      expect(yield* cache.get("race:k")).toStrictEqual(Option.some("new"))
    }).pipe(Effect.scoped),
  )

  it.live("FLUSHDB by another client empties the tier (a null invalidation)", () =>
    Effect.gen(function* () {
      const name = uniqueName("otherflush")
      const cache = yield* localCache({ url: `${server.url}/6`, name })
      const db6 = new Redis(server.port, "127.0.0.1", { db: 6 })
      yield* Effect.addFinalizer(() => Effect.sync(() => db6.disconnect()))
      for (let i = 0; i < 20; i++) {
        yield* Effect.promise(() => db6.set("fl:k", `v${i}`))
        yield* untilLocal(cache, name, "fl:k")
        yield* Effect.promise(() => db6.flushdb())
        yield* sleep(5)
        expect(yield* cache.get("fl:k")).toStrictEqual(Option.none())
      }
    }).pipe(Effect.scoped),
  )

  it.live(
    "a killed invalidation connection or data connection: entries dropped, bypassed, never stale, then back",
    () =>
      Effect.gen(function* () {
        const name = uniqueName("kills")
        const cache = yield* localCache({ url: server.url, name, keyPrefix: "kills:" })
        for (const victim of ["pubsub", "data"] as const) {
          yield* Effect.promise(() => other.set("kills:k", `${victim}-before`))
          yield* untilLocal(cache, name, "k")
          const list = yield* Effect.promise(() => other.client("LIST") as Promise<string>)
          const lines = list.split("\n").filter((line) => line !== "")
          const target =
            victim === "pubsub"
              ? lines.find((line) => line.includes("name=epc-invalidate-"))!
              : lines.find((line) => / cmd=(evalsha|mget|client)/.test(line) && !line.includes("name=epc-"))!
          const id = /^id=(\d+)/.exec(target)![1]!
          yield* Effect.promise(() => other.client("KILL", "ID", id))
          // Written while that connection is gone: Redis has nowhere to send the invalidation.
          yield* Effect.promise(() => other.set("kills:k", `${victim}-after`))
          const deadline = Date.now() + 3_000
          for (;;) {
            const value = yield* Effect.either(cache.get("k"))
            if (Either.isRight(value)) {
              expect(value.right).not.toStrictEqual(Option.some(`${victim}-before`))
              if (Option.getOrUndefined(value.right) === `${victim}-after`) break
            }
            if (Date.now() > deadline) throw new Error("never saw the write")
            yield* sleep(1)
          }
          // Tracking comes back, and with it local answers that follow writes.
          yield* untilLocal(cache, name, "k")
          yield* Effect.promise(() => other.set("kills:k", `${victim}-later`))
          yield* sleep(10)
          expect(yield* cache.get("k")).toStrictEqual(Option.some(`${victim}-later`))
        }
      }).pipe(Effect.scoped),
  )

  it.live("a key's Redis ttl bounds its local entry even when Redis has not noticed the expiry", () =>
    Effect.gen(function* () {
      const name = uniqueName("expiry")
      const cache = yield* localCache({ url: server.url, name, keyPrefix: "exp:" })
      // No active expiry: Redis expires (and sends the invalidation) only when the key is next touched.
      yield* Effect.promise(() => other.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"))
      yield* Effect.addFinalizer(() => Effect.promise(() => other.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")))
      yield* cache.set("k", "v", { ttl: "300 millis" })
      yield* untilLocal(cache, name, "k")
      yield* sleep(320)
      expect(yield* servedLocally(cache, name, "k")).toStrictEqual({
        local: false,
        value: Either.right(Option.none()),
      })
    }).pipe(Effect.scoped),
  )

  it.live(
    "localCache.ttl bounds an entry's life; maxEntries bounds the tier, least recently read first",
    () =>
      Effect.gen(function* () {
        const name = uniqueName("bounds")
        const cache = yield* localCache({
          url: server.url,
          name,
          keyPrefix: "bounds:",
          localCache: { maxEntries: 100, ttl: "200 millis" },
        })
        yield* cache.set("t", "v")
        yield* untilLocal(cache, name, "t")
        yield* sleep(220)
        expect((yield* servedLocally(cache, name, "t")).local).toBe(false)
        expect((yield* servedLocally(cache, name, "t")).local).toBe(true)

        const keys = Array.from({ length: 1_000 }, (_, i) => `n${i}`)
        yield* cache.getMany(keys)
        // The last 100 read are resident, the others were evicted.
        const hits = yield* localCount(name, "hit")
        yield* cache.getMany(keys.slice(900))
        expect((yield* localCount(name, "hit")) - hits).toBe(100)
        const misses = yield* localCount(name, "miss")
        yield* cache.getMany(keys.slice(0, 50))
        expect((yield* localCount(name, "miss")) - misses).toBe(50)
      }).pipe(Effect.scoped),
  )

  it.live("a paused node: the timeout drops its entries and reads go to Redis until tracking is back", () =>
    Effect.gen(function* () {
      const own = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisServer()),
        (s) => Effect.promise(() => s.stop()),
      )
      const name = uniqueName("paused")
      const cache = yield* localCache({ url: own.url, name })
      yield* cache.set("k", "before")
      yield* untilLocal(cache, name, "k")
      own.pause()
      const write = yield* Effect.either(cache.set("other", "x"))
      expect(Either.isLeft(write) && write.left.reason).toBe("Timeout")
      // Not answered locally any more: the node may have missed invalidations.
      const read = yield* servedLocally(cache, name, "k")
      expect(read.local).toBe(false)
      expect(Either.isLeft(read.value)).toBe(true)
      own.resume()
      const writer = new Redis(own.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.disconnect()))
      yield* Effect.promise(() => writer.set("k", "after"))
      const deadline = Date.now() + 3_000
      for (;;) {
        const value = yield* Effect.either(cache.get("k"))
        if (Either.isRight(value)) {
          expect(value.right).toStrictEqual(Option.some("after"))
          break
        }
        if (Date.now() > deadline) throw new Error("never recovered")
        yield* sleep(20)
      }
      yield* untilLocal(cache, name, "k")
    }).pipe(Effect.scoped),
  )

  it.live("a killed and restarted server: the old value is never served, the tier works again", () =>
    Effect.gen(function* () {
      let own = yield* Effect.promise(() => startRedisServer())
      yield* Effect.addFinalizer(() => Effect.promise(() => own.stop()))
      const name = uniqueName("restart")
      const cache = yield* localCache({ url: own.url, name })
      yield* cache.set("k", "before")
      yield* untilLocal(cache, name, "k")
      yield* Effect.promise(() => own.kill())
      // Until the socket's close is read, the value Redis had when it died may still be served (no server
      // invalidated it). From the first failure on, reads go to Redis: errors, never the cached value.
      let failed = false
      for (let i = 0; i < 10; i++) {
        const value = yield* Effect.either(cache.get("k"))
        if (Either.isLeft(value)) failed = true
        else if (failed) expect(value).not.toStrictEqual(Either.right(Option.some("before")))
        yield* sleep(20)
      }
      expect(failed).toBe(true)
      own = yield* Effect.promise(() => own.restart())
      // The new server is empty: "before" is gone from Redis and must be gone from the tier.
      const deadline = Date.now() + 3_000
      for (;;) {
        const value = yield* Effect.either(cache.get("k"))
        if (Either.isRight(value)) {
          expect(value.right).toStrictEqual(Option.none())
          break
        }
        if (Date.now() > deadline) throw new Error("never reconnected")
        yield* sleep(20)
      }
      const writer = new Redis(own.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.disconnect()))
      yield* Effect.promise(() => writer.set("k", "restarted"))
      yield* untilLocal(cache, name, "k")
      yield* Effect.promise(() => writer.set("k", "written again"))
      yield* sleep(10)
      expect(yield* cache.get("k")).toStrictEqual(Option.some("written again"))
    }).pipe(Effect.scoped),
  )

  it.live(
    "an ACL user without the invalidation channel: one warning, the tier bypassed, then on once granted",
    () =>
      Effect.gen(function* () {
        // Redis 7 gives a new ACL user no Pub/Sub channels.
        yield* Effect.promise(() => other.call("ACL", "SETUSER", "nochannel", "on", ">pw", "~*", "+@all"))
        const logs = captureLogs()
        const name = uniqueName("acl")
        const cache = yield* localCache({
          url: `redis://nochannel:pw@127.0.0.1:${server.port}`,
          name,
          keyPrefix: "acl:",
        }).pipe(Effect.provide(logs.layer))
        yield* cache.set("k", "v1")
        for (let i = 0; i < 10; i++) {
          expect(yield* cache.get("k")).toStrictEqual(Option.some("v1"))
          yield* sleep(30)
        }
        expect(yield* localCount(name, "hit")).toBe(0)
        const warnings = logs.entries.filter((entry) => entry.message.includes("invalidation subscription"))
        expect(warnings).toHaveLength(1)
        expect(String(warnings[0]!.annotations.reason)).toMatch(/^NOPERM/)
        yield* Effect.promise(() => other.call("ACL", "SETUSER", "nochannel", "&__redis__:invalidate"))
        yield* untilLocal(cache, name, "k", 8_000)
        yield* Effect.promise(() => other.set("acl:k", "v2"))
        yield* sleep(10)
        expect(yield* cache.get("k")).toStrictEqual(Option.some("v2"))
      }).pipe(Effect.scoped),
    { timeout: 20_000 },
  )

  it.live("options are checked: maxEntries a positive integer, ttl a positive duration; off by default", () =>
    Effect.gen(function* () {
      for (const [localCacheOption, detail] of [
        [{ maxEntries: 0 }, "option localCache.maxEntries must be a positive integer"],
        [{ maxEntries: 1.5 }, "option localCache.maxEntries must be a positive integer"],
        [{ maxEntries: 10, ttl: 0 }, "option localCache.ttl must be a positive duration"],
      ] as const) {
        const exit = yield* Effect.exit(
          Layer.build(RedisCache.layer({ url: server.url, localCache: localCacheOption })),
        )
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
          reason: "InvalidArgument",
          operation: "connect",
          detail,
        })
      }
      const name = uniqueName("off")
      const plain = yield* Effect.map(
        Layer.build(RedisCache.layer({ url: server.url, name, metrics: true })),
        Context.get(Cache),
      )
      yield* plain.set("off:k", "v")
      yield* plain.get("off:k")
      yield* plain.get("off:k")
      expect(yield* localCount(name, "hit")).toBe(0)
      expect(yield* localCount(name, "miss")).toBe(0)
    }).pipe(Effect.scoped),
  )

  it.effect("REDIS_LOCAL_CACHE_MAX_ENTRIES and REDIS_LOCAL_CACHE_TTL are read and checked", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.either(
          Effect.withConfigProvider(RedisCache.config, ConfigProvider.fromMap(new Map(Object.entries(env)))),
        )
      const none = yield* read({})
      expect(Either.isRight(none) && none.right.localCache).toBeUndefined()
      const both = yield* read({ REDIS_LOCAL_CACHE_MAX_ENTRIES: "500", REDIS_LOCAL_CACHE_TTL: "2000" })
      expect(Either.isRight(both) && both.right.localCache).toStrictEqual({
        maxEntries: 500,
        ttl: Duration.millis(2000),
      })
      const entriesOnly = yield* read({ REDIS_LOCAL_CACHE_MAX_ENTRIES: "7" })
      expect(Either.isRight(entriesOnly) && entriesOnly.right.localCache).toStrictEqual({
        maxEntries: 7,
        ttl: undefined,
      })
      for (const env of [
        { REDIS_LOCAL_CACHE_MAX_ENTRIES: "0" },
        { REDIS_LOCAL_CACHE_MAX_ENTRIES: "many" },
        { REDIS_LOCAL_CACHE_MAX_ENTRIES: "10", REDIS_LOCAL_CACHE_TTL: "0" },
        { REDIS_LOCAL_CACHE_TTL: "1000" },
      ]) {
        const result = yield* read(env)
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(String(result.left)).toContain("REDIS_LOCAL_CACHE_")
      }
      const cluster = yield* Effect.either(
        Effect.withConfigProvider(
          RedisCache.clusterConfig,
          ConfigProvider.fromMap(
            new Map([
              ["REDIS_CLUSTER_NODES", "a:7000"],
              ["REDIS_LOCAL_CACHE_MAX_ENTRIES", "9"],
            ]),
          ),
        ),
      )
      expect(Either.isRight(cluster) && cluster.right.localCache?.maxEntries).toBe(9)
    }),
  )
})

describe("local tier on a cluster", () => {
  it.live("invalidations come from every master; losing one master's tracking drops only its entries", () =>
    Effect.gen(function* () {
      const cluster = yield* Effect.acquireRelease(
        Effect.promise(() => startRedisCluster()),
        (c) => Effect.promise(() => c.stop()),
      )
      const name = uniqueName("cluster")
      const cache = yield* Effect.map(
        Layer.build(
          RedisCache.layerCluster({
            nodes: cluster.nodes,
            name,
            metrics: true,
            localCache: { maxEntries: 10_000 },
          }),
        ),
        Context.get(Cache),
      )
      const writer = new Redis.Cluster(
        cluster.nodes.map((node) => ({ host: "127.0.0.1", port: Number(node.split(":")[1]) })),
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => writer.disconnect()))
      const keys = Array.from({ length: 30 }, (_, i) => `ck${i}`)
      for (const key of keys) yield* Effect.promise(() => writer.set(key, "v1"))
      for (const key of keys) yield* untilLocal(cache, name, key)
      for (const key of keys) yield* Effect.promise(() => writer.set(key, "v2"))
      yield* sleep(20)
      const many = yield* cache.getMany(keys)
      for (const key of keys) expect(many.get(key)).toStrictEqual(Option.some("v2"))

      // Cache everything again, then kill one master's invalidation connection.
      for (const key of keys) yield* untilLocal(cache, name, key)
      const direct = new Redis(cluster.servers[0]!.port, "127.0.0.1")
      yield* Effect.addFinalizer(() => Effect.sync(() => direct.disconnect()))
      yield* Effect.promise(() => direct.client("KILL", "TYPE", "pubsub"))
      yield* sleep(5)
      let local = 0
      let remote = 0
      for (const key of keys) {
        const read = yield* servedLocally(cache, name, key)
        expect(read.value).toStrictEqual(Either.right(Option.some("v2")))
        if (read.local) local++
        else remote++
      }
      expect(local).toBeGreaterThan(0)
      expect(remote).toBeGreaterThan(0)
    }).pipe(Effect.scoped),
  )
})

describe("local tier through Sentinel", () => {
  it.live(
    "a failover: the old master's values are not served once the cache is on the new master; the tier resumes there",
    () =>
      Effect.gen(function* () {
        const deployment = yield* Effect.acquireRelease(
          Effect.promise(() => startRedisSentinel()),
          (d) => Effect.promise(() => d.stop()),
        )
        const replica = deployment.replica!
        const cache = yield* Effect.map(
          Layer.build(
            RedisCache.layerSentinel({
              sentinels: deployment.sentinels.map(({ host, port }) => ({ host, port })),
              name: deployment.name,
              metrics: true,
              localCache: { maxEntries: 1_000 },
              commandTimeout: "300 millis",
              maxReconnectDelay: "100 millis",
            }),
          ),
          Context.get(Cache),
        )
        // The metrics label of a Sentinel layer is its `name`, the master group.
        const label = deployment.name
        yield* Effect.promise(async () => {
          const master = new Redis(deployment.master.port, "127.0.0.1")
          await master.set("fo:k", "old master")
          master.disconnect()
        })
        yield* untilLocal(cache, label, "fo:k")

        yield* Effect.promise(() => forceFailover(deployment.sentinels[0]!.port, deployment.name))
        const promoted = new Redis(replica.port, "127.0.0.1")
        yield* Effect.addFinalizer(() => Effect.sync(() => promoted.disconnect()))
        const deadline = Date.now() + 15_000
        while (((yield* Effect.promise(() => promoted.role())) as Array<unknown>)[0] !== "master") {
          if (Date.now() > deadline) throw new Error("the replica was never promoted")
          yield* sleep(50)
        }
        // The cache is on the new master once a write through it lands there (the old master, now a
        // replica, would refuse it).
        for (let i = 0; ; i++) {
          const written = yield* Effect.either(cache.set("fo:probe", `p${i}`))
          if (Either.isRight(written) && (yield* Effect.promise(() => promoted.get("fo:probe"))) === `p${i}`)
            break
          if (Date.now() > deadline) throw new Error("the cache never reached the new master")
          yield* sleep(50)
        }
        yield* Effect.promise(() => promoted.set("fo:k", "new master"))
        const seen: Array<string | undefined> = []
        const until = Date.now() + 1_000
        while (Date.now() < until) {
          const value = yield* Effect.either(cache.get("fo:k"))
          if (Either.isRight(value)) seen.push(Option.getOrUndefined(value.right))
          yield* sleep(5)
        }
        expect(seen.length).toBeGreaterThan(10)
        expect(seen.filter((value) => value !== "new master")).toStrictEqual([])
        yield* untilLocal(cache, label, "fo:k")
        yield* Effect.promise(() => promoted.set("fo:k", "written again"))
        yield* sleep(10)
        expect(yield* cache.get("fo:k")).toStrictEqual(Option.some("written again"))
      }).pipe(Effect.scoped),
    60_000,
  )
})

describe("makeLocalTier", () => {
  const tier = (maxEntries = 3, ttlMs?: number) => {
    let now = 0
    const made = makeLocalTier({ maxEntries, ttlMs, now: () => now })
    made.enable("")
    const fill = (key: string, value: string | null, pttl = -1) => {
      const ticket = made.beginRead("", [key])!
      made.endRead(ticket, [key], [value], [pttl])
    }
    return { tier: made, fill, advance: (ms: number) => (now += ms) }
  }
  const valueIn = (t: ReturnType<typeof makeLocalTier>, key: string) => t.lookup(key)?.value

  it("is an exact LRU bounded by maxEntries, under any key pattern", () => {
    const { tier: t, fill } = tier(3)
    fill("a", "1")
    fill("b", "2")
    fill("c", "3")
    expect(valueIn(t, "a")).toBe("1")
    fill("d", "4")
    expect(valueIn(t, "b")).toBeUndefined()
    expect(valueIn(t, "a")).toBe("1")
    expect(valueIn(t, "c")).toBe("3")
    expect(valueIn(t, "d")).toBe("4")
    const big = tier(1_000)
    for (let i = 0; i < 100_000; i++) big.fill(`k${i}`, i % 3 === 0 ? null : "v")
    expect(big.tier.size()).toBe(1_000)
  })

  it("matches a reference LRU (Map delete-and-set) under random reads, fills and invalidations", () => {
    const { tier: t, fill } = tier(10)
    const reference = new Map<string, string>()
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    for (let step = 0; step < 20_000; step++) {
      const key = `k${random(30)}`
      const action = random(10)
      if (action < 5) {
        const expected = reference.get(key)
        if (expected !== undefined) {
          reference.delete(key)
          reference.set(key, expected)
        }
        expect(valueIn(t, key)).toBe(expected)
      } else if (action < 9) {
        fill(key, `v${step}`)
        reference.delete(key)
        reference.set(key, `v${step}`)
        if (reference.size > 10) reference.delete(reference.keys().next().value as string)
      } else {
        t.invalidate([key])
        reference.delete(key)
      }
      expect(t.size()).toBe(reference.size)
    }
  })

  it("expires at the key's PTTL or the tier's ttl, whichever is first, counted from when the read was sent", () => {
    const { tier: t, fill, advance } = tier(10, 1_000)
    fill("short", "v", 100)
    fill("long", "v", 5_000)
    fill("none", null, -2)
    advance(99)
    expect(valueIn(t, "short")).toBe("v")
    advance(1)
    expect(valueIn(t, "short")).toBeUndefined()
    advance(899)
    expect(valueIn(t, "long")).toBe("v")
    expect(t.lookup("none")?.value).toBeNull()
    advance(1)
    expect(valueIn(t, "long")).toBeUndefined()
    expect(t.lookup("none")).toBeUndefined()
  })

  it("a reply is not stored after an invalidation of its key, a flush, or a loss of its node", () => {
    const { tier: t } = tier(10)
    const read = (key: string, between: () => void) => {
      const ticket = t.beginRead("", [key])!
      between()
      t.endRead(ticket, [key], ["old"], [-1])
      return t.lookup(key)
    }
    expect(read("a", () => t.invalidate(["a"]))).toBeUndefined()
    expect(read("a", () => t.invalidate(["b"]))?.value).toBe("old")
    expect(read("c", () => t.invalidateNode(""))).toBeUndefined()
    expect(read("d", () => t.invalidateAll())).toBeUndefined()
    expect(
      read("e", () => {
        t.disable("")
        t.enable("")
      }),
    ).toBeUndefined()
    // Two reads of one key in flight: an invalidation between them spoils the first only.
    const first = t.beginRead("", ["f"])!
    t.invalidate(["f"])
    const second = t.beginRead("", ["f"])!
    t.endRead(first, ["f"], ["stale"], [-1])
    expect(t.lookup("f")).toBeUndefined()
    t.endRead(second, ["f"], ["fresh"], [-1])
    expect(t.lookup("f")?.value).toBe("fresh")
  })

  it("a disabled node is bypassed and its entries are dropped; other nodes keep theirs", () => {
    const t = makeLocalTier({ maxEntries: 10, ttlMs: undefined, now: () => 0 })
    t.enable("n1")
    t.enable("n2")
    for (const [node, key] of [
      ["n1", "a"],
      ["n2", "b"],
    ] as const) {
      const ticket = t.beginRead(node, [key])!
      t.endRead(ticket, [key], ["v"], [-1])
    }
    t.disable("n1")
    expect(t.lookup("a")).toBeUndefined()
    expect(t.lookup("b")?.value).toBe("v")
    expect(t.beginRead("n1", ["a"])).toBeUndefined()
  })
})
