/**
 * A bounded memo of decoded entries for a decoder that is a pure function of the stored text: one entry per
 * key (the newest decode of that key), answering only for the exact text it was decoded from, and the least
 * recently used entry out first once `capacity` is reached (as Redis's `allkeys-lru` would, but exact).
 *
 * Keyed by the entry's key rather than by its text, so a key rewritten a hundred times holds one entry, not a
 * hundred, and a lookup hashes a short key instead of the whole text; the text is then compared as a whole,
 * so a changed entry is never answered from the memo.
 *
 * @since 0.2.0
 * @category internal
 */
export interface DecodeMemo<A> {
  /** The value decoded from exactly `text` under `key`, if kept; a hit makes it the most recently used. */
  readonly get: (key: string, text: string) => A | undefined
  /** Keeps `value` as the decode of `text` under `key`, replacing that key's previous entry. */
  readonly set: (key: string, text: string, value: A) => void
  /** How many entries are kept now. */
  readonly size: () => number
}

interface Entry<A> {
  readonly text: string
  readonly value: A
}

/**
 * A memo of at most `capacity` entries; 0 keeps nothing.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeDecodeMemo = <A>(capacity: number): DecodeMemo<A> => {
  if (capacity === 0) return { get: () => undefined, set: () => {}, size: () => 0 }
  // A Map iterates in insertion order, so re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, Entry<A>>()
  return {
    get: (key, text) => {
      const entry = entries.get(key)
      if (entry === undefined || entry.text !== text) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },
    set: (key, text, value) => {
      if (!entries.delete(key) && entries.size >= capacity) {
        entries.delete(entries.keys().next().value!)
      }
      entries.set(key, { text, value })
    },
    size: () => entries.size,
  }
}
