/**
 * What a Redis connection must offer before the cache may use it, checked on every (re)connect:
 *
 * - The database the URL names. ioredis sends SELECT first on each connection, and when Redis refuses it
 *   (`/99` on a server with 16 databases) it emits an error and carries on, on DB 0. Here a refused SELECT
 *   makes every operation fail until a connection selects the database.
 * - Redis 7.0 or later: the Lua scripts declare shebang flags (`#!lua flags=allow-oom`), which older servers
 *   refuse, so on Redis 6 writes would fail one by one. The version comes from the INFO reply of ioredis's
 *   ready check, so it is known before the first command is sent.
 *
 * While a connection fails a check, every operation fails with reason `Command` and a detail that says why.
 */
import type { Redis } from "ioredis"
import type { BackendFailure } from "./makeCache.js"

/**
 * The oldest Redis whose script flags the scripts use.
 *
 * @since 0.2.0
 * @category internal
 */
export const MINIMUM_REDIS_MAJOR = 7

/**
 * `redis_version` from an INFO reply.
 *
 * @since 0.2.0
 * @category internal
 */
export const redisVersionOf = (info: string): string | undefined =>
  /^redis_version:([^\r\n]+)/m.exec(info)?.[1]?.trim()

/**
 * What is wrong with a server of this version, or `undefined`. An unknown version (an ACL user without INFO,
 * a proxy that hides it) is let through: the scripts then fail on their own if the server is too old.
 *
 * @since 0.2.0
 * @category internal
 */
export const versionProblem = (version: string | undefined): string | undefined => {
  const major = version === undefined ? Number.NaN : Number(/^(\d+)\./.exec(version)?.[1])
  if (!Number.isInteger(major) || major >= MINIMUM_REDIS_MAJOR) return undefined
  return `Redis ${version} is too old: this cache needs Redis ${MINIMUM_REDIS_MAJOR}.0 or later (its Lua scripts use shebang flags)`
}

/**
 * Whether a connection may be used now, and the means to hear when that changes.
 *
 * @since 0.2.0
 * @category internal
 */
export interface ServerGuard {
  /** Why every operation must fail now, if it must. */
  readonly refusal: () => BackendFailure | undefined
  /** Calls `listener` on each change of `refusal`; the returned function stops that. */
  readonly onChange: (listener: (refusal: BackendFailure | undefined) => void) => () => void
}

const guards = new WeakMap<Redis, ServerGuard>()

const refused = (detail: string): BackendFailure => ({ reason: "Command", detail, cause: new Error(detail) })

type ReadyCheck = (callback: (error: unknown, info?: Record<string, string>) => void) => void

/**
 * Watches `client` (before it connects) for a refused SELECT and for the server's version, and returns it.
 * `serverGuardOf(client)` then tells whether it may be used.
 *
 * @since 0.2.0
 * @category internal
 */
export const watchServer = <C extends Redis>(client: C): C => {
  let selectProblem: string | undefined
  let refusal: BackendFailure | undefined
  const listeners = new Set<(refusal: BackendFailure | undefined) => void>()
  const settle = (problem: string | undefined) => {
    if (problem === refusal?.detail) return
    refusal = problem === undefined ? undefined : refused(problem)
    for (const listener of listeners) listener(refusal)
  }

  // Each connection starts afresh: the SELECT it sends decides again.
  client.on("connect", () => {
    selectProblem = undefined
  })
  client.on("error", (error: unknown) => {
    const command = (error as { command?: { name?: unknown } } | null)?.command
    if (!(error instanceof Error) || error.name !== "ReplyError" || command?.name !== "select") return
    // A SELECT refused for want of authentication says nothing about the database: that failure is the
    // connection's (WRONGPASS on AUTH came first), reported as Connection.
    if (/^(NOAUTH|WRONGPASS)/.test(error.message)) return
    selectProblem = `database ${client.options.db} cannot be selected: ${error.message.replace(/^ERR /, "")}`
    // At once: ioredis is about to call the connection ready, on DB 0.
    settle(selectProblem)
  })

  // The ready check's INFO runs after the SELECT and before ioredis lets commands through: deciding there
  // leaves no window in which a command runs on a server that fails a check. ioredis keeps `_readyCheck`
  // private, so should it ever go away, the check runs on "ready" with an INFO of our own instead.
  const target = client as unknown as { _readyCheck?: ReadyCheck }
  const readyCheck = target._readyCheck
  if (typeof readyCheck === "function" && client.options.enableReadyCheck !== false) {
    target._readyCheck = function (this: unknown, callback) {
      readyCheck.call(this, (error, info) => {
        if (error === null || error === undefined) {
          settle(selectProblem ?? versionProblem(info?.redis_version))
        }
        callback(error, info)
      })
    }
  } else {
    client.on("ready", () => {
      settle(selectProblem)
      client.info("server").then(
        (info) => settle(selectProblem ?? versionProblem(redisVersionOf(info))),
        () => undefined,
      )
    })
  }

  guards.set(client, {
    refusal: () => refusal,
    onChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  })
  return client
}

/**
 * The guard `watchServer` put on `client`; one that never refuses for a client it did not watch.
 *
 * @since 0.2.0
 * @category internal
 */
export const serverGuardOf = (client: Redis): ServerGuard =>
  guards.get(client) ?? { refusal: () => undefined, onChange: () => () => undefined }

/**
 * The versions of the nodes of a cluster that fail the version check, as one problem, or `undefined`.
 * Nodes that do not answer are skipped: they are checked when they are reached, by the scripts themselves.
 *
 * @since 0.2.0
 * @category internal
 */
export const clusterVersionProblem = async (nodes: ReadonlyArray<Redis>): Promise<string | undefined> => {
  const problems = await Promise.all(
    nodes.map((node) =>
      node.info("server").then(
        (info) => versionProblem(redisVersionOf(info)),
        () => undefined,
      ),
    ),
  )
  return problems.find((problem) => problem !== undefined)
}
