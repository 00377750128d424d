/**
 * The recency order of an exact LRU, kept as a doubly linked list through the entries themselves, beside the
 * `Map` that finds them: marking an entry as just used moves two pointers and allocates nothing. A `Map`
 * alone (delete and re-insert on every use, so iteration order is recency) leaves a hole in its table on
 * every use and rehashes it every few thousand. Used by the local tier and the decode memo.
 */

/**
 * What an entry carries to be in a list: its neighbours (`newer` towards the most recently used).
 *
 * @since 0.2.0
 * @category internal
 */
export interface Linked<T> {
  older: T | undefined
  newer: T | undefined
}

/**
 * @since 0.2.0
 * @category internal
 */
export interface RecencyList<T extends Linked<T>> {
  /** The least recently used entry, the one to evict. */
  readonly oldest: () => T | undefined
  /** Adds `entry` (not in the list) as the most recently used. */
  readonly push: (entry: T) => void
  /** Takes `entry` (in the list) out. */
  readonly unlink: (entry: T) => void
  /** Marks `entry` (in the list) as the most recently used. */
  readonly touch: (entry: T) => void
  /** Forgets every entry (their own links are left as they are: they are being dropped). */
  readonly clear: () => void
}

/**
 * @since 0.2.0
 * @category internal
 */
export const makeRecencyList = <T extends Linked<T>>(): RecencyList<T> => {
  let newest: T | undefined
  let oldest: T | undefined
  const unlink = (entry: T) => {
    if (entry.newer === undefined) newest = entry.older
    else entry.newer.older = entry.older
    if (entry.older === undefined) oldest = entry.newer
    else entry.older.newer = entry.newer
    entry.older = undefined
    entry.newer = undefined
  }
  const push = (entry: T) => {
    entry.older = newest
    entry.newer = undefined
    if (newest === undefined) oldest = entry
    else newest.newer = entry
    newest = entry
  }
  return {
    oldest: () => oldest,
    push,
    unlink,
    touch: (entry) => {
      if (entry === newest) return
      unlink(entry)
      push(entry)
    },
    clear: () => {
      newest = undefined
      oldest = undefined
    },
  }
}
