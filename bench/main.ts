/**
 * `npm run bench`: our Cache against raw ioredis, raw node-redis 5 and peer libraries, side by side in one
 * run, reported as ratios (absolute numbers drift on shared machines). The cases are the files under
 * `bench/cases/` (listed in `bench/cases/index.ts`; what a case is: `bench/BenchCase.ts`); this file runs
 * them.
 *
 * Each case runs in a fresh Node process (as JMH forks a JVM per benchmark): the JIT state and heap one case
 * leaves behind would otherwise tax the next, by up to half on the in-memory case. A case that needs Redis
 * gets a private redis-server on a free port, started before its process and stopped after it, so no case
 * sees another's keys; `BENCH_REDIS_URL` replaces it with a Redis of your own, which every case flushes.
 * Contenders of one case share its process and alternate round by round after a warm-up; a case reports
 * medians. `BENCH_ROUNDS` sets the rounds (default 5).
 *
 * `npm run bench -- set-many memory` runs the cases whose name or one of whose rows contains one of those
 * words, and leaves `bench/results.json` alone; a full run (no words, every case succeeded) rewrites it.
 */

import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import os from "node:os"
import { Redis } from "ioredis"
import { startRedisServer } from "../test/support/redisServer.js"
import type { AnyBenchCase, Row } from "./BenchCase.js"
import { cases } from "./cases/index.js"
import { compare } from "./measure.js"

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const DEFAULT_TIMEOUT_MS = 180_000
const RESULT_LINE = "bench-results:"

const roundsOf = (benchCase: AnyBenchCase) => benchCase.rounds?.(ROUNDS) ?? ROUNDS

/** In a case's own process: setup, the rounds, report, teardown; the rows as one line of JSON on stdout. */
const runCase = async (
  benchCase: AnyBenchCase,
  redisUrl: string | undefined,
): Promise<ReadonlyArray<Row>> => {
  if (redisUrl !== undefined && process.env.BENCH_REDIS_URL !== undefined) {
    const client = new Redis(redisUrl)
    await client.flushdb()
    client.disconnect()
  }
  const rounds = roundsOf(benchCase)
  const state = await benchCase.setup({ redisUrl, rounds })
  try {
    const medians = await compare(benchCase.contenders(state), { rounds, warmup: benchCase.warmup ?? true })
    const rows = benchCase.report(medians, state)
    const names = rows.map((r) => r.name)
    if (names.join("\n") !== benchCase.rows.join("\n")) {
      throw new Error(`case ${benchCase.name} reported [${names}], declared [${benchCase.rows}]`)
    }
    return rows
  } finally {
    await benchCase.teardown(state)
  }
}

/** In the parent: one case in a child process, with its own redis-server, bounded in time. */
const runChild = async (benchCase: AnyBenchCase): Promise<ReadonlyArray<Row>> => {
  const needsRedis = benchCase.redis ?? true
  const server =
    needsRedis && process.env.BENCH_REDIS_URL === undefined ? await startRedisServer() : undefined
  const redisUrl = needsRedis ? (process.env.BENCH_REDIS_URL ?? server!.url) : undefined
  try {
    return await new Promise<ReadonlyArray<Row>>((resolve, reject) => {
      // --expose-gc: the memory cases measure the heap after a full collection.
      const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", process.argv[1]!], {
        env: { ...process.env, BENCH_CASE: benchCase.name, BENCH_CASE_REDIS_URL: redisUrl ?? "" },
        stdio: ["ignore", "pipe", "inherit"],
      })
      const timeoutMs = benchCase.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        reject(new Error(`bench case ${benchCase.name} took longer than ${timeoutMs / 1000} s`))
      }, timeoutMs)
      let output = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk
      })
      child.on("error", reject)
      child.on("exit", (code) => {
        clearTimeout(timer)
        const lines = output.split("\n")
        // Whatever else the case printed (logs, warnings) goes to stderr, so the table stays readable.
        for (const line of lines) if (line !== "" && !line.startsWith(RESULT_LINE)) console.error(line)
        const result = lines.find((l) => l.startsWith(RESULT_LINE))
        if (code !== 0 || result === undefined)
          reject(new Error(`bench case ${benchCase.name} failed (exit ${code})`))
        else resolve(JSON.parse(result.slice(RESULT_LINE.length)) as ReadonlyArray<Row>)
      })
    })
  } finally {
    await server?.stop()
  }
}

const formatNumber = (n: number | null, digits = 0) =>
  n === null
    ? "-"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

const printTable = (rows: ReadonlyArray<Row>) => {
  const cells = rows.map((r) => [
    r.name,
    formatNumber(r.opsPerSec),
    formatNumber(r.p50Ms, 3),
    formatNumber(r.p99Ms, 3),
    r.baseline === null ? "-" : `${r.baseline} (${formatNumber(r.baselineOpsPerSec)}/s)`,
    // A figure row carries its number where a ratio would be (its target names the unit).
    r.value !== null ? formatNumber(r.value, 1) : r.ratio === null ? "-" : r.ratio.toFixed(2),
    r.target === null ? "none (report)" : `${r.target} ${r.met ? "✓" : "✗"}`,
  ])
  const header = ["case", "ops/s", "p50 ms", "p99 ms", "baseline", "ratio", "target"]
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (row: ReadonlyArray<string>) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`)
  for (const row of cells) console.log(line(row))
  const notes = rows.filter((r) => r.note !== null)
  if (notes.length > 0) console.log(`\n${notes.map((r) => `${r.name}: ${r.note}`).join("\n")}`)
}

const only = process.env.BENCH_CASE
if (only !== undefined) {
  const benchCase = cases.find((c) => c.name === only)
  if (benchCase === undefined) throw new Error(`no bench case named ${only}`)
  const rows = await runCase(benchCase, process.env.BENCH_CASE_REDIS_URL || undefined)
  console.log(RESULT_LINE + JSON.stringify(rows))
  process.exit(0)
}

const names = new Set(cases.map((c) => c.name))
if (names.size !== cases.length) throw new Error("two bench cases share a name")
const wanted = process.argv.slice(2)
const selected = cases.filter(
  (c) => wanted.length === 0 || wanted.some((w) => c.name.includes(w) || c.rows.some((r) => r.includes(w))),
)
if (selected.length === 0) {
  console.error(`no case matches ${wanted.join(" ")}; the cases: ${[...names].join(", ")}`)
  process.exit(1)
}

const started = performance.now()
const rows: Array<Row> = []
const failures: Array<string> = []
for (const benchCase of selected) {
  const caseStart = performance.now()
  try {
    rows.push(...(await runChild(benchCase)))
    console.error(`${benchCase.name}: ${((performance.now() - caseStart) / 1000).toFixed(1)} s`)
  } catch (error) {
    failures.push(benchCase.name)
    console.error(error instanceof Error ? error.message : error)
  }
}
console.log(
  `\n${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${ROUNDS} rounds after ` +
    `a warm-up; medians; ${((performance.now() - started) / 1000).toFixed(0)} s.\n`,
)
printTable(rows)
if (failures.length > 0) {
  console.error(`\nfailed: ${failures.join(", ")}; bench/results.json left as it was`)
  process.exit(1)
}
// A partial run (`npm run bench -- name`) prints its table but leaves the recorded full run alone.
if (wanted.length === 0) {
  writeFileSync(new URL("../../bench/results.json", import.meta.url), `${JSON.stringify(rows, null, 2)}\n`)
}
process.exit(0)
