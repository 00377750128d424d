/**
 * A timeout for a reply that tells a late reply from a late event loop. A turn of Node's event loop runs its
 * timers before it reads sockets, so when this process's loop was busy past a timeout (a long synchronous
 * stretch, fibers running back to back under load), a plain timer fires while the reply that arrived in time
 * sits unread, and a healthy Redis is reported as a `Timeout` (and counted by the breaker as an outage).
 * Here the timeout waits for the I/O of the turn it fires in (`setImmediate` runs after it): a reply already
 * in the socket settles first, and the callback, which must then do nothing, finds it settled. A reply that
 * never comes still times out, one turn later.
 *
 * Hand-written: `Effect.timeout` and `AbortSignal.timeout` are plain timers, with the same blind spot.
 */

/**
 * Calls `onTimeout` after `ms` and after the I/O of that turn; cancel with `clearTimeout` before it fires.
 * `onTimeout` must check whether the reply has settled meanwhile.
 *
 * @since 0.2.0
 * @category internal
 */
export const setReplyTimeout = (onTimeout: () => void, ms: number): ReturnType<typeof setTimeout> =>
  setTimeout(() => setImmediate(onTimeout), ms)
