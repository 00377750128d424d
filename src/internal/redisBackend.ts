/**
 * The Redis backend: turns `Backend` calls into ioredis commands with a timeout, a circuit breaker and
 * deadline-guarded writes. Works on a single Redis and, through `Topology`, on a Redis Cluster.
 *
 * Every command is accounted for where its promise settles, not where the calling fiber waits: a caller
 * that gave up (its own `Effect.timeout`, an interrupted request) leaves a command that may still time out,
 * and that timeout is evidence about the node all the same. The number of unanswered commands per node is
 * bounded, so a hung node cannot make the process queue without limit before the breaker opens.
 */
import { Effect, type Option, Runtime, type Scope } from "effect"
import type { Cluster, Redis } from "ioredis"
import type { CacheError } from "../Cache.js"
import { type CircuitBreaker, makeCircuitBreaker } from "./CircuitBreaker.js"
import { type ConnectionState, connectionStateOf } from "./connectionState.js"
import { makeEncodedScript, mget } from "./encodedScript.js"
import { makeGetBatcher } from "./GetBatcher.js"
import { NOT_AN_INTEGER, WOULD_OVERFLOW } from "./integer.js"
import { groupBySlot, keySlot, slotToken } from "./keySlot.js"
import { type LocalTier, makeLocalTier } from "./localTier.js"
import type { Backend, BackendFailure } from "./makeCache.js"
import { ReadNow } from "./readNow.js"
import { setReplyTimeout } from "./replyTimer.js"
import { resumable } from "./resumable.js"
import * as Scripts from "./scripts.js"
import { makeServerClock, type ServerClock } from "./serverClock.js"
import { makeTracking, type Tracking } from "./tracking.js"
import { makeWriteBatcher, RunCode } from "./WriteBatcher.js"

/**
 * @since 0.2.0
 * @category internal
 */
export interface RedisTuning {
  readonly commandTimeoutMs: number
  readonly breakerThreshold: number
  readonly breakerCooldownMs: number
  /** Commands sent to one node and not yet answered; more fail at once with `Connection`. */
  readonly maxPendingCommands: number
}

/**
 * The local tier's settings (`localCache`), resolved.
 *
 * @since 0.2.0
 * @category internal
 */
export interface LocalCacheTuning {
  readonly maxEntries: number
  readonly ttlMs: number | undefined
  readonly maxReconnectDelayMs: number
  /** Called for each key a read looks up in the local tier: `true` for a hit. */
  readonly onLookup?: ((hit: boolean) => void) | undefined
}

/**
 * Where keys live: which may share a multi-key command, and which nodes a SCAN must visit.
 *
 * @since 0.2.0
 * @category internal
 */
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
  /** Calls `listener` whenever slots move to other nodes (cluster); returns the way to stop. */
  readonly onSlotsChange?: ((listener: () => void) => () => void) | undefined
  /**
   * The slot whose tag bookkeeping a key uses (its record, its tags' indexes): its hash slot in a cluster,
   * where they must share the key's node; one shared slot (0) on a single node, so a tag has one index.
   */
  readonly tagSlot: (key: string) => number
  /** Whether tags need a registry of the slots holding their indexes (a cluster). */
  readonly slotRegistry: boolean
}

/**
 * A single Redis: every key may share a command; SCAN visits the one node.
 *
 * @since 0.2.0
 * @category internal
 */
export const singleNode = (client: Redis): Topology => ({
  group: (keys) => (keys.length === 0 ? [] : [keys.map((_, i) => i)]),
  masters: () => [client],
  nodeOf: () => "",
  idOf: () => "",
  node: () => client,
  unlinkMode: "batch",
  tagSlot: () => 0,
  slotRegistry: false,
})

/**
 * A Redis Cluster: multi-key commands carry keys of one slot (computed here, exactly as the server does:
 * ioredis's own slot function disagrees on keys like `{}{a}`); SCAN and FLUSHDB visit every master.
 *
 * @since 0.2.0
 * @category internal
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
    onSlotsChange: (listener) => {
      const fingerprint = () => cluster.slots.map((nodes) => nodes?.[0] ?? "").join(",")
      let last = fingerprint()
      const onRefresh = () => {
        const now = fingerprint()
        if (now === last) return
        last = now
        listener()
      }
      cluster.on("refresh", onRefresh)
      return () => cluster.off("refresh", onRefresh)
    },
    tagSlot: keySlot,
    slotRegistry: true,
  }
}

const MGET_CHUNK = 10_000
/** Keys per setMany script call: its `unpack` of 2 × SET_CHUNK values must stay under Lua's 8,000-slot C stack. */
const SET_CHUNK = 1_000
/**
 * Round trips of one large operation (setMany, getMany of many chunks) in flight at once. Each round
 * trip's timeout starts when it is sent, so a million-key setMany is bounded per round trip, not per call,
 * and its memory by the window, not the batch.
 */
const WINDOW = 4
/** Keys visited per SCAN page inside the scan-and-unlink script. */
const SCAN_COUNT = 1_000
/** How long one scan-and-unlink call may keep Redis busy before it returns the cursor. */
const SCAN_BUDGET_MS = 5
/** Tagged writes (one script call each) of one setMany in flight at once. */
const TAGGED_WINDOW = 256
/** Index members one invalidation call pops and deletes: about a millisecond of Redis time. */
const INVALIDATE_CHUNK = 1_000
/**
 * How much longer than the tagged write it announces a slot registration lives (and how much sooner this
 * process registers again): covers the time between the registration and the write's own expiry start.
 */
const REGISTRY_MARGIN_MS = 60_000
/** (tag, slot) registrations remembered per process; the memo starts over past this many. */
const REGISTRY_MEMO_SIZE = 100_000

class TimeoutMarker {
  constructor(readonly ms: number) {}
}

class PendingLimitMarker {
  constructor(readonly limit: number) {}
}

const ignore = (): void => undefined

/** A ttl as a script argument; the text of the last one is kept, as callers repeat theirs. */
let lastTtl: number | undefined
let lastTtlText = ""
const ttlText = (ttlMs: number): string => {
  if (ttlMs !== lastTtl) {
    lastTtl = ttlMs
    lastTtlText = String(ttlMs)
  }
  return lastTtlText
}
const isOne = (reply: unknown): boolean => reply === 1

/** ioredis's wording for "the command was refused because the connection is not up". */
const NOT_WRITABLE =
  /^Stream isn't writeable|^Connection is closed|^Reached the max retries per request limit/
/** ioredis's wording for "the connection closed while the command waited for its reply". */
const LOST_IN_FLIGHT = /^Reached the max retries per request limit/

/**
 * Maps anything ioredis rejects with to a reason and a scrubbed detail; the original error is dropped.
 * ioredis's own internals ("Stream isn't writeable…") are replaced by what the connection state knows.
 *
 * @since 0.2.0
 * @category internal
 */
export const classifier =
  (scrub: (text: string) => string, connection?: ConnectionState) =>
  (error: unknown): BackendFailure => {
    if (error instanceof TimeoutMarker) return { reason: "Timeout", detail: `no reply within ${error.ms} ms` }
    if (error instanceof PendingLimitMarker) {
      return {
        reason: "Connection",
        detail: `${error.limit} commands are already waiting for replies from this Redis node`,
      }
    }
    const message = scrub(error instanceof Error ? error.message : String(error))
    const firstLine = message.split("\n")[0]!.replace(/ script: .*$/, "")
    const name = error instanceof Error ? error.name : ""
    if (name !== "ReplyError") {
      const detail = !NOT_WRITABLE.test(firstLine)
        ? firstLine
        : LOST_IN_FLIGHT.test(firstLine)
          ? `the connection closed before Redis replied (the command may have been applied)${
              connection?.lastError() === undefined ? "" : `: ${connection.lastError()}`
            }`
          : (connection?.notConnected() ?? "not connected to Redis")
      return { reason: "Connection", detail, cause: new Error(detail) }
    }
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

/**
 * Builds the backend over a connected (or connecting) client.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeRedisBackend = (
  client: Redis | Cluster,
  tuning: RedisTuning,
  scrub: (text: string) => string,
  extra: {
    readonly topology?: Topology | undefined
    /** Why every operation must fail now (a database or version the connection cannot use), if so. */
    readonly refusal?: (() => BackendFailure | undefined) | undefined
    /** Turns the local tier on (localTier.ts, tracking.ts). */
    readonly localCache?: LocalCacheTuning | undefined
    /** The cache's key prefix: tag bookkeeping keys live under it (`<prefix>__tags__:…`). */
    readonly keyPrefix?: string | undefined
  } = {},
): Effect.Effect<Backend, never, Scope.Scope> =>
  Effect.gen(function* () {
    const topology = extra.topology ?? singleNode(client as Redis)
    const refusal = extra.refusal ?? (() => undefined)
    const timeoutMs = tuning.commandTimeoutMs
    const classify = classifier(scrub, connectionStateOf(client))
    const setManyScript = makeEncodedScript(Scripts.setMany.lua)
    const health = yield* makeHealthLog()
    const local =
      extra.localCache === undefined ? undefined : yield* makeLocal(extra.localCache, topology, timeoutMs)
    if (local !== undefined && topology.onSlotsChange !== undefined) {
      // An entry belongs to the node its key was read from; once its slot serves elsewhere, writes there
      // would not invalidate it.
      const stop = topology.onSlotsChange(() => {
        local.tier.invalidateAll()
        local.tracking.prune(new Set(topology.masters().map(topology.idOf)))
      })
      yield* Effect.addFinalizer(() => Effect.sync(stop))
    }
    // One breaker per node: in a cluster, a dead master must not stop the calls that go to the others.
    // Network time is real time: the cool-down runs on the wall clock even under a TestClock.
    const nodeIdOf = (key: string | undefined) => (key === undefined ? "" : topology.nodeOf(key))
    const breakers = new Map<string, CircuitBreaker>()
    const breakerOf = (node: string): CircuitBreaker => {
      let breaker = breakers.get(node)
      if (breaker === undefined) {
        breaker = makeCircuitBreaker(
          {
            failureThreshold: tuning.breakerThreshold,
            cooldownMs: tuning.breakerCooldownMs,
            onOpen: (failure) =>
              health.down(node, `circuit breaker open: ${failure.detail ?? failure.reason}`),
            onClose: () => health.up(node),
          },
          Date.now,
        )
        if (local !== undefined) breaker = suspectOnOutage(breaker, () => local.tracking.suspect(node))
        breakers.set(node, breaker)
      }
      return breaker
    }
    const breakerFor = (key: string | undefined) => breakerOf(nodeIdOf(key))
    yield* followConnection(client, topology, {
      // The connection is ready again: no need to wait out a cool-down to find that out.
      ready: (node) => {
        if (node === undefined) for (const breaker of breakers.values()) breaker.reset()
        else breakers.get(node)?.reset()
        health.up(node ?? "")
      },
      error: (node, message) => health.down(node ?? "", message),
    })
    const clockFor = yield* trackServerClocks(client, topology)

    // Unanswered commands per node. A command leaves when ioredis settles it (a reply, or the connection's
    // end), not when our timer gives up on it: until then it holds memory in ioredis and the socket.
    const pending = new Map<string, number>()
    // Every command and batch passes here first: the place to refuse them all (refusal) and to bound them.
    // A batch of the GET or write batcher weighs as many commands as it carries operations: counted per
    // batch, 10,000 pending batches of 128 writes let 1.28 million writes queue in ioredis behind a hung
    // server. A batch bigger than the bound still goes when nothing else is pending.
    const admit = (node: string, weight = 1): BackendFailure | undefined => {
      const refused = refusal()
      if (refused !== undefined) return refused
      const count = pending.get(node) ?? 0
      if (count > 0 && count + weight > tuning.maxPendingCommands)
        return classify(new PendingLimitMarker(tuning.maxPendingCommands))
      pending.set(node, count + weight)
      return undefined
    }
    const leave = (node: string, weight = 1) => pending.set(node, (pending.get(node) ?? weight) - weight)

    const withTimeout = <A>(promise: Promise<A>): Promise<A> =>
      new Promise<A>((resolve, reject) => {
        const timer = setReplyTimeout(() => reject(new TimeoutMarker(timeoutMs)), timeoutMs)
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

    /**
     * Sends `run` to the node of `key` with the breaker's permission and the pending-command bound, and
     * tells the breaker its outcome when it settles, whether or not the caller still waits. `bounded`: one
     * timeout for the whole promise (a single round trip); otherwise `run` bounds each of its round trips.
     *
     * No canceller is returned: Effect would wrap every call in onInterrupt, which costs more than the call.
     * An interrupted fiber's resume callback has already fired (Effect uses it as the interruptor), so the
     * later resume is ignored.
     */
    const send = <A>(run: () => Promise<A>, key: string | undefined, bounded: boolean) =>
      resumable<A, BackendFailure>((resume) => {
        const node = nodeIdOf(key)
        const refused = admit(node)
        if (refused !== undefined) return resume(Effect.fail(refused))
        const breaker = breakerOf(node)
        const permit = breaker.tryAcquire()
        if (permit === undefined) {
          leave(node)
          return resume(Effect.fail(breaker.rejection()))
        }
        let sent: Promise<A>
        try {
          sent = run()
        } catch (error) {
          sent = Promise.reject(error)
        }
        sent.then(
          () => leave(node),
          () => leave(node),
        )
        ;(bounded ? withTimeout(sent) : sent).then(
          (value) => {
            breaker.record(permit, undefined)
            resume(Effect.succeed(value))
          },
          (error: unknown) => {
            const failure = classify(error)
            breaker.record(permit, failure)
            resume(Effect.fail(failure))
          },
        )
      })

    // One timer per command instead of Effect.timeout's extra fiber: this is the hot path.
    const call = <A>(run: () => Promise<A>, key?: string): Effect.Effect<A, BackendFailure> =>
      send(run, key, true)

    /** For operations of several round trips: each round trip inside `run` carries its own timeout. */
    const callSteps = <A>(run: () => Promise<A>, key?: string): Effect.Effect<A, BackendFailure> =>
      send(run, key, false)

    /**
     * The instant, on the clock of the node serving `key` (or `node`), after which a write sent now must not
     * run (see scripts.ts). Cluster nodes are separate machines with clocks of their own.
     */
    const deadline = (key: string | undefined) => clockFor(nodeIdOf(key)).deadline(timeoutMs)
    const deadlineOn = (node: Redis) => clockFor(topology.idOf(node)).deadline(timeoutMs)

    /**
     * MGET, or with the local tier on a node that tracks: the values and their PTTLs in one read-only script
     * (Redis tracks keys read inside scripts), stored in the tier if nothing invalidated them meanwhile.
     */
    const read =
      local === undefined
        ? (keys: ReadonlyArray<string>) => mget(client, keys)
        : (keys: ReadonlyArray<string>): Promise<Array<string | null>> => {
            const node = nodeIdOf(keys[0])
            local.tracking.ensure(node)
            const ticket = local.tier.beginRead(node, keys)
            if (ticket === undefined) return mget(client, keys)
            return readWithTtl(client, keys).then(
              ({ values, pttls }) => {
                // Served by another node than the ticket's (a MOVED followed meanwhile): not tracked there.
                if (nodeIdOf(keys[0]) === node) local.tier.endRead(ticket, keys, values, pttls)
                else local.tier.abortRead(keys)
                return values
              },
              (error: unknown) => {
                local.tier.abortRead(keys)
                throw error
              },
            )
          }

    const batcher = makeGetBatcher({
      mget: read,
      group: topology.group,
      classify,
      breakerFor,
      admit: (key, weight) => admit(nodeIdOf(key), weight),
      leave: (key, weight) => leave(nodeIdOf(key), weight),
      timeoutMs,
      maxBatch: 1_000,
      // At 256 concurrent readers: 256 (one MGET a round) left the client idle 27% of the time, waiting for
      // the one reply; 128 keeps two MGETs in flight, so one is answered while the fibers of the other run
      // (400-510k GETs/s against 260-370k at 256, alternating runs on the compiled build); 64 meant four
      // socket writes a round, and a write on loopback also does the receiving side's work.
      eagerBatch: 128,
    })

    const writeBatch = makeEncodedScript(Scripts.writeBatch.lua)
    const writer = makeWriteBatcher({
      send: (_node, keys, args) => writeBatch(client, keys, args),
      deadline: (node) => clockFor(node).deadline(timeoutMs),
      batchArguments: (key) => [tagBase(key), tagMarker(key)],
      group: topology.group,
      nodeOf: nodeIdOf,
      classify,
      breakerOf,
      admit,
      leave,
      // As ioredis's reconnectOnError does for a READONLY reply: drop the connection (a Sentinel client
      // asks the sentinels for the new master), once per connection.
      demoted: (node) => {
        const connection = topology.node(node)
        if (connection?.status === "ready") connection.disconnect(true)
      },
      timeoutMs,
      maxBatch: 512,
      // As for GETs: two batches in flight per 256-fiber round, half the socket writes of 64.
      eagerBatch: 128,
    })

    /**
     * Runs `run` over the keys in chunks (each within one group, at most `chunk` keys), WINDOW round trips
     * at a time, each with its own timeout from the moment it is sent. The first failure stops the sending
     * of further chunks; chunks already sent may still complete.
     */
    const inGroups = <A>(
      keys: ReadonlyArray<string>,
      chunk: number,
      run: (indices: ReadonlyArray<number>) => Promise<A>,
    ): Promise<Array<A>> => {
      const chunks: Array<readonly [ReadonlyArray<number>, number]> = []
      for (const group of topology.group(keys)) {
        for (let start = 0; start < group.length; start += chunk) chunks.push([group, start])
      }
      return windowed(chunks.length, (i) => {
        const [group, start] = chunks[i]!
        return withTimeout(run(group.slice(start, start + chunk)))
      })
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

    const scanCount = async (node: Redis, pattern: string): Promise<number> => {
      let counted = 0
      let cursor = "0"
      do {
        const [next, count] = (await evalOn(node, Scripts.scanCount, [
          cursor,
          pattern,
          SCAN_COUNT,
          SCAN_BUDGET_MS,
        ])) as [string, number]
        cursor = String(next)
        counted += Number(count)
      } while (cursor !== "0")
      return counted
    }

    // Tags (README "Tags"). Bookkeeping keys live under the prefix, so flush and deletePattern of the
    // prefix remove them too: per key a record of its tags, per (tag, slot) an index of keys, and in a
    // cluster per tag a registry of the slots that may hold an index.
    const tagPrefix = `${extra.keyPrefix ?? ""}__tags__:`
    /** One string per slot, built on first use (a slot's tag keys are named on every write to it). */
    const perSlot = (name: (token: string) => string) => {
      const names: Array<string | undefined> = []
      return (slot: number): string => {
        let known = names[slot]
        if (known === undefined) {
          known = name(slotToken(slot))
          names[slot] = known
        }
        return known
      }
    }
    const baseOfSlot = perSlot((token) => `${tagPrefix}{${token}}`)
    const tagBase = (key: string) => baseOfSlot(topology.tagSlot(key))
    // Whether tags are in use in a slot (scripts.ts `writeBatch`); outside the base, so that the records and
    // indexes (`<base>k:…`, `<base>t:…`) can be counted without it.
    const markerOfSlot = perSlot((token) => `${tagPrefix}u{${token}}`)
    const tagMarker = (key: string) => markerOfSlot(topology.tagSlot(key))
    const registryKey = (tag: string) => `${tagPrefix}r:${tag}`
    const taggedSetScript = makeEncodedScript(Scripts.taggedSet.lua)
    const registerScript = makeEncodedScript(Scripts.registerTagSlot.lua)
    const invalidateScript = makeEncodedScript(Scripts.invalidateTagIndex.lua)
    // (tag, slot) → until when (client ms) this process knows the registration to live.
    const registered = new Map<string, number>()

    /** Registers the slots of a tagged write in its tags' registries first (a cluster only). */
    const register = async (tags: ReadonlyArray<string>, slot: number, ttlMs: number | undefined) => {
      if (!topology.slotRegistry) return
      const now = Date.now()
      const needed = ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs + REGISTRY_MARGIN_MS
      const pending: Array<Promise<unknown>> = []
      for (const tag of tags) {
        const memo = `${slot}\u0000${tag}`
        if ((registered.get(memo) ?? 0) >= needed) continue
        const registry = registryKey(tag)
        const lives = ttlMs === undefined ? undefined : ttlMs + 2 * REGISTRY_MARGIN_MS
        pending.push(
          withTimeout(
            registerScript(
              client,
              [registry],
              [String(deadline(registry)), String(slot), lives === undefined ? "" : String(lives)],
            ),
          ).then(() => {
            if (registered.size >= REGISTRY_MEMO_SIZE) registered.clear()
            registered.set(memo, lives === undefined ? Number.POSITIVE_INFINITY : now + lives)
          }),
        )
      }
      await Promise.all(pending)
    }

    const writeTagged = async (key: string, value: string, tags: ReadonlyArray<string>, ttl: string) => {
      const slot = topology.tagSlot(key)
      await register(tags, slot, ttl === "" ? undefined : Number(ttl))
      const base = baseOfSlot(slot)
      const keys = [key, `${base}k:${key}`]
      const args = [String(deadline(key)), ttl, value, base, markerOfSlot(slot)]
      for (const tag of tags) {
        keys.push(`${base}t:${tag}`)
        args.push(tag)
      }
      await withTimeout(taggedSetScript(client, keys, args))
    }

    /** Deletes the keys of one (tag, slot) index, a bounded number of members per call. */
    const invalidateIndex = async (tag: string, slot: number): Promise<number> => {
      const base = baseOfSlot(slot)
      const index = `${base}t:${tag}`
      let deleted = 0
      let calls = 0
      let most = Number.POSITIVE_INFINITY
      for (;;) {
        const [count, left] = (await withTimeout(
          invalidateScript(client, [index], [String(deadline(index)), base, tag, String(INVALIDATE_CHUNK)]),
        )) as [number, number]
        deleted += Number(count)
        calls++
        // Members added meanwhile are writes during the call: bounded, so a busy tag cannot keep it going.
        if (most === Number.POSITIVE_INFINITY) most = Math.ceil(Number(left) / INVALIDATE_CHUNK) + 2
        if (Number(left) === 0 || calls >= most) return deleted
      }
    }

    const invalidateTag = async (tag: string): Promise<number> => {
      const slots = topology.slotRegistry
        ? (await withTimeout(client.smembers(registryKey(tag)))).map(Number)
        : [0]
      const counts = await Promise.all(slots.map((slot) => invalidateIndex(tag, slot)))
      return counts.reduce((a, b) => a + b, 0)
    }

    // Lease operations: single-key scripts of their own, outside the write batch.
    const setIfAbsentScript = makeEncodedScript(Scripts.setIfAbsent.lua)
    const deleteIfEqualsScript = makeEncodedScript(Scripts.deleteIfEquals.lua)

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
      set: (key, value, ttlMs, operation, callerKey) =>
        ttlMs === undefined
          ? writer.write(key, operation, callerKey, ignore, RunCode.set, value)
          : writer.write(key, operation, callerKey, ignore, RunCode.setTtl, value, ttlText(ttlMs)),
      setMany: (entries, ttlMs) =>
        Effect.asVoid(
          callSteps(() => {
            const ttl = ttlMs === undefined ? "" : String(ttlMs)
            return inGroups(
              entries.map(([key]) => key),
              SET_CHUNK,
              (indices) => {
                const keys = indices.map((i) => entries[i]![0])
                const send = () => {
                  // Every key of a group is on one node: that node's clock states the deadline.
                  const args = [String(deadline(keys[0])), ttl]
                  for (const i of indices) args.push(entries[i]![1])
                  args.push(tagBase(keys[0]!), tagMarker(keys[0]!))
                  return setManyScript(client, keys, args)
                }
                // A big batch right after the event loop was blocked (building the batch, say) may find
                // the clock estimate too uncertain to leave a deadline in the future: measure again first.
                const clock = clockFor(nodeIdOf(keys[0]))
                return clock.uncertainFor(timeoutMs) ? clock.refreshed().then(send) : send()
              },
            )
          }, entries[0]?.[0]),
        ),
      delete: (key, operation, callerKey) => writer.write(key, operation, callerKey, isOne, "d"),
      exists: (key) =>
        Effect.map(
          call(() => client.exists(key), key),
          (n) => n === 1,
        ),
      expire: (key, ttlMs, operation, callerKey) =>
        writer.write(
          key,
          operation,
          callerKey,
          isOne,
          "e",
          ttlMs === "persist" ? "persist" : String(Math.max(ttlMs, 0)),
        ),
      pttl: (key) => call(() => client.pttl(key), key),
      incrBy: (key, amount, ttlMs, operation, callerKey) =>
        ttlMs === undefined
          ? writer.write(key, operation, callerKey, Number, RunCode.incrBy, String(amount))
          : writer.write(
              key,
              operation,
              callerKey,
              Number,
              RunCode.incrByTtl,
              String(amount),
              ttlText(ttlMs),
            ),
      deletePattern: (pattern) =>
        callSteps(async () => {
          // It may remove registries: this process registers again rather than trust its memo.
          registered.clear()
          const counts = await Promise.all(topology.masters().map((node) => scanAndUnlink(node, pattern)))
          return counts.reduce((a, b) => a + b, 0)
        }),
      countPattern: (pattern) =>
        callSteps(async () => {
          const counts = await Promise.all(topology.masters().map((node) => scanCount(node, pattern)))
          return counts.reduce((a, b) => a + b, 0)
        }),
      flushAll: callSteps(() => {
        registered.clear()
        return Promise.all(
          topology.masters().map((node) => evalOn(node, Scripts.flushDb, [deadlineOn(node)])),
        )
      }).pipe(Effect.asVoid),
      ping: Effect.map(
        call(() => client.ping()),
        (reply) => reply === "PONG",
      ),
      setIfAbsent: (key, value, ttlMs) =>
        Effect.map(
          call(
            () =>
              setIfAbsentScript(
                client,
                [key],
                [String(deadline(key)), ttlMs === undefined ? "" : String(ttlMs), value, tagBase(key)],
              ),
            key,
          ),
          isOne,
        ),
      deleteIfEquals: (key, value) =>
        Effect.map(
          call(() => deleteIfEqualsScript(client, [key], [String(deadline(key)), value, tagBase(key)]), key),
          isOne,
        ),
      // One script call per key (not through the write batcher): the key, its record and its indexes in one
      // atomic step. In a cluster the slot registrations go first, so an invalidation that runs meanwhile
      // knows every slot a tagged key may be in (visiting one too many is harmless).
      setTagged: (entries, ttlMs) =>
        callSteps(async () => {
          const ttl = ttlMs === undefined ? "" : String(ttlMs)
          for (let start = 0; start < entries.length; start += TAGGED_WINDOW) {
            await Promise.all(
              entries
                .slice(start, start + TAGGED_WINDOW)
                .map(([key, value, tags]) => writeTagged(key, value, tags, ttl)),
            )
          }
        }, entries[0]?.[0]),
      invalidateTags: (tags) =>
        callSteps(async () => {
          const counts = await Promise.all(tags.map(invalidateTag))
          return counts.reduce((a, b) => a + b, 0)
        }),
    }
    return local === undefined ? backend : withLocalTier(backend, local.tier, read, inGroups, callSteps)
  })

/** A breaker that also reports every connection failure or timeout it is told of to `onOutage`. */
const suspectOnOutage = (breaker: CircuitBreaker, onOutage: () => void): CircuitBreaker => ({
  ...breaker,
  record: (permit, failure) => {
    if (failure !== undefined && (failure.reason === "Connection" || failure.reason === "Timeout")) onOutage()
    breaker.record(permit, failure)
  },
})

/** `get` with the local tier: the tier looked up when the read runs (readNow.ts), Redis on a miss. */
class LocalGet extends ReadNow<Option.Option<string>, CacheError> {
  constructor(
    readonly tier: LocalTier,
    readonly backend: Backend,
    readonly key: string,
    readonly callerKey: string,
  ) {
    super()
  }
  run(): Effect.Effect<Option.Option<string>, CacheError> {
    return this.tier.lookup(this.key)?.result ?? this.backend.get(this.key, this.callerKey)
  }
}

/**
 * The backend with the local tier in front of its reads: `get` and `getMany` answer from the tier when they
 * can, and every write drops the keys it touches from the tier when it is sent and again when it settles, so
 * that a read sent before the write whose reply lands in between is not kept (read-your-writes).
 */
const withLocalTier = (
  backend: Backend,
  tier: LocalTier,
  read: (keys: ReadonlyArray<string>) => Promise<Array<string | null>>,
  inGroups: <A>(
    keys: ReadonlyArray<string>,
    chunk: number,
    run: (indices: ReadonlyArray<number>) => Promise<A>,
  ) => Promise<Array<A>>,
  callSteps: <A>(run: () => Promise<A>, key?: string) => Effect.Effect<A, BackendFailure>,
): Backend => {
  const writing =
    <Args extends ReadonlyArray<unknown>, A, E>(
      keysOf: (...args: Args) => Iterable<string>,
      write: (...args: Args) => Effect.Effect<A, E>,
    ) =>
    (...args: Args): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        tier.invalidate(keysOf(...args))
        return Effect.onExit(write(...args), () => Effect.sync(() => tier.invalidate(keysOf(...args))))
      })
  const writingAll = <A>(write: Effect.Effect<A, BackendFailure>): Effect.Effect<A, BackendFailure> =>
    Effect.suspend(() => {
      tier.invalidateAll()
      return Effect.onExit(write, () => Effect.sync(tier.invalidateAll))
    })
  const getManyNow = (keys: ReadonlyArray<string>) => {
    const values = new Array<string | null>(keys.length)
    const missing: Array<string> = []
    const at: Array<number> = []
    for (let i = 0; i < keys.length; i++) {
      const entry = tier.lookup(keys[i]!)
      if (entry === undefined) {
        missing.push(keys[i]!)
        at.push(i)
      } else values[i] = entry.value
    }
    if (missing.length === 0) return Effect.succeed(values)
    return callSteps(async () => {
      await inGroups(missing, LOCAL_READ_CHUNK, async (indices) => {
        const found = await read(indices.map((i) => missing[i]!))
        indices.forEach((index, j) => {
          values[at[index]!] = found[j] ?? null
        })
      })
      return values
    }, missing[0])
  }
  const single = (key: string, ..._rest: ReadonlyArray<unknown>) => [key]
  // Every member listed, no spread: a new write operation must decide here what it drops from the tier.
  return {
    // Reads look the tier up when they run, not when they are built: an Effect is a description that
    // `Effect.repeat`, `Effect.retry` or a polling loop runs again, and each run must see the writes made
    // since the last (a lookup at build time served the first run's value to every later run).
    get: (key, callerKey) => new LocalGet(tier, backend, key, callerKey),
    getMany: (keys) => Effect.suspend(() => getManyNow(keys)),
    set: writing(single, backend.set),
    setMany: writing((entries) => entries.map(([key]) => key), backend.setMany),
    delete: writing(single, backend.delete),
    expire: writing(single, backend.expire),
    incrBy: writing(single, backend.incrBy),
    setTagged: writing((entries) => entries.map(([key]) => key), backend.setTagged),
    // Which keys carry the tags is known only to Redis: the whole tier goes, as for a pattern delete.
    invalidateTags: (tags) => writingAll(backend.invalidateTags(tags)),
    setIfAbsent: writing(single, backend.setIfAbsent),
    deleteIfEquals: writing(single, backend.deleteIfEquals),
    deletePattern: (pattern) => writingAll(backend.deletePattern(pattern)),
    flushAll: writingAll(backend.flushAll),
    exists: backend.exists,
    pttl: backend.pttl,
    countPattern: backend.countPattern,
    ping: backend.ping,
  }
}

/**
 * The local tier's read: the values of `keys` (one MGET) and their PTTLs, all of one instant, in one
 * MULTI/EXEC. The keys must share a slot. Read-only commands, so it also runs at OOM; Redis tracks the keys
 * each command reads, as for a plain GET.
 *
 * Not a script: for every command a script runs, Redis 7 records every key the script declares in its
 * tracking table, so a script reading n keys (MGET, then n PTTL) does n² tracking work. With 1,000 keys that
 * was 104 ms of Redis time per read against 5 ms untracked, and a `getMany` of 10,000 keys timed out; the
 * transaction takes 5.6 ms.
 */
const readWithTtl = (
  client: Redis | Cluster,
  keys: ReadonlyArray<string>,
): Promise<{ readonly values: Array<string | null>; readonly pttls: Array<number> }> => {
  const transaction = client.multi()
  transaction.mget(keys as Array<string>)
  for (const key of keys) transaction.pttl(key)
  return transaction.exec().then((results) => {
    if (results === null) throw new Error("the read transaction was aborted")
    const pttls = new Array<number>(keys.length)
    for (let i = 0; i < results.length; i++) {
      const [error, reply] = results[i]!
      if (error !== null) throw error
      if (i > 0) pttls[i - 1] = reply as number
    }
    return { values: results[0]![1] as Array<string | null>, pttls }
  })
}

/** Keys per local-tier read transaction (one MGET and a PTTL per key): one round trip of bounded size. */
const LOCAL_READ_CHUNK = 1_000

const makeLocal = (tuning: LocalCacheTuning, topology: Topology, timeoutMs: number) =>
  Effect.gen(function* () {
    const tier = makeLocalTier({
      maxEntries: tuning.maxEntries,
      ttlMs: tuning.ttlMs,
      now: () => performance.now(),
      onLookup: tuning.onLookup,
    })
    const runtime = yield* Effect.runtime<never>()
    const tracking: Tracking = yield* makeTracking(tier, topology.node, {
      timeoutMs,
      maxReconnectDelayMs: tuning.maxReconnectDelayMs,
      heartbeatMs: 1_000,
      warn: (message, node, reason) =>
        Runtime.runFork(runtime)(
          Effect.logWarning(message).pipe(Effect.annotateLogs(node === "" ? { reason } : { node, reason })),
        ),
    })
    return { tier, tracking }
  })

/**
 * Starts `count` round trips, at most WINDOW at a time, in order; resolves with their results in order, or
 * rejects with the first failure (and starts no more).
 */
const windowed = <A>(count: number, start: (index: number) => Promise<A>): Promise<Array<A>> =>
  new Promise((resolve, reject) => {
    const results = new Array<A>(count)
    let next = 0
    let done = 0
    let failed = false
    const launch = () => {
      const index = next++
      start(index).then(
        (value) => {
          if (failed) return
          results[index] = value
          if (++done === count) resolve(results)
          else if (next < count) launch()
        },
        (error: unknown) => {
          if (failed) return
          failed = true
          reject(error)
        },
      )
    }
    if (count === 0) return resolve(results)
    while (next < Math.min(count, WINDOW)) launch()
  })

/**
 * One log line when a node becomes unhealthy (a connection error, the breaker opening) and one when it is
 * healthy again, per node: an outage made only of timeouts is logged too, and a long one is not logged
 * once per reconnect attempt.
 */
const makeHealthLog = () =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const log = Runtime.runFork(runtime)
    const downSince = new Map<string, number>()
    return {
      down: (node: string, reason: string) => {
        if (downSince.has(node)) return
        downSince.set(node, Date.now())
        log(
          Effect.logWarning("Redis unhealthy; cache operations fail fast until it recovers").pipe(
            Effect.annotateLogs(node === "" ? { reason } : { node, reason }),
          ),
        )
      },
      up: (node: string) => {
        const since = downSince.get(node)
        if (since === undefined) return
        downSince.delete(node)
        log(
          Effect.logInfo("Redis healthy again").pipe(
            Effect.annotateLogs({ ...(node === "" ? {} : { node }), unhealthyForMs: Date.now() - since }),
          ),
        )
      },
    }
  })

/**
 * Calls `ready` when a connection becomes ready (`node` undefined: every node) and `error` when one fails,
 * for the client's life. In a cluster, each node's connection reports under its id.
 */
const followConnection = (
  client: Redis | Cluster,
  topology: Topology,
  on: {
    readonly ready: (node: string | undefined) => void
    readonly error: (node: string | undefined, message: string) => void
  },
) =>
  Effect.gen(function* () {
    const state = connectionStateOf(client)
    const onReady = () => on.ready(undefined)
    const onError = () => on.error(undefined, state?.lastError() ?? "connection error")
    client.on("ready", onReady)
    client.on("error", onError)
    const nodeHandlers = new Map<Redis, () => void>()
    const onNode = (node: Redis) => {
      const ready = () => on.ready(topology.idOf(node))
      nodeHandlers.set(node, ready)
      node.on("ready", ready)
    }
    const isCluster = "nodes" in client && typeof client.nodes === "function"
    if (isCluster) client.on("+node", onNode)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        client.off("ready", onReady)
        client.off("error", onError)
        if (isCluster) client.off("+node", onNode)
        for (const [node, ready] of nodeHandlers) node.off("ready", ready)
      }),
    )
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
