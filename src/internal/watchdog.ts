/**
 * Replaces connections that stop answering. A peer or a NAT that drops a flow without a FIN or RST, or a
 * server that accepts TCP and never replies, leaves ioredis waiting forever: the socket is open, commands are
 * written, nothing comes back, and nothing closes it. TCP keepalive takes minutes to notice and does not
 * notice at all while unacknowledged data is queued.
 *
 * The rule: a connection that owes replies (its command queue, handshake included, is not empty) and has
 * received no byte for `silenceMs` is destroyed, so ioredis's retry strategy makes a new one.
 *
 * Hand-written rather than ioredis's `socketTimeout`, which is the same rule on a plain timer: when this
 * process's event loop is blocked (a large synchronous task, a long GC), that timer fires before the reply
 * sitting in the socket buffer is read, and a healthy connection is cut with its commands. Here silence is
 * counted in ticks, each worth at most TICK_MS + LATE_MS however late it ran: a blocked stretch counts as one
 * tick (the reply read right after it ends the silence), while a loop that is merely busy (ticks late again
 * and again) still reaches the limit, only later.
 */
import type { Cluster, Redis } from "ioredis"

/** How often connections are checked; a check later than this by more than LATE_MS saw a blocked loop. */
const TICK_MS = 100
const LATE_MS = 100

interface Watched {
  stream: unknown
  /** Silence counted so far while the connection owed replies and received no byte. */
  quietMs: number
}

/**
 * The error a silent connection is destroyed with; ioredis emits it as the client's `error`.
 *
 * @since 0.2.0
 * @category internal
 */
export const silentConnectionMessage = (ms: number) =>
  `no reply from Redis for ${ms} ms while commands were waiting; the connection was replaced`

interface IoredisInternals {
  readonly stream?: { destroy: (error?: Error) => void; on: (event: "data", f: () => void) => void }
  readonly commandQueue?: { readonly length: number }
  readonly status: string
}

/**
 * Watches `client`'s connections (every node's, for a cluster) until the returned function is called.
 *
 * @since 0.2.0
 * @category internal
 */
export const watchConnections = (client: Redis | Cluster, silenceMs: number): (() => void) => {
  const watched = new WeakMap<object, Watched>()
  const connections = (): ReadonlyArray<Redis> =>
    "nodes" in client && typeof client.nodes === "function" ? client.nodes("all") : [client as Redis]

  let lastTick = performance.now()
  const tick = () => {
    const now = performance.now()
    const counted = Math.min(now - lastTick, TICK_MS + LATE_MS)
    lastTick = now
    for (const connection of connections()) {
      const internals = connection as unknown as IoredisInternals
      const stream = internals.stream
      if (stream === undefined) continue
      let state = watched.get(connection)
      if (state === undefined || state.stream !== stream) {
        state = { stream, quietMs: 0 }
        watched.set(connection, state)
        const current = state
        stream.on("data", () => {
          current.quietMs = 0
        })
      }
      const owes =
        (internals.status === "connect" || internals.status === "ready") &&
        (internals.commandQueue?.length ?? 0) > 0
      if (!owes) {
        state.quietMs = 0
        continue
      }
      state.quietMs += counted
      if (state.quietMs >= silenceMs) {
        state.quietMs = 0
        stream.destroy(new Error(silentConnectionMessage(silenceMs)))
      }
    }
  }
  const timer = setInterval(tick, TICK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
