/**
 * Redis Cluster's hash slot of a key (`keyHashSlot` in Redis's `src/cluster.c`): CRC16 (XMODEM) of the key's
 * UTF-8 bytes, or of the hash tag: the bytes between the first `{` and the first `}` after it, when that is
 * not empty. `{}` (empty tag), `a{b` (no closing brace) hash the whole key; `{}{a}` hashes the whole key too,
 * because only the first `{` counts.
 */

const TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

const crc16 = (bytes: Uint8Array, start: number, end: number): number => {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!
  return crc
}

const OPEN = 0x7b // {
const CLOSE = 0x7d // }
const encoder = new TextEncoder()

/**
 * The slot (0-16383) Redis Cluster stores `key` in.
 *
 * @since 0.1.0
 * @category internal
 */
export const keySlot = (key: string): number => {
  const bytes = encoder.encode(key)
  const length = bytes.length
  let s = 0
  while (s < length && bytes[s] !== OPEN) s++
  if (s === length) return crc16(bytes, 0, length) & 0x3fff
  let e = s + 1
  while (e < length && bytes[e] !== CLOSE) e++
  if (e === length || e === s + 1) return crc16(bytes, 0, length) & 0x3fff
  return crc16(bytes, s + 1, e) & 0x3fff
}

/**
 * Indices of `keys` grouped by slot, in first-seen order: the keys one multi-key command may carry.
 *
 * @since 0.1.0
 * @category internal
 */
export const groupBySlot = (keys: ReadonlyArray<string>): Array<Array<number>> => {
  const groups = new Map<number, Array<number>>()
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i]!)
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [i])
    else group.push(i)
  }
  return Array.from(groups.values())
}

const TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
let tokens: Array<string> | undefined

/**
 * A short ASCII string (1 to 3 characters, no braces) whose CRC16 is `slot`: `{token}` in a key puts the key
 * in that slot. The table is built once, on first use (about 240,000 CRCs of 3 bytes, a few milliseconds).
 *
 * @since 0.2.0
 * @category internal
 */
export const slotToken = (slot: number): string => {
  if (tokens === undefined) {
    const table: Array<string | undefined> = new Array(16384).fill(undefined)
    let missing = 16384
    const bytes = new Uint8Array(3)
    const visit = (length: number, prefix: string, depth: number) => {
      if (missing === 0) return
      if (depth === length) {
        const slotOf = crc16(bytes, 0, length) & 0x3fff
        if (table[slotOf] === undefined) {
          table[slotOf] = prefix
          missing--
        }
        return
      }
      for (let i = 0; i < TOKEN_ALPHABET.length && missing > 0; i++) {
        bytes[depth] = TOKEN_ALPHABET.charCodeAt(i)
        visit(length, prefix + TOKEN_ALPHABET[i], depth + 1)
      }
    }
    for (let length = 1; length <= 3 && missing > 0; length++) visit(length, "", 0)
    if (missing > 0) throw new Error("slotToken: some slots have no 3-character token")
    tokens = table as Array<string>
  }
  return tokens[slot]!
}
