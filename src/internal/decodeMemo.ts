import { makeRecencyList } from "./recencyList.js"

/**
 * A bounded memo of decoded entries for a decoder that is a pure function of the stored text: one entry per
 * key (the newest decode of that key), answering only for the exact text it was decoded from, and the least
 * recently used entry out first once `capacity` is reached (as Redis's `allkeys-lru` would, but exact).
 *
 * Keyed by the entry's key rather than by its text, so a key rewritten a hundred times holds one entry, not a
 * hundred, and a lookup hashes a short key instead of the whole text; the text is then compared as a whole,
 * so a changed entry is never answered from the memo.
 *
 * An entry also keeps the key of the store its text is read from (`storeKey`, a function of the memo's key),
 * built once, so that the next read of a kept key sends the store the same string: a key built afresh for
 * every read (`prefix + id`) is a new string, which the store's `Map` must flatten, hash and compare
 * character by character on every lookup (about a tenth of a `provider-get-hit-local` read: 16-19 % more
 * reads a second with this and the connection snapshots, 6-8 % with the snapshots alone).
 *
 * @since 0.2.0
 * @category internal
 */
export interface DecodeMemo<A> {
  /** The value decoded from exactly `text` under `key`, if kept; a hit makes it the most recently used. */
  readonly get: (key: string, text: string) => A | undefined
  /** Keeps `value` as the decode of `text` under `key`, replacing that key's previous entry. */
  readonly set: (key: string, text: string, value: A) => void
  /** The store's key for `key`, built when its entry was kept; undefined while no entry is kept. */
  readonly storeKey: (key: string) => string | undefined
  /** How many entries are kept now. */
  readonly size: () => number
}

interface Entry<A> {
  readonly key: string
  readonly storeKey: string
  text: string
  value: A
  /** Neighbours in recency order (`newer` towards the most recently read). */
  older: Entry<A> | undefined
  newer: Entry<A> | undefined
}

/**
 * A memo of at most `capacity` entries; 0 keeps nothing. `storeKey` gives the store's key of a memo key.
 *
 * Recency is a `RecencyList` beside the `Map`: a hit moves two pointers. A `Map` re-insertion per hit (delete,
 * then set, so iteration order is recency) was about a tenth of a memo-hit read.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeDecodeMemo = <A>(
  capacity: number,
  storeKey: (key: string) => string = (key) => key,
): DecodeMemo<A> => {
  if (capacity === 0) return { get: () => undefined, set: () => {}, storeKey: () => undefined, size: () => 0 }
  const entries = new Map<string, Entry<A>>()
  const recency = makeRecencyList<Entry<A>>()

  return {
    get: (key, text) => {
      const entry = entries.get(key)
      if (entry === undefined || entry.text !== text) return undefined
      // Equal text in another string (read again from Redis): keep this one, so that the next comparison
      // with the same string is one pointer comparison instead of one of every character.
      entry.text = text
      recency.touch(entry)
      return entry.value
    },
    set: (key, text, value) => {
      const known = entries.get(key)
      if (known !== undefined) {
        known.text = text
        known.value = value
        recency.touch(known)
        return
      }
      const oldest = recency.oldest()
      if (entries.size >= capacity && oldest !== undefined) {
        entries.delete(oldest.key)
        recency.unlink(oldest)
      }
      const kept = storeKey(key)
      // Flattened now (one character read), not by the first lookup that hashes it.
      kept.charCodeAt(0)
      const entry: Entry<A> = { key, storeKey: kept, text, value, older: undefined, newer: undefined }
      entries.set(key, entry)
      recency.push(entry)
    },
    storeKey: (key) => entries.get(key)?.storeKey,
    size: () => entries.size,
  }
}
