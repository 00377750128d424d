/**
 * Redis's integer rules for INCRBY/DECRBY (`string2ll` in `src/util.c`, `incrDecrCommand` in
 * `src/t_string.c`), for the memory layer.
 */

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Redis's reply text, kept identical so both layers report the same detail.
 *
 * @since 0.1.0
 * @category internal
 */
export const NOT_AN_INTEGER = "value is not an integer or out of range"
/**
 * @since 0.1.0
 * @category internal
 */
export const WOULD_OVERFLOW = "increment or decrement would overflow"
/**
 * @since 0.1.0
 * @category internal
 */
export const OUTSIDE_SAFE_RANGE = "result is outside the safe integer range; nothing was changed"

/**
 * `string2ll`: optional '-', no '+', no leading zeros, no spaces, no "-0", and within int64.
 * Returns undefined when Redis would answer "value is not an integer or out of range".
 * @since 0.1.0
 * @category internal
 */
export const parseRedisInteger = (s: string): bigint | undefined => {
  if (s.length === 0 || s.length > 20 || !/^(0|-?[1-9][0-9]*)$/.test(s)) return undefined
  const value = BigInt(s)
  return value < INT64_MIN || value > INT64_MAX ? undefined : value
}

/**
 * INCRBY's arithmetic; the error detail, or the new value.
 *
 * @since 0.1.0
 * @category internal
 */
export const incrementBy = (current: bigint, amount: number): bigint | string => {
  const next = current + BigInt(amount)
  if (next < INT64_MIN || next > INT64_MAX) return WOULD_OVERFLOW
  if (next < BigInt(Number.MIN_SAFE_INTEGER) || next > BigInt(Number.MAX_SAFE_INTEGER))
    return OUTSIDE_SAFE_RANGE
  return next
}
