/**
 * What a benchmark case is: the interface every file under `bench/cases/` implements, and the rows it
 * reports. The runner (`bench/main.ts`) owns everything else: the fresh Node process per case, the private
 * redis-server, the warm-up, the alternating rounds and the medians.
 *
 * A case, in the order the runner calls it:
 *
 * 1. `setup(context)` once: clients, layers, the keys the workload reads. Returns the case's state.
 * 2. `contenders(state)` once: one function per contender, each running the workload **once** (one round)
 *    and returning its `Sample`. The runner calls every contender once as a warm-up, then `rounds` times
 *    in turn (ours, baseline, ours, baseline, …), so drift on a shared machine hits them alike.
 * 3. `report(medians, state)` once: the median `Sample` of each contender, by the name `contenders` gave
 *    it; returns the rows, whose names must be exactly `rows` (the runner checks).
 * 4. `teardown(state)` always, even when a round failed.
 *
 * Adding a case: write `bench/cases/<name>.ts` exporting `defineCase({...})`, and list it in
 * `bench/cases/index.ts`. `bench/cases/get-many-1000.ts` is the smallest Redis example,
 * `bench/cases/memory-bytes-per-entry.ts` a figure that is not a ratio.
 *
 * Porting a case written for the earlier single-file runner (`(env: Env) => Effect<void, unknown, Scope>`):
 * what it built from `env` (`raw`, `cache`, `run`, layers) moves to `setup` (`rawClients`, `ourRedisCache`,
 * `buildLayer` in `bench/workload.ts`) and is closed in `teardown`; the record it passed to `compare` is
 * `contenders`; each `record(name, ours, baseline, target, met)` becomes `row(name, ours, { baseline,
 * target, met })` in `report`. Where the target is against "the faster raw client", name the contenders
 * `IOREDIS` and `NODE_REDIS` and take the baseline from `fasterRaw`.
 */

/** One round of one contender. */
export interface Sample {
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** For a figure that is not a throughput (bytes per entry, a stall): the figure itself. */
  readonly value?: number
  /** Free text a round wants kept (e.g. its own breakdown); the median round's is reported. */
  readonly note?: string
}

/** One row of `bench/results.json` and of the printed table. */
export interface Row {
  /** Exact, stable: the README and issue 13 refer to rows by name. */
  readonly name: string
  /** Null for a row that is a `value` rather than a throughput. */
  readonly opsPerSec: number | null
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** What the ratio divides by, in words (e.g. "node-redis 5 GET"); null when there is none. */
  readonly baseline: string | null
  readonly baselineOpsPerSec: number | null
  /** opsPerSec ÷ baselineOpsPerSec. */
  readonly ratio: number | null
  /** The figure of a row that is not a ratio (`memory-bytes-per-entry`, `memory-expiry-stall-ms`). */
  readonly value: number | null
  /** In words (`ratio >= 1.2`, `value <= 80`); null for a row kept as a report only. */
  readonly target: string | null
  /** Whether the target is met; a row without a target is `true` (there is nothing to miss). */
  readonly met: boolean
  /** Why a row reads as it does (a retired target, how a figure was measured); null when nothing. */
  readonly note: string | null
}

/** What the runner hands a case's `setup`. */
export interface CaseContext {
  /**
   * A private, empty Redis for this case alone (the runner started it on a free port and stops it after the
   * case), or the `BENCH_REDIS_URL` one, flushed. Undefined when the case said `redis: false`.
   */
  readonly redisUrl: string | undefined
  /** How many measured rounds the runner will run (after the warm-up). */
  readonly rounds: number
}

export interface BenchCase<State> {
  /** Unique; `npm run bench -- <word>` runs the cases whose name or one of whose rows contains the word. */
  readonly name: string
  /** The exact names of the rows `report` returns, in order. */
  readonly rows: ReadonlyArray<string>
  /** Whether the case needs a Redis. Default: true. */
  readonly redis?: boolean
  /**
   * Measured rounds for this case, from the configured count (`BENCH_ROUNDS`, default 5). Default: that
   * count. For cases whose round takes seconds (the 1M-entry memory cases).
   */
  readonly rounds?: (configured: number) => number
  /** Whether each contender runs once unmeasured first. Default: true. */
  readonly warmup?: boolean
  /** Bounds the whole case (setup to teardown) in the runner; the case fails past it. Default: 3 minutes. */
  readonly timeoutMs?: number
  readonly setup: (context: CaseContext) => Promise<State>
  readonly contenders: (state: State) => Readonly<Record<string, () => Promise<Sample>>>
  readonly report: (medians: Readonly<Record<string, Sample>>, state: State) => ReadonlyArray<Row>
  readonly teardown: (state: State) => Promise<void>
}

/** A case whose state type has been forgotten, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds cases of different state types
export type AnyBenchCase = BenchCase<any>

/** Type-checks a case against its own state type. */
export const defineCase = <State>(benchCase: BenchCase<State>): BenchCase<State> => benchCase

/** A throughput row (`ratio`, `baseline`); the remaining fields default to null, `met` to true. */
export const row = (
  name: string,
  ours: Sample,
  fields: {
    readonly baseline?: { readonly name: string; readonly sample: Sample } | undefined
    readonly target?: string | null | undefined
    readonly met?: ((ratio: number | null) => boolean) | undefined
    readonly note?: string | null | undefined
  } = {},
): Row => {
  const ratio = fields.baseline === undefined ? null : ours.opsPerSec / fields.baseline.sample.opsPerSec
  return {
    name,
    opsPerSec: ours.opsPerSec,
    p50Ms: ours.p50Ms,
    p99Ms: ours.p99Ms,
    baseline: fields.baseline?.name ?? null,
    baselineOpsPerSec: fields.baseline?.sample.opsPerSec ?? null,
    ratio,
    value: null,
    target: fields.target ?? null,
    met: fields.met === undefined ? true : fields.met(ratio),
    note: fields.note ?? null,
  }
}

/** A row carrying a figure in `value` (no throughput, no ratio). */
export const valueRow = (
  name: string,
  value: number,
  fields: { readonly target: string; readonly met: boolean; readonly note: string },
): Row => ({
  name,
  opsPerSec: null,
  p50Ms: null,
  p99Ms: null,
  baseline: null,
  baselineOpsPerSec: null,
  ratio: null,
  value,
  target: fields.target,
  met: fields.met,
  note: fields.note,
})
