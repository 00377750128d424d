/**
 * What the layer knows about a client's connection that ioredis's own errors hide. A command refused while
 * the connection is down fails in ioredis with its internals ("Stream isn't writeable and enableOfflineQueue
 * options is false", "Reached the max retries per request limit"); the reason the connection is down (Redis's
 * `max number of clients reached`, `WRONGPASS`, `LOADING`, a silent socket) arrived earlier, as an `error`
 * event. This keeps that reason, scrubbed, so error details and logs can name it.
 */
import type { Cluster, Redis } from "ioredis"

/**
 * What is known about a client's connection beyond its status.
 *
 * @since 0.2.0
 * @category internal
 */
export interface ConnectionState {
  /** The last connection-level error, scrubbed and on one line; cleared when the connection is ready. */
  readonly lastError: () => string | undefined
  /** Why a command cannot be sent now, for a `Connection` error's detail. */
  readonly notConnected: () => string
}

const states = new WeakMap<Redis | Cluster, ConnectionState>()

/**
 * A connection error's first line, without Redis's generic `ERR ` prefix.
 *
 * @since 0.2.0
 * @category internal
 */
export const describeConnectionError = (message: string): string =>
  message.split("\n")[0]!.replace(/^ERR /, "")

/**
 * Starts tracking `client`'s connection errors; call once, before connecting.
 *
 * @since 0.2.0
 * @category internal
 */
export const trackConnection = (
  client: Redis | Cluster,
  scrub: (text: string) => string,
): ConnectionState => {
  let lastError: string | undefined
  // Whether lastError is the server's own reply on the current connection attempt: the socket error that
  // follows the server closing (EPIPE, ECONNRESET) must not replace it.
  let fromServer = false
  client.on("error", (error: unknown) => {
    const message = describeConnectionError(scrub(error instanceof Error ? error.message : String(error)))
    if (fromServer && /^(read|write) E[A-Z]+/.test(message)) return
    lastError = message
  })
  client.on("ready", () => {
    lastError = undefined
  })
  // What the server says during the handshake, which ioredis does not pass on:
  // - a server that turns a connection away (`max number of clients reached`) writes one error reply and
  //   closes: ioredis matches it to a handshake command whose error it discards, or loses it to the EPIPE of
  //   its next write;
  // - a server still loading its dataset answers the ready check's INFO with `loading:1`, and ioredis waits
  //   quietly (commands meanwhile fail with "Stream isn't writeable").
  // Read here, from the connection's bytes until it is ready.
  client.on("connect", () => {
    fromServer = false
    const stream = (client as unknown as { stream?: NodeJS.ReadableStream }).stream
    if (stream === undefined) return
    let first = true
    const onData = (chunk: Buffer | string) => {
      const text = String(chunk)
      if (first && text.startsWith("-")) {
        const end = text.indexOf("\r")
        lastError = describeConnectionError(scrub(text.slice(1, end === -1 ? undefined : end)))
        fromServer = true
      } else if (text.includes("\r\nloading:1\r\n")) {
        lastError = "LOADING Redis is loading the dataset in memory"
        fromServer = true
      }
      first = false
    }
    stream.on("data", onData)
    const stop = () => {
      stream.removeListener("data", onData)
      client.removeListener("ready", stop)
      client.removeListener("close", stop)
    }
    client.once("ready", stop)
    client.once("close", stop)
  })
  const state: ConnectionState = {
    lastError: () => lastError,
    notConnected: () => {
      const status = client.status
      const now =
        status === "connect"
          ? "connected, but Redis has not answered the handshake yet (it may be loading its dataset)"
          : status === "reconnecting" || status === "connecting"
            ? "reconnecting"
            : status === "end" || status === "close"
              ? "closed"
              : status
      return lastError === undefined
        ? `not connected to Redis (${now})`
        : `not connected to Redis (${now}; last error: ${lastError})`
    },
  }
  states.set(client, state)
  return state
}

/**
 * The state `trackConnection` keeps for `client`, if it was tracked.
 *
 * @since 0.2.0
 * @category internal
 */
export const connectionStateOf = (client: Redis | Cluster): ConnectionState | undefined => states.get(client)
