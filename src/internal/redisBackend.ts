/**
 * The Redis backend: turns `Backend` calls into ioredis commands with a timeout, a circuit breaker and
 * deadline-guarded writes. Works on a single Redis and, through `Topology`, on a Redis Cluster.
 */
import { Effect, type Scope } from "effect"
import type { Cluster, Redis } from "ioredis"
import { type CircuitBreaker, makeCircuitBreaker } from "./CircuitBreaker.js"
import { makeEncodedScript, mget } from "./encodedScript.js"
import { makeGetBatcher } from "./GetBatcher.js"
import { NOT_AN_INTEGER, WOULD_OVERFLOW } from "./integer.js"
import { groupBySlot, keySlot } from "./keySlot.js"
import type { Backend, BackendFailure } from "./makeCache.js"
import * as Scripts from "./scripts.js"
import { makeServerClock, type ServerClock } from "./serverClock.js"

export interface RedisTuning {
  readonly commandTimeoutMs: number
  readonly breakerThreshold: number
  readonly breakerCooldownMs: number
}

/** Where keys live: which may share a multi-key command, and which nodes a SCAN must visit. */
export interface Topology {
  /** Groups of indices into `keys` whose keys may share one multi-key command. */
  readonly group: (keys: ReadonlyArray<string>) => ReadonlyArray<ReadonlyArray<number>>
  /** The nodes holding data (every master in a cluster). */
  readonly masters: () => ReadonlyArray<Redis>
  /** Which node serves a key, so each node gets a circuit breaker and a server-clock estimate of its own. */
  readonly nodeOf: (key: string) => string
  /** The id `nodeOf` gives a node's keys. */
  readonly idOf: (node: Redis) => string
  /** The node with that id now, if any (nodes come and go with failovers and resharding). */
  readonly node: (id: string) => Redis | undefined
  /** How the scan-and-unlink script deletes a page: one UNLINK for all, or one per key (cluster). */
  readonly unlinkMode: "batch" | "each"
}

/** A single Redis: every key may share a command; SCAN visits the one node. */
export const singleNode = (client: Redis): Topology => ({
  group: (keys) => (keys.length === 0 ? [] : [keys.map((_, i) => i)]),
  masters: () => [client],
  nodeOf: () => "",
  idOf: () => "",
  node: () => client,
  unlinkMode: "batch",
})

/**
 * A Redis Cluster: multi-key commands carry keys of one slot (computed here, exactly as the server does:
 * ioredis's own slot function disagrees on keys like `{}{a}`); SCAN and FLUSHDB visit every master.
 */
export const clusterNodes = (cluster: Cluster): Topology => {
  // ioredis names nodes host:port, in `slots` and in its connection pool alike.
  const idOf = (node: Redis) => `${node.options.host}:${node.options.port}`
  return {
    group: groupBySlot,
    masters: () => cluster.nodes("master"),
    nodeOf: (key) => cluster.slots[keySlot(key)]?.[0] ?? "",
    idOf,
    node: (id) => cluster.nodes("master").find((node) => idOf(node) === id),
    unlinkMode: "each",
  }
}

const SCRIPT_PREFIX = "effectCache"
const MGET_CHUNK = 10_000
/** Keys per setMany script call: its `unpack` of 2 × SET_CHUNK values must stay under Lua's 8,000-slot C stack. */
const SET_CHUNK = 1_000
/** Keys visited per SCAN page inside the scan-and-unlink script. */
const SCAN_COUNT = 1_000
/** How long one scan-and-unlink call may keep Redis busy before it returns the cursor. */
const SCAN_BUDGET_MS = 5

class TimeoutMarker {
  constructor(readonly ms: number) {}
}

type ScriptName = "set" | "del" | "expire" | "incrBy"

type ScriptCaller = (
  client: Redis | Cluster,
  name: ScriptName,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>,
) => Promise<unknown>

const defineScripts = (client: Redis | Cluster): ScriptCaller => {
  const definitions: Record<ScriptName, Scripts.ScriptDefinition> = {
    set: Scripts.set,
    del: Scripts.del,
    expire: Scripts.expire,
    incrBy: Scripts.incrBy,
  }
  for (const [name, definition] of Object.entries(definitions)) {
    client.defineCommand(SCRIPT_PREFIX + name, definition)
  }
  return (target, name, keys, args) => {
    // biome-ignore lint/suspicious/noExplicitAny: ioredis adds defineCommand methods dynamically
    const command = (target as any)[SCRIPT_PREFIX + name] as (...a: Array<unknown>) => Promise<unknown>
    const fixed = definitions[name].numberOfKeys !== undefined
    return fixed
      ? command.call(target, ...keys, ...args)
      : command.call(target, keys.length, ...keys, ...args)
  }
}

/** Maps anything ioredis rejects with to a reason and a scrubbed detail; the original error is dropped. */
export const classifier =
  (scrub: (text: string) => string) =>
  (error: unknown): BackendFailure => {
    if (error instanceof TimeoutMarker) return { reason: "Timeout", detail: `no reply within ${error.ms} ms` }
    const message = scrub(error instanceof Error ? error.message : String(error))
    const firstLine = message.split("\n")[0]!.replace(/ script: .*$/, "")
    const name = error instanceof Error ? error.name : ""
    if (name !== "ReplyError") return { reason: "Connection", detail: firstLine, cause: new Error(firstLine) }
    if (firstLine.startsWith(Scripts.DEADLINE_ERROR)) return { reason: "Timeout", detail: firstLine }
    if (/^(NOAUTH|WRONGPASS|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOPERM|READONLY)/.test(firstLine)) {
      return { reason: "Connection", detail: firstLine, cause: new Error(firstLine) }
    }
    const detail = firstLine.includes("not an integer")
      ? NOT_AN_INTEGER
      : firstLine.includes("overflow")
        ? WOULD_OVERFLOW
        : firstLine.replace(/^ERR /, "")
    return { reason: "Command", detail, cause: new Error(firstLine) }
  }

/** Builds the backend over a connected (or connecting) client. */
export const makeRedisBackend = (
  client: Redis | Cluster,
  tuning: RedisTuning,
  scrub: (text: string) => string,
  topology: Topology = singleNode(client as Redis),
): Effect.Effect<Backend, never, Scope.Scope> =>
  Effect.gen(function* () {
    const timeoutMs = tuning.commandTimeoutMs
    const classify = classifier(scrub)
    const script = defineScripts(client)
    const setManyScript = makeEncodedScript(Scripts.setMany.lua)
    // One breaker per node: in a cluster, a dead master must not stop the calls that go to the others.
    // Network time is real time: the cool-down runs on the wall clock even under a TestClock.
    const nodeIdOf = (key: string | undefined) => (key === undefined ? "" : topology.nodeOf(key))
    const breakers = new Map<string, CircuitBreaker>()
    const breakerFor = (key: string | undefined): CircuitBreaker => {
      const node = nodeIdOf(key)
      let breaker = breakers.get(node)
      if (breaker === undefined) {
        breaker = makeCircuitBreaker(
          { failureThreshold: tuning.breakerThreshold, cooldownMs: tuning.breakerCooldownMs },
          Date.now,
        )
        breakers.set(node, breaker)
      }
      return breaker
    }
    const clockFor = yield* trackServerClocks(client, topology)

    const withTimeout = <A>(promise: Promise<A>): Promise<A> =>
      new Promise<A>((resolve, reject) => {
        const timer = setTimeout(() => reject(new TimeoutMarker(timeoutMs)), timeoutMs)
        promise.then(
          (value) => {
            clearTimeout(timer)
            resolve(value)
          },
          (error) => {
            clearTimeout(timer)
            reject(error)
          },
        )
      })

    // One timer per command instead of Effect.timeout's extra fiber: this is the hot path.
    const call = <A>(run: () => Promise<A>, key?: string): Effect.Effect<A, BackendFailure> =>
      breakerFor(key).protect(Effect.tryPromise({ try: () => withTimeout(run()), catch: classify }))

    /** For operations of several round trips: each round trip inside `run` carries its own timeout. */
    const callSteps = <A>(run: () => Promise<A>, key?: string): Effect.Effect<A, BackendFailure> =>
      breakerFor(key).protect(Effect.tryPromise({ try: run, catch: classify }))

    /**
     * The instant, on the clock of the node serving `key` (or `node`), after which a write sent now must not
     * run (see scripts.ts). Cluster nodes are separate machines with clocks of their own.
     */
    const deadline = (key: string | undefined) => clockFor(nodeIdOf(key)).deadline(timeoutMs)
    const deadlineOn = (node: Redis) => clockFor(topology.idOf(node)).deadline(timeoutMs)

    const batcher = makeGetBatcher({
      mget: (keys) => mget(client, keys),
      group: topology.group,
      classify,
      breakerFor,
      timeoutMs,
      maxBatch: 1_000,
      eagerBatch: 64,
    })

    const inGroups = <A>(
      keys: ReadonlyArray<string>,
      chunk: number,
      run: (indices: ReadonlyArray<number>) => Promise<A>,
    ): Promise<Array<A>> => {
      const calls: Array<Promise<A>> = []
      for (const group of topology.group(keys)) {
        for (let start = 0; start < group.length; start += chunk) {
          calls.push(withTimeout(run(group.slice(start, start + chunk))))
        }
      }
      return Promise.all(calls)
    }

    // Per node, not through the cluster router: SCAN and FLUSHDB are node-local. EVAL (not EVALSHA) keeps
    // this free of per-node script caches; these calls are few and the scripts short.
    const evalOn = (
      node: Redis,
      definition: Scripts.ScriptDefinition,
      args: ReadonlyArray<string | number>,
    ) => withTimeout(node.eval(definition.lua, 0, ...args))

    const scanAndUnlink = async (node: Redis, pattern: string): Promise<number> => {
      let deleted = 0
      let cursor = "0"
      do {
        const [next, count] = (await evalOn(node, Scripts.scanUnlink, [
          deadlineOn(node),
          cursor,
          pattern,
          SCAN_COUNT,
          topology.unlinkMode,
          SCAN_BUDGET_MS,
        ])) as [string, number]
        cursor = String(next)
        deleted += Number(count)
      } while (cursor !== "0")
      return deleted
    }

    const backend: Backend = {
      get: batcher.get,
      getMany: (keys) =>
        keys.length <= MGET_CHUNK && topology.masters().length === 1
          ? call(() => mget(client, keys), keys[0])
          : callSteps(async () => {
              const values: Array<string | null> = new Array(keys.length).fill(null)
              await inGroups(keys, MGET_CHUNK, async (indices) => {
                const found = await mget(
                  client,
                  indices.map((i) => keys[i]!),
                )
                indices.forEach((index, j) => {
                  values[index] = found[j] ?? null
                })
              })
              return values
            }),
      set: (key, value, ttlMs) =>
        Effect.asVoid(call(() => script(client, "set", [key], [deadline(key), value, ttlMs ?? ""]), key)),
      setMany: (entries, ttlMs) =>
        Effect.asVoid(
          callSteps(() => {
            const ttl = ttlMs === undefined ? "" : String(ttlMs)
            return inGroups(
              entries.map(([key]) => key),
              SET_CHUNK,
              (indices) => {
                const keys = indices.map((i) => entries[i]![0])
                // Every key of a group is on one node: that node's clock states the deadline.
                const args = [String(deadline(keys[0])), ttl]
                for (const i of indices) args.push(entries[i]![1])
                return setManyScript(client, keys, args)
              },
            )
          }, entries[0]?.[0]),
        ),
      delete: (key) =>
        Effect.map(
          call(() => script(client, "del", [key], [deadline(key)]), key),
          (n) => n === 1,
        ),
      exists: (key) =>
        Effect.map(
          call(() => client.exists(key), key),
          (n) => n === 1,
        ),
      expire: (key, ttlMs) =>
        Effect.map(
          call(
            () =>
              script(
                client,
                "expire",
                [key],
                [deadline(key), ttlMs === "persist" ? "persist" : Math.max(ttlMs, 0)],
              ),
            key,
          ),
          (n) => n === 1,
        ),
      pttl: (key) => call(() => client.pttl(key), key),
      incrBy: (key, amount, ttlMs) =>
        Effect.map(
          call(() => script(client, "incrBy", [key], [deadline(key), amount, ttlMs ?? ""]), key),
          (n) => Number(n),
        ),
      deletePattern: (pattern) =>
        callSteps(async () => {
          const counts = await Promise.all(topology.masters().map((node) => scanAndUnlink(node, pattern)))
          return counts.reduce((a, b) => a + b, 0)
        }),
      flushAll: callSteps(() =>
        Promise.all(topology.masters().map((node) => evalOn(node, Scripts.flushDb, [deadlineOn(node)]))),
      ).pipe(Effect.asVoid),
      ping: Effect.map(
        call(() => client.ping()),
        (reply) => reply === "PONG",
      ),
    }
    return backend
  })

/**
 * One server-clock estimate (serverClock.ts) per node, each kept fresh for as long as the backend lives:
 * the clocks of the masters already known are sampled at once and on every (re)connect, a node seen later
 * on its first write. Samples go to the node by id, so a failover to another machine gets a new estimate.
 */
const trackServerClocks = (client: Redis | Cluster, topology: Topology) =>
  Effect.gen(function* () {
    const clocks = new Map<string, ServerClock>()
    const clockFor = (id: string): ServerClock => {
      let clock = clocks.get(id)
      if (clock === undefined) {
        clock = makeServerClock({
          time: () => topology.node(id)?.time() ?? Promise.reject(new Error(`no node ${id}`)),
          now: () => performance.now(),
          schedule: (ms, run) => {
            const timer = setTimeout(run, ms)
            timer.unref()
            return () => clearTimeout(timer)
          },
        })
        clocks.set(id, clock)
        clock.sync()
      }
      return clock
    }
    const syncAll = () => {
      for (const node of topology.masters()) {
        const id = topology.idOf(node)
        const known = clocks.get(id)
        // A new clock takes its first sample as it is made.
        if (known === undefined) clockFor(id)
        else known.sync()
      }
    }
    client.on("ready", syncAll)
    if (client.status === "ready") syncAll()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        client.off("ready", syncAll)
        for (const clock of clocks.values()) clock.stop()
      }),
    )
    return clockFor
  })
