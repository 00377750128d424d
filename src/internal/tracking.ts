/**
 * Keeps Redis's server-assisted client-side caching (`CLIENT TRACKING`) on for the local tier, per node.
 *
 * For each node the tier reads from there are two connections:
 * - the **data connection**: the one the cache's reads already go through (the client itself, or the
 *   cluster's connection to that master). `CLIENT TRACKING on REDIRECT <id>` is sent on it after every
 *   (re)connect, since tracking belongs to a connection and a new one starts without it;
 * - the **invalidation connection**: a connection of our own, named `epc-invalidate-<uuid>`, subscribed to
 *   `__redis__:invalidate` (RESP2). Redis sends it the keys invalidated by any client's write, expiry or
 *   eviction, and a null message on FLUSHDB/FLUSHALL. Its id changes on every reconnect, so tracking is
 *   turned on again, redirected to the new id.
 *
 * Before redirecting, the two connections compare the server address each is connected to (`laddr` of
 * `CLIENT INFO`, a `@connection` command that ACLs without `@dangerous` still allow): client ids are small
 * counters on every server, and after a failover the two connections may briefly be on different servers,
 * where `<id>` is somebody else.
 *
 * The tier stores nothing for a node until both connections are up and the `CLIENT TRACKING` reply has
 * arrived, and drops the node's entries when either connection closes, a command to the node times out or
 * fails for the connection, or the invalidation connection misses a heartbeat: whatever Redis would have sent
 * meanwhile may be lost. NOLOOP is not used: this process's own writes come back as invalidations too.
 */
import { randomUUID } from "node:crypto"
import { Effect, type Scope } from "effect"
import type { Redis } from "ioredis"
import type { LocalTier } from "./localTier.js"
import { setReplyTimeout } from "./replyTimer.js"

/**
 * @since 0.2.0
 * @category internal
 */
export interface TrackingOptions {
  /** Bound of each command of the handshake and of a heartbeat. */
  readonly timeoutMs: number
  /** Cap of the invalidation connection's reconnect back-off. */
  readonly maxReconnectDelayMs: number
  /** How often the invalidation connection is pinged. */
  readonly heartbeatMs: number
  /** A warning when tracking cannot be turned on (e.g. an ACL without CLIENT), once per node until it works. */
  readonly warn: (message: string, node: string, reason: string) => void
}

/**
 * @since 0.2.0
 * @category internal
 */
export interface Tracking {
  /** Starts tracking `node` if it is not yet; cheap when it is. Call before reading from the node. */
  readonly ensure: (node: string) => void
  /** A command to the node timed out or lost its connection: bypass it until tracking is re-established. */
  readonly suspect: (node: string) => void
  /** Stops tracking the nodes not in `live` (gone from a cluster), closing their invalidation connections. */
  readonly prune: (live: ReadonlySet<string>) => void
}

const CHANNEL = "__redis__:invalidate"
const REFUSED_RETRY_MS = 5_000

/** Redis's answer to `CLIENT TRACKING … REDIRECT <id>` when no client has that id (any more). */
const REDIRECT_GONE = /client ID you want redirect to does not exist/i

/** `promise`, or a failure after `ms` (`setReplyTimeout`: a reply read late by a busy loop still counts). */
const within = <A>(promise: Promise<A>, ms: number): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setReplyTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })

/** A field of a `CLIENT INFO` line (`id=7 addr=… laddr=…`). */
const fieldOf = (info: string, field: string): string | undefined =>
  new RegExp(`(?:^| )${field}=(\\S*)`).exec(info)?.[1]

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

/**
 * Tracks the nodes of `client` for `tier`: `nodeOf` resolves a node id to its current data connection.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeTracking = (
  tier: LocalTier,
  node: (id: string) => Redis | undefined,
  options: TrackingOptions,
): Effect.Effect<Tracking, never, Scope.Scope> =>
  Effect.gen(function* () {
    const trackers = new Map<string, NodeTracker>()
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const tracker of trackers.values()) tracker.close()
        trackers.clear()
      }),
    )
    const ensure = (id: string) => {
      if (closed) return
      let tracker = trackers.get(id)
      if (tracker === undefined) {
        tracker = makeNodeTracker(id, tier, options)
        trackers.set(id, tracker)
      }
      // Cheap for a single node (the same client); in a cluster, a node that reconnects is a new instance.
      if (!tier.isEnabled(id)) tracker.bind(node(id))
    }
    return {
      ensure,
      suspect: (id) => trackers.get(id)?.suspect(),
      prune: (live) => {
        for (const [id, tracker] of trackers) {
          if (live.has(id)) continue
          tracker.close()
          trackers.delete(id)
        }
      },
    }
  })

interface NodeTracker {
  readonly bind: (data: Redis | undefined) => void
  readonly suspect: () => void
  readonly close: () => void
}

const makeNodeTracker = (id: string, tier: LocalTier, options: TrackingOptions): NodeTracker => {
  const name = `epc-invalidate-${randomUUID()}`
  let data: Redis | undefined
  let invalidation: Redis | undefined
  /** The invalidation connection's client id while it is subscribed, and its server's address. */
  let redirectId: string | undefined
  let redirectServer: string | undefined
  /** Bumped on every loss: an attempt that started before one must not enable the node. */
  let generation = 0
  let attempting = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retries = 0
  let warned = false
  let closed = false

  const lose = () => {
    generation++
    tier.disable(id)
  }

  const onMessage = (_channel: Buffer, message: unknown) => {
    if (message === null || message === undefined) return tier.invalidateNode(id)
    if (Array.isArray(message)) tier.invalidate(message.map(String))
    else tier.invalidate([String(message)])
  }

  const onDataReady = () => establish()
  const onDataClose = () => {
    lose()
  }

  /** A server that refused tracking (an ACL without CLIENT, say) is asked again every few seconds only. */
  let refused = false
  const scheduleRetry = () => {
    if (closed || retryTimer !== undefined) return
    const backoff = Math.min(25 * 2 ** Math.min(retries++, 10), options.maxReconnectDelayMs)
    const delay = refused ? Math.max(backoff, REFUSED_RETRY_MS) : backoff
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      establish()
    }, delay)
    retryTimer.unref()
  }

  const establish = () => {
    if (closed || attempting || tier.isEnabled(id)) return
    const target = data
    const redirect = redirectId
    if (target === undefined || target.status !== "ready" || redirect === undefined) return
    attempting = true
    const started = generation
    void (async () => {
      try {
        const server = fieldOf(
          String(await within(target.call("CLIENT", "INFO") as Promise<unknown>, options.timeoutMs)),
          "laddr",
        )
        if (server === undefined || server !== redirectServer) {
          // The invalidation connection is on another server (a failover in progress): make it find the
          // data connection's server again.
          invalidation?.disconnect(true)
          throw new Error(
            `the invalidation connection is on ${redirectServer}, the data connection on ${server}`,
          )
        }
        await within(
          target.call("CLIENT", "TRACKING", "on", "REDIRECT", redirect) as Promise<unknown>,
          options.timeoutMs,
        )
        if (generation === started && data === target && redirectId === redirect && !closed) {
          retries = 0
          warned = false
          refused = false
          tier.enable(id)
        }
      } catch (error) {
        const reason = messageOf(error)
        // The invalidation connection went away after its id was read (its reconnect brings a new id and
        // another attempt): a race, not a refusal.
        refused = /^(ERR|NOPERM|WRONGPASS|NOAUTH)/.test(reason) && !REDIRECT_GONE.test(reason)
        if (!warned && refused) {
          warned = true
          options.warn("Redis refused CLIENT TRACKING: the local tier is bypassed on this node", id, reason)
        }
        scheduleRetry()
      } finally {
        attempting = false
      }
      if (!tier.isEnabled(id)) scheduleRetry()
    })()
  }

  const connectInvalidation = (from: Redis) => {
    const connection = from.duplicate({
      lazyConnect: true,
      connectionName: name,
      autoResubscribe: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A Sentinel client's duplicate finds the master on its own; it must not also drop it on +switch-master
      // before the data connection does (the address check catches a mismatch either way).
      failoverDetector: false,
      retryStrategy: (attempt: number) =>
        Math.min(25 * 2 ** Math.min(attempt, 10), options.maxReconnectDelayMs),
    })
    connection.on("error", () => {})
    connection.on("messageBuffer", onMessage)
    connection.on("close", () => {
      redirectId = undefined
      redirectServer = undefined
      lose()
    })
    connection.on("ready", () => {
      void (async () => {
        try {
          const info = String(
            await within(connection.call("CLIENT", "INFO") as Promise<unknown>, options.timeoutMs),
          )
          await within(connection.subscribe(CHANNEL), options.timeoutMs)
          if (invalidation !== connection) return
          redirectId = fieldOf(info, "id")
          redirectServer = fieldOf(info, "laddr")
          establish()
        } catch (error) {
          const reason = messageOf(error)
          if (!/^(ERR|NOPERM|WRONGPASS|NOAUTH)/.test(reason)) {
            if (connection.status === "ready") connection.disconnect(true)
            return
          }
          // Refused (an ACL without the invalidation channel, say): ask again every few seconds only.
          if (!warned) {
            warned = true
            options.warn(
              "Redis refused the local tier's invalidation subscription: the tier is bypassed on this node",
              id,
              reason,
            )
          }
          connection.disconnect(false)
          const timer = setTimeout(() => {
            if (!closed && invalidation === connection) connection.connect().catch(() => {})
          }, REFUSED_RETRY_MS)
          timer.unref()
        }
      })()
    })
    connection.connect().catch(() => {})
    return connection
  }

  const heartbeat = setInterval(() => {
    const connection = invalidation
    if (connection === undefined || redirectId === undefined || connection.status !== "ready") return
    within(connection.ping(), options.timeoutMs).catch(() => {
      // A silent invalidation connection delivers nothing: its node's entries can no longer be trusted.
      lose()
      if (invalidation === connection) connection.disconnect(true)
    })
  }, options.heartbeatMs)
  heartbeat.unref()

  const unbind = () => {
    if (data === undefined) return
    data.off("ready", onDataReady)
    data.off("close", onDataClose)
    data.off("end", onDataClose)
    data = undefined
  }

  return {
    bind: (next) => {
      if (closed) return
      if (next !== data) {
        unbind()
        lose()
        data = next
        if (next !== undefined) {
          next.on("ready", onDataReady)
          next.on("close", onDataClose)
          next.on("end", onDataClose)
          if (invalidation === undefined) invalidation = connectInvalidation(next)
        }
      }
      establish()
    },
    suspect: () => {
      if (tier.isEnabled(id)) {
        lose()
        scheduleRetry()
      } else if (attempting) generation++
    },
    close: () => {
      closed = true
      clearInterval(heartbeat)
      if (retryTimer !== undefined) clearTimeout(retryTimer)
      unbind()
      invalidation?.disconnect(false)
      invalidation = undefined
      tier.disable(id)
    },
  }
}
