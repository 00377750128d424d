/**
 * `npm run bench`: our Cache against raw ioredis and peer libraries, side by side in one run on one
 * loopback Redis, reported as ratios (absolute numbers drift on shared machines).
 *
 * Uses REDIS_URL if set (it must be a disposable Redis: the benchmark flushes it), otherwise starts a
 * private redis-server on a free port. Writes bench/results.json.
 *
 * Each case runs in a fresh Node process (as JMH forks a JVM per benchmark): the JIT state and heap one case
 * leaves behind would otherwise tax the next, by up to half on the in-memory case. Contenders of one case
 * still share a process and alternate round by round. `npm run bench -- set-many memory` runs the cases
 * whose names contain those words.
 */

import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import os from "node:os"
import { createKeyv } from "@keyv/redis"
import { BentoCache, bentostore } from "bentocache"
import { redisDriver } from "bentocache/drivers/redis"
import { createCache } from "cache-manager"
import { Effect, Layer, type Scope } from "effect"
import { Redis } from "ioredis"
import { Cache, MemoryCache, ProviderConnectionCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { makeConnection, uuid } from "../test/support/fixtures.js"
import { startRedisServer } from "../test/support/redisServer.js"
import { providerGetHitConcurrent } from "./providerGetHitConcurrent.js"

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CONCURRENCY = 256
const PER_WORKER = 200
const KEYS = 10_000

interface Sample {
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

interface Result {
  readonly name: string
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly baseline: string | null
  readonly baselineOpsPerSec: number | null
  readonly ratio: number | null
  readonly target: string
  readonly met: boolean
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

/** One round: `ops` operations timed as a whole, with per-operation latencies. */
const sample = (ops: number, elapsedMs: number, latencies: Array<number>): Sample => {
  latencies.sort((a, b) => a - b)
  return {
    opsPerSec: (ops / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  }
}

const summarize = (samples: ReadonlyArray<Sample>): Sample => ({
  opsPerSec: median(samples.map((s) => s.opsPerSec)),
  p50Ms: median(samples.map((s) => s.p50Ms)),
  p99Ms: median(samples.map((s) => s.p99Ms)),
})

/** Runs `workers` concurrent loops of `perWorker` promise-returning operations. */
const promiseWorkers = async (workers: number, perWorker: number, op: (i: number) => Promise<unknown>) => {
  const latencies: Array<number> = []
  const start = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) {
        const t = performance.now()
        await op(w * perWorker + i)
        latencies.push(performance.now() - t)
      }
    }),
  )
  return sample(workers * perWorker, performance.now() - start, latencies)
}

/** The same, as fibers inside one Effect program. */
const effectWorkers = <R>(
  workers: number,
  perWorker: number,
  op: (i: number) => Effect.Effect<unknown, unknown, R>,
) =>
  Effect.gen(function* () {
    const latencies: Array<number> = []
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: workers }, (_, w) => w),
      (w) =>
        Effect.gen(function* () {
          for (let i = 0; i < perWorker; i++) {
            const t = performance.now()
            yield* op(w * perWorker + i)
            latencies.push(performance.now() - t)
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    return sample(workers * perWorker, performance.now() - start, latencies)
  })

/** Warm-up, then `ROUNDS` rounds alternating the contenders, so drift hits all of them alike. */
const compare = async (contenders: Record<string, () => Promise<Sample>>) => {
  const names = Object.keys(contenders)
  for (const name of names) await contenders[name]!()
  const samples: Record<string, Array<Sample>> = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) samples[name]!.push(await contenders[name]!())
  }
  return Object.fromEntries(names.map((n) => [n, summarize(samples[n]!)]))
}

const keyOf = (i: number) => `bench:key:${i % KEYS}`
const value = "v".repeat(100)

/** One process's setup: the raw client, the 10,000 keys, our layers, and the results being recorded. */
const makeEnv = (url: string) =>
  Effect.gen(function* () {
    const { hostname, port } = new URL(url)

    const raw = new Redis(url, { enableAutoPipelining: true })
    yield* Effect.addFinalizer(() => Effect.sync(() => raw.disconnect()))
    yield* Effect.promise(() => raw.flushdb())
    for (let i = 0; i < KEYS; i += 1_000) {
      const batch: Array<string> = []
      for (let j = i; j < i + 1_000; j++) batch.push(keyOf(j), value)
      yield* Effect.promise(() => raw.mset(...batch))
    }

    const context = yield* Layer.build(
      ProviderConnectionCache.layerWithTtl("1 hour").pipe(Layer.provideMerge(RedisCache.layer({ url }))),
    )
    const run = <A, E>(effect: Effect.Effect<A, E, Cache | ProviderConnectionCache>) =>
      Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<A, E>)
    const cache = yield* Effect.provide(Cache, context)
    const results: Array<Result> = []
    const record = (
      name: string,
      ours: Sample,
      baseline: { name: string; sample: Sample } | null,
      target: string,
      met: (ratio: number | null, ours: Sample) => boolean,
    ) => {
      const ratio = baseline === null ? null : ours.opsPerSec / baseline.sample.opsPerSec
      results.push({
        name,
        ...ours,
        baseline: baseline?.name ?? null,
        baselineOpsPerSec: baseline?.sample.opsPerSec ?? null,
        ratio,
        target,
        met: met(ratio, ours),
      })
    }
    return { url, hostname, port, raw, cache, run, record, results }
  })

type Env = Effect.Effect.Success<ReturnType<typeof makeEnv>>

const getConcurrent = ({ url, hostname, port, raw, cache, run, record }: Env) =>
  Effect.gen(function* () {
    // 1. get-concurrent, with the peers on the same workload.
    const bento = new BentoCache({
      default: "redis",
      stores: {
        redis: bentostore().useL2Layer(redisDriver({ connection: { host: hostname, port: Number(port) } })),
      },
    })
    const keyv = createKeyv(url)
    const manager = createCache({ stores: [keyv] })
    yield* Effect.promise(async () => {
      for (let i = 0; i < 1_000; i++) {
        await bento.set({ key: `peer:${i}`, value, ttl: "1h" })
        await manager.set(`peer:${i}`, value, 3_600_000)
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => Promise.all([bento.disconnectAll(), manager.disconnect()])),
    )

    const concurrent = yield* Effect.promise(() =>
      compare({
        raw: () => promiseWorkers(CONCURRENCY, PER_WORKER, (i) => raw.get(keyOf(i))),
        ours: () => run(effectWorkers(CONCURRENCY, PER_WORKER, (i) => cache.get(keyOf(i)))),
        bentocache: () =>
          promiseWorkers(CONCURRENCY, PER_WORKER, (i) => bento.get({ key: `peer:${i % 1_000}` })),
        "cache-manager": () =>
          promiseWorkers(CONCURRENCY, PER_WORKER, (i) => manager.get(`peer:${i % 1_000}`)),
      }),
    )
    const rawBaseline = { name: "ioredis GET, auto-pipelined", sample: concurrent.raw! }
    record("get-concurrent", concurrent.ours!, rawBaseline, "ratio >= 1.0", (r) => (r ?? 0) >= 1)
    record(
      "peer: bentocache (redis driver, no L1)",
      concurrent.bentocache!,
      rawBaseline,
      "ours ahead",
      () => concurrent.ours!.opsPerSec > concurrent.bentocache!.opsPerSec,
    )
    record(
      "peer: cache-manager 7 + @keyv/redis",
      concurrent["cache-manager"]!,
      rawBaseline,
      "ours ahead",
      () => concurrent.ours!.opsPerSec > concurrent["cache-manager"]!.opsPerSec,
    )
  })

const providerGetHit = ({ raw, run, record }: Env) =>
  Effect.gen(function* () {
    // 2. provider-get-hit: the domain read, sequential (latency) and concurrent.
    const connection = makeConnection({ id: uuid(4242) })
    yield* Effect.promise(() => run(Effect.flatMap(ProviderConnectionCache, (c) => c.set(connection))))
    const getConnection = Effect.flatMap(ProviderConnectionCache, (c) => c.get(connection.id))
    const rawConnection = async () => JSON.parse((await raw.get(`provider:conn:${connection.id}`)) ?? "null")
    const sequential = yield* Effect.promise(() =>
      compare({
        raw: () => promiseWorkers(1, 5_000, rawConnection),
        ours: () => run(effectWorkers(1, 5_000, () => getConnection)),
      }),
    )
    record(
      "provider-get-hit (sequential)",
      sequential.ours!,
      { name: "ioredis GET + JSON.parse", sample: sequential.raw! },
      "p99 < 1 ms",
      (_, ours) => ours.p99Ms < 1,
    )
    const providerConcurrent = yield* Effect.promise(() =>
      compare({
        raw: () => promiseWorkers(CONCURRENCY, 100, rawConnection),
        ours: () => run(effectWorkers(CONCURRENCY, 100, () => getConnection)),
      }),
    )
    record(
      "provider-get-hit (256 concurrent)",
      providerConcurrent.ours!,
      { name: "ioredis GET + JSON.parse, auto-pipelined", sample: providerConcurrent.raw! },
      "reported",
      () => true,
    )
  })

const getAndSetMany = ({ raw, cache, run, record }: Env) =>
  Effect.gen(function* () {
    // 3. get-many-1000 and set-many-1000-ttl.
    const thousand = Array.from({ length: 1_000 }, (_, i) => keyOf(i * 7))
    const calls = 200
    const many = yield* Effect.promise(() =>
      compare({
        raw: () => promiseWorkers(1, calls, () => raw.mget(...thousand)),
        ours: () => run(effectWorkers(1, calls, () => cache.getMany(thousand))),
      }),
    )
    record(
      "get-many-1000",
      many.ours!,
      { name: "ioredis MGET", sample: many.raw! },
      "ratio >= 0.9",
      (r) => (r ?? 0) >= 0.9,
    )
    const entries = thousand.map((k) => [`setmany:${k}`, value] as const)
    const setMany = yield* Effect.promise(() =>
      compare({
        raw: () =>
          promiseWorkers(1, calls, () => {
            const pipeline = raw.pipeline()
            for (const [k, v] of entries) pipeline.set(k, v, "PX", 60_000)
            return pipeline.exec()
          }),
        ours: () => run(effectWorkers(1, calls, () => cache.setMany(entries, { ttl: "1 minute" }))),
      }),
    )
    record(
      "set-many-1000-ttl",
      setMany.ours!,
      { name: "ioredis pipeline of 1000 SET PX", sample: setMany.raw! },
      "ratio >= 2.0",
      (r) => (r ?? 0) >= 2,
    )
  })

const deletePattern = ({ raw, cache, run, record }: Env) =>
  Effect.gen(function* () {
    // 4. delete-pattern-100k: 100,000 matching keys among 200,000.
    const fill = async () => {
      for (let i = 0; i < 200_000; i += 10_000) {
        const batch: Array<string> = []
        for (let j = i; j < i + 10_000; j++) batch.push(j % 2 === 0 ? `dp:match:${j}` : `dp:other:${j}`, "v")
        await raw.mset(...batch)
      }
    }
    const deleteSamples: Array<Sample> = []
    const naiveSamples: Array<Sample> = []
    for (let round = 0; round < Math.max(3, Math.ceil(ROUNDS / 2)); round++) {
      yield* Effect.promise(fill)
      const start = performance.now()
      const deleted = yield* Effect.promise(() => run(cache.deletePattern("dp:match:*")))
      const elapsed = performance.now() - start
      if (deleted !== 100_000) throw new Error(`deletePattern deleted ${deleted}, expected 100000`)
      deleteSamples.push({ opsPerSec: (deleted / elapsed) * 1000, p50Ms: elapsed, p99Ms: elapsed })
      yield* Effect.promise(() => raw.flushdb())
      yield* Effect.promise(fill)
      const naiveStart = performance.now()
      yield* Effect.promise(
        () =>
          new Promise<void>((resolve, reject) => {
            const stream = raw.scanStream({ match: "dp:match:*", count: 1_000 })
            const dels: Array<Promise<unknown>> = []
            stream.on("data", (keys: Array<string>) => {
              if (keys.length > 0) dels.push(raw.del(...keys))
            })
            stream.on("end", () => Promise.all(dels).then(() => resolve(), reject))
            stream.on("error", reject)
          }),
      )
      const naiveElapsed = performance.now() - naiveStart
      naiveSamples.push({
        opsPerSec: (100_000 / naiveElapsed) * 1000,
        p50Ms: naiveElapsed,
        p99Ms: naiveElapsed,
      })
      yield* Effect.promise(() => raw.flushdb())
    }
    record(
      "delete-pattern-100k (keys/s)",
      summarize(deleteSamples),
      { name: "ioredis scanStream COUNT 1000 + DEL", sample: summarize(naiveSamples) },
      ">= 500,000 keys/s",
      (_, ours) => ours.opsPerSec >= 500_000,
    )
  })

const memoryGet = ({ record }: Env) =>
  Effect.gen(function* () {
    // 5. memory-get.
    const memory = yield* Layer.build(MemoryCache.layer())
    const memoryCache = yield* Effect.provide(Cache, memory)
    yield* memoryCache.setMany(Array.from({ length: 1_000 }, (_, i) => [`m:${i}`, value] as const))
    const memoryKeys = Array.from({ length: 1_000 }, (_, i) => `m:${i}`)
    const memorySamples: Array<Sample> = []
    const plainSamples: Array<Sample> = []
    const plain = new Map(memoryKeys.map((k) => [k, value]))
    const N = 1_000_000
    for (let round = 0; round < ROUNDS + 1; round++) {
      const start = performance.now()
      yield* Effect.promise(() =>
        Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < N; i++) yield* memoryCache.get(memoryKeys[i % 1_000]!)
          }),
        ),
      )
      const elapsed = performance.now() - start
      const plainStart = performance.now()
      let found = 0
      for (let i = 0; i < N; i++) if (plain.get(memoryKeys[i % 1_000]!) !== undefined) found++
      const plainElapsed = performance.now() - plainStart
      if (found !== N) throw new Error("plain map lost keys")
      if (round > 0) {
        memorySamples.push({ opsPerSec: (N / elapsed) * 1000, p50Ms: elapsed / N, p99Ms: elapsed / N })
        plainSamples.push({
          opsPerSec: (N / plainElapsed) * 1000,
          p50Ms: plainElapsed / N,
          p99Ms: plainElapsed / N,
        })
      }
    }
    record(
      "memory-get",
      summarize(memorySamples),
      { name: "plain Map.get (context only)", sample: summarize(plainSamples) },
      ">= 1,000,000 ops/s",
      (_, ours) => ours.opsPerSec >= 1_000_000,
    )
  })

/** The cases, in the order they run, each in a process of its own. */
const cases: Record<string, (env: Env) => Effect.Effect<void, unknown, Scope.Scope>> = {
  "get-concurrent": getConcurrent,
  "provider-get-hit": providerGetHit,
  "provider-get-hit-concurrent": (env) =>
    providerGetHitConcurrent({ ...env, compare, promiseWorkers, effectWorkers }),
  "get-many set-many": getAndSetMany,
  "delete-pattern": deletePattern,
  "memory-get": memoryGet,
}

const RESULT_LINE = "bench-results:"

/** In a child: run one case against REDIS_URL and print its results as one line of JSON. */
const runCase = (name: string, url: string) =>
  Effect.gen(function* () {
    const env = yield* makeEnv(url)
    yield* cases[name]!(env)
    console.log(RESULT_LINE + JSON.stringify(env.results))
  })

const runChild = (name: string, url: string) =>
  new Promise<Array<Result>>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, BENCH_CASE: name, REDIS_URL: url },
      stdio: ["ignore", "pipe", "inherit"],
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      const line = output.split("\n").find((l) => l.startsWith(RESULT_LINE))
      if (code !== 0 || line === undefined) reject(new Error(`bench case ${name} failed (exit ${code})`))
      else resolve(JSON.parse(line.slice(RESULT_LINE.length)) as Array<Result>)
    })
  })

/** In the parent: one Redis for all cases, each case in a child, then the table. */
const runAll = Effect.gen(function* () {
  const server = process.env.REDIS_URL ? undefined : yield* Effect.promise(() => startRedisServer())
  const url = process.env.REDIS_URL ?? server!.url
  yield* Effect.addFinalizer(() => Effect.promise(async () => server?.stop()))
  const wanted = process.argv.slice(2)
  const names = Object.keys(cases).filter((n) => wanted.length === 0 || wanted.some((w) => n.includes(w)))
  const results: Array<Result> = []
  for (const name of names) results.push(...(yield* Effect.promise(() => runChild(name, url))))
  return results
})

const printTable = (results: ReadonlyArray<Result>) => {
  const rows = results.map((r) => [
    r.name,
    Math.round(r.opsPerSec).toLocaleString("en-US"),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.baseline === null
      ? "-"
      : `${r.baseline} (${Math.round(r.baselineOpsPerSec!).toLocaleString("en-US")}/s)`,
    r.ratio === null ? "-" : r.ratio.toFixed(2),
    `${r.target} ${r.met ? "✓" : "✗"}`,
  ])
  const header = ["case", "ops/s", "p50 ms", "p99 ms", "baseline", "ratio", "target"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const row of rows) console.log(line(row))
}

const only = process.env.BENCH_CASE
if (only !== undefined) {
  await Effect.runPromise(Effect.scoped(runCase(only, process.env.REDIS_URL!)))
  process.exit(0)
}
const results = await Effect.runPromise(Effect.scoped(runAll))
console.log(
  `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${ROUNDS} rounds after a warm-up; medians.\n`,
)
printTable(results)
// A partial run (`npm run bench -- name`) prints its table but leaves the recorded full run alone.
if (process.argv.length <= 2) {
  writeFileSync(
    new URL("./results.json", import.meta.url),
    `${JSON.stringify(
      results.map(({ name, opsPerSec, p50Ms, p99Ms, baseline, ratio, target, met }) => ({
        name,
        opsPerSec,
        p50Ms,
        p99Ms,
        baseline,
        ratio,
        target,
        met,
      })),
      null,
      2,
    )}\n`,
  )
}
process.exit(0)
