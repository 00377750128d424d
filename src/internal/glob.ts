/**
 * Redis glob matching (`KEYS`, `SCAN MATCH`), ported from `stringmatchlen_impl` in Redis's `src/util.c`.
 *
 * Redis matches bytes, not characters: `?` is one byte, so it does not match a two-byte UTF-8 character, and
 * ranges compare C `char`s, which are signed on the platforms Redis ships for. Both quirks are kept, because
 * the memory layer must delete exactly the keys Redis would.
 */

const STAR = 42 // *
const QUESTION = 63 // ?
const OPEN = 91 // [
const CLOSE = 93 // ]
const BACKSLASH = 92 // \
const CARET = 94 // ^
const DASH = 45 // -

const encoder = new TextEncoder()

/**
 * A pattern compiled once, matched against many keys.
 *
 * @since 0.1.0
 * @category internal
 */
export interface GlobMatcher {
  readonly matches: (key: string) => boolean
}

/**
 * Compiles a Redis glob pattern.
 *
 * @since 0.1.0
 * @category internal
 */
export const compileGlob = (pattern: string): GlobMatcher => {
  const p = encoder.encode(pattern)
  const literalPrefix = literalPrefixOf(pattern)
  // The common "prefix:*" shape never needs the byte matcher.
  if (literalPrefix !== undefined) {
    return { matches: (key) => key.startsWith(literalPrefix) }
  }
  return { matches: (key) => stringMatch(p, encoder.encode(key)) }
}

/** `"abc*"` (no other metacharacter, at least one byte before the star) gives `"abc"`. */
const literalPrefixOf = (pattern: string): string | undefined => {
  if (pattern.length < 2 || !pattern.endsWith("*")) return undefined
  const head = pattern.slice(0, -1)
  return /[*?[\]\\]/.test(head) ? undefined : head
}

/**
 * Whether `string` matches `pattern`, both UTF-8 bytes, with Redis's semantics.
 *
 * @since 0.1.0
 * @category internal
 */
export const stringMatch = (pattern: Uint8Array, string: Uint8Array): boolean => {
  const skipLongerMatches = { value: false }
  return matchImpl(pattern, 0, string, 0, skipLongerMatches, 0)
}

const signed = (byte: number): number => (byte > 127 ? byte - 256 : byte)

const matchImpl = (
  pat: Uint8Array,
  pStart: number,
  str: Uint8Array,
  sStart: number,
  skipLongerMatches: { value: boolean },
  nesting: number,
): boolean => {
  // Redis's guard against abusive patterns.
  if (nesting > 1000) return false
  // C reads the terminating NUL past the end; `?? 0` mirrors that.
  const at = (i: number): number => pat[i] ?? 0
  let p = pStart
  let patternLen = pat.length - pStart
  let s = sStart
  let stringLen = str.length - sStart

  while (patternLen > 0 && stringLen > 0) {
    switch (at(p)) {
      case STAR: {
        while (patternLen > 0 && at(p + 1) === STAR) {
          p++
          patternLen--
        }
        if (patternLen === 1) return true
        while (stringLen > 0) {
          if (matchImpl(pat, p + 1, str, s, skipLongerMatches, nesting + 1)) return true
          if (skipLongerMatches.value) return false
          s++
          stringLen--
        }
        skipLongerMatches.value = true
        return false
      }
      case QUESTION:
        s++
        stringLen--
        break
      case OPEN: {
        p++
        patternLen--
        const not = at(p) === CARET
        if (not) {
          p++
          patternLen--
        }
        let match = false
        const c = str[s]!
        for (;;) {
          if (at(p) === BACKSLASH && patternLen >= 2) {
            p++
            patternLen--
            if (at(p) === c) match = true
          } else if (at(p) === CLOSE) {
            break
          } else if (patternLen === 0) {
            p--
            patternLen++
            break
          } else if (patternLen >= 3 && at(p + 1) === DASH) {
            let start = signed(at(p))
            let end = signed(at(p + 2))
            if (start > end) [start, end] = [end, start]
            const sc = signed(c)
            p += 2
            patternLen -= 2
            if (sc >= start && sc <= end) match = true
          } else if (at(p) === c) {
            match = true
          }
          p++
          patternLen--
        }
        if (not) match = !match
        if (!match) return false
        s++
        stringLen--
        break
      }
      default:
        // A backslash escapes the next byte; a trailing one is a literal backslash.
        if (at(p) === BACKSLASH && patternLen >= 2) {
          p++
          patternLen--
        }
        if (at(p) !== str[s]) return false
        s++
        stringLen--
        break
    }
    p++
    patternLen--
    if (stringLen === 0) {
      while (at(p) === STAR) {
        p++
        patternLen--
      }
      break
    }
  }
  return patternLen === 0 && stringLen === 0
}

/**
 * Escapes Redis glob metacharacters (`* ? [ ] \`), so user input spliced into a pattern matches only itself.
 *
 * @example
 * ```ts
 * cache.deletePattern(`session:${escapeGlob(userId)}:*`)
 * ```
 * @since 0.1.0
 * @category internal
 */
export const escapeGlob = (s: string): string => s.replace(/[*?[\]\\]/g, "\\$&")
