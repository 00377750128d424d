/**
 * Checks of the Redis layers' options, made before any client exists. ioredis accepts almost anything and
 * then does something else: a URL without `//` becomes a Unix socket path, `/abc` as the database becomes
 * DB 0, `REDISS://` connects without TLS, a timeout of 2^31 ms or more fires after 1 ms. Each check returns
 * what is wrong as a phrase that follows the option's name ("REDIS_URL must …", "url must …"); it never
 * repeats the value, because a URL carries the password.
 */

/**
 * The longest delay a Node timer holds: a longer one fires after 1 ms instead (TimeoutOverflowWarning).
 *
 * @since 0.2.0
 * @category internal
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Redis's default port, for a seed node given without one. */
const DEFAULT_PORT = 6379

const isDbIndex = (text: string) => /^\d{1,10}$/.test(text) && Number(text) <= MAX_TIMER_MS

const decodes = (text: string) => {
  try {
    decodeURIComponent(text)
    return true
  } catch {
    return false
  }
}

/**
 * What is wrong with a Redis URL, or `undefined`: the scheme must be `redis://` or `rediss://` (lower case,
 * as ioredis only turns TLS on for that spelling), with a host, a port in 1-65535 if any, and a database, if
 * any, that is a number (`/3` or `?db=3`).
 *
 * @since 0.2.0
 * @category internal
 */
export const redisUrlProblem = (raw: string): string | undefined => {
  if (!/^rediss?:\/\//.test(raw)) return "must start with redis:// or rediss://"
  // A fragment means nothing to Redis; a '#' is a password's character that was not percent-encoded.
  if (raw.includes("#")) return "contains '#' (percent-encode it as %23 in a password)"
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    return "is not a valid URL (check the host and the port; reserved characters in the password must be percent-encoded)"
  }
  if (parsed.hostname === "") return "has no host"
  if (parsed.port !== "" && Number(parsed.port) === 0) return "has port 0; the port must be 1-65535"
  if (!decodes(parsed.username) || !decodes(parsed.password)) {
    return "has a user or password with an invalid percent-encoding"
  }
  const path = parsed.pathname === "/" ? "" : parsed.pathname.slice(1)
  if (path !== "" && !isDbIndex(path)) return "has an invalid database: the path must be empty or /<number>"
  const db = parsed.searchParams.get("db")
  if (db !== null && !isDbIndex(db)) return "has an invalid db parameter: it must be a number"
  return undefined
}

/**
 * The database a valid Redis URL selects, as ioredis reads it (the path wins over `?db=`).
 *
 * @since 0.2.0
 * @category internal
 */
export const databaseOf = (raw: string): number => {
  const parsed = new URL(raw)
  const path = parsed.pathname === "/" ? "" : parsed.pathname.slice(1)
  return Number(path !== "" ? path : (parsed.searchParams.get("db") ?? 0))
}

/**
 * What is wrong with a duration option, or `undefined`: it must be positive and fit a Node timer.
 *
 * @since 0.2.0
 * @category internal
 */
export const durationProblem = (millis: number): string | undefined => {
  if (!(millis > 0)) return "must be a positive duration"
  if (millis > MAX_TIMER_MS) {
    return `must be at most ${MAX_TIMER_MS} ms (about 24.8 days): Node fires longer timers after 1 ms`
  }
  return undefined
}

/**
 * What is wrong with a count option (the breaker threshold), or `undefined`.
 *
 * @since 0.2.0
 * @category internal
 */
export const positiveIntegerProblem = (n: number): string | undefined =>
  Number.isSafeInteger(n) && n > 0 ? undefined : "must be a positive integer"

/**
 * A cluster seed node.
 *
 * @since 0.2.0
 * @category internal
 */
export interface SeedNode {
  readonly host: string
  readonly port: number
}

const portOf = (text: string): number | undefined =>
  /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65_535 ? Number(text) : undefined

/**
 * A seed node from `host:port`, `host` (port 6379) or `[ipv6]:port`; a string saying what is wrong otherwise.
 *
 * @since 0.2.0
 * @category internal
 */
export const parseSeedNode = (
  node: string | { readonly host: string; readonly port: number },
  /** The port of an entry that names none; `null`: every entry must name its port (sentinels). */
  defaultPort: number | null = DEFAULT_PORT,
): SeedNode | string => {
  if (typeof node !== "string") {
    if (typeof node.host !== "string" || node.host.trim() === "") return "has no host"
    return Number.isInteger(node.port) && node.port >= 1 && node.port <= 65_535
      ? { host: node.host, port: node.port }
      : "has a port outside 1-65535"
  }
  const text = node.trim()
  if (text === "") return "is empty"
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text)
  const [host, port] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : text.lastIndexOf(":") === -1
      ? [text, undefined]
      : [text.slice(0, text.lastIndexOf(":")), text.slice(text.lastIndexOf(":") + 1)]
  if (host === "") return "has no host"
  if (!bracketed && host.includes(":")) return "is an IPv6 address without brackets: write [address]:port"
  if (port === undefined) {
    return defaultPort === null ? "has no port: write host:port" : { host, port: defaultPort }
  }
  const number = portOf(port)
  return number === undefined
    ? "has no valid port: write host:port with a port in 1-65535"
    : { host, port: number }
}

/**
 * The seed nodes, or what is wrong with the first bad one (named by its position, counting from 1, as hosts
 * are no secret but the message stays the same shape as the others).
 *
 * @since 0.2.0
 * @category internal
 */
export const parseSeedNodes = (
  nodes: ReadonlyArray<string | { readonly host: string; readonly port: number }>,
  defaultPort: number | null = DEFAULT_PORT,
): ReadonlyArray<SeedNode> | string => {
  if (nodes.length === 0) return "must name at least one host:port"
  const parsed: Array<SeedNode> = []
  for (let i = 0; i < nodes.length; i++) {
    const node = parseSeedNode(nodes[i]!, defaultPort)
    if (typeof node === "string") return `entry ${i + 1} ${node}`
    parsed.push(node)
  }
  return parsed
}
