/**
 * Argument checks shared by every Cache layer, so both reject exactly the same inputs before anything is
 * written.
 */
import { Duration, Either, Option } from "effect"

/**
 * The largest TTL we accept, in milliseconds: the largest integer a JavaScript number holds exactly, so the
 * value sent as `PX` is the value the caller asked for (about 285,000 years).
 * @since 0.1.0
 * @category internal
 */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER

/**
 * A ttl for SET: `undefined` means no expiry. Sub-millisecond remainders round up, never down to "no ttl".
 *
 * @since 0.1.0
 * @category internal
 */
export const writeTtlMillis = (
  ttl: Duration.DurationInput | undefined,
): Either.Either<number | undefined, string> => {
  if (ttl === undefined) return Either.right(undefined)
  if (typeof ttl !== "string") return decodeWriteTtl(ttl)
  // Callers pass the same few ttl strings ("10 minutes") on every write; parsing one costs a regex match.
  let known = writeTtlOfString.get(ttl)
  if (known === undefined) {
    known = decodeWriteTtl(ttl)
    if (writeTtlOfString.size < MEMOIZED_TTL_STRINGS) writeTtlOfString.set(ttl, known)
  }
  return known
}

const MEMOIZED_TTL_STRINGS = 256
const writeTtlOfString = new Map<string, Either.Either<number | undefined, string>>()

const decodeWriteTtl = (ttl: Duration.DurationInput): Either.Either<number | undefined, string> => {
  const decoded = Duration.decodeUnknown(ttl)
  if (Option.isNone(decoded)) return Either.left("ttl is not a valid Duration")
  const duration = decoded.value
  if (!Duration.isFinite(duration)) return Either.right(undefined)
  if (Duration.isZero(duration))
    return Either.left("ttl must be positive (zero, negative and NaN are rejected)")
  const millis = Math.ceil(Duration.toMillis(duration))
  if (millis > MAX_TTL_MS) return Either.left(`ttl must be at most ${MAX_TTL_MS} ms`)
  return Either.right(millis)
}

/**
 * A ttl for PEXPIRE: `"persist"` for infinity, `0` for a non-positive ttl (Redis deletes the key),
 * otherwise positive whole milliseconds.
 * @since 0.1.0
 * @category internal
 */
export const expireTtlMillis = (ttl: Duration.DurationInput): Either.Either<number | "persist", string> => {
  const decoded = Duration.decodeUnknown(ttl)
  if (Option.isNone(decoded)) return Either.left("ttl is not a valid Duration")
  const duration = decoded.value
  if (!Duration.isFinite(duration)) return Either.right("persist")
  const millis = Math.ceil(Duration.toMillis(duration))
  if (millis > MAX_TTL_MS) return Either.left(`ttl must be at most ${MAX_TTL_MS} ms`)
  return Either.right(millis)
}

/**
 * Redis stores bytes; a JavaScript string with a lone surrogate has no UTF-8 encoding, so Redis would store
 * U+FFFD instead and hand back a different string. We refuse it rather than corrupt it.
 * @since 0.1.0
 * @category internal
 */
export const isStorableString = (s: string): boolean => typeof s === "string" && s.isWellFormed()

/**
 * INCRBY amounts: safe integers only, so the number sent is the number the caller meant.
 *
 * @since 0.1.0
 * @category internal
 */
export const isValidAmount = (amount: number): boolean => Number.isSafeInteger(amount)

/**
 * `JSON.stringify` that refuses what JSON cannot represent faithfully instead of silently dropping or
 * rewriting it: BigInt, functions, symbols, non-finite numbers, cycles, `undefined` at the top level or in an
 * array. An `undefined` object property is omitted, as JSON defines.
 * @since 0.1.0
 * @category internal
 */
export const encodeJson = (value: unknown): Either.Either<string, string> => {
  // Plain data (the common case) needs no replacer: a replacer call per value made setJson of a 2 KB object
  // cost 19 µs against 11 µs. Anything else takes the checked path below, which names the problem.
  if (isPlainJson(value, 0)) return Either.right(JSON.stringify(value))
  return encodeJsonChecked(value)
}

/** Nesting deeper than this takes the checked path (which also reports cycles). */
const PLAIN_JSON_DEPTH = 64

/**
 * Whether `JSON.stringify(value)` represents `value` faithfully without help: strings, finite numbers,
 * booleans, null, arrays without holes or undefined, and objects whose prototype is Object's (or null)
 * without `toJSON`, whose properties are such values or undefined (omitted, as JSON defines).
 */
const isPlainJson = (value: unknown, depth: number): boolean => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(value)
    case "object": {
      if (value === null) return true
      if (depth >= PLAIN_JSON_DEPTH) return false
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item = value[i]
          if (item === undefined || !isPlainJson(item, depth + 1)) return false
        }
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key]
        if (item !== undefined && !isPlainJson(item, depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

const encodeJsonChecked = (value: unknown): Either.Either<string, string> => {
  let problem: string | undefined
  const replacer = function (this: unknown, _key: string, v: unknown): unknown {
    switch (typeof v) {
      case "bigint":
        problem ??= "a BigInt has no JSON representation"
        return undefined
      case "function":
        problem ??= "a function has no JSON representation"
        return undefined
      case "symbol":
        problem ??= "a symbol has no JSON representation"
        return undefined
      case "number":
        if (!Number.isFinite(v)) problem ??= `${v} has no JSON representation`
        return v
      case "undefined":
        if (Array.isArray(this)) problem ??= "undefined inside an array would become null"
        return v
      default:
        return v
    }
  }
  let json: string | undefined
  try {
    json = JSON.stringify(value, replacer)
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : "value cannot be serialized")
  }
  if (problem !== undefined) return Either.left(problem)
  if (json === undefined) return Either.left("value has no JSON representation (undefined at the top level)")
  return Either.right(json)
}

/**
 * Parses what `encodeJson` wrote; anything else is a failure, never a guess.
 *
 * @since 0.1.0
 * @category internal
 */
export const decodeJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch {
    return Either.left("stored value is not valid JSON")
  }
}
