/**
 * The memory layer's tag bookkeeping: per key the tags it was written with, per tag the keys. The store
 * calls `drop` whenever an entry goes (delete, overwrite without tags, expiry, eviction), so both maps only
 * ever hold live keys, and a tag whose keys are all gone is not in them at all.
 */

/**
 * Tags of the live keys of a `MemoryStore`.
 *
 * @since 0.2.0
 * @category internal
 */
export class TagIndex {
  private readonly byTag = new Map<string, Set<string>>()
  private readonly byKey = new Map<string, ReadonlyArray<string>>()

  /** Keys that carry at least one tag. */
  get size(): number {
    return this.byKey.size
  }

  /** Replaces the tags of `key` (an empty list: untagged). */
  setTags(key: string, tags: ReadonlyArray<string>): void {
    this.drop(key)
    if (tags.length === 0) return
    this.byKey.set(key, tags)
    for (const tag of tags) {
      let keys = this.byTag.get(tag)
      if (keys === undefined) {
        keys = new Set()
        this.byTag.set(tag, keys)
      }
      keys.add(key)
    }
  }

  /** The key is gone or was rewritten without tags: it leaves every tag. */
  drop(key: string): void {
    if (this.byKey.size === 0) return
    const tags = this.byKey.get(key)
    if (tags === undefined) return
    this.byKey.delete(key)
    for (const tag of tags) {
      const keys = this.byTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.byTag.delete(tag)
    }
  }

  /** A copy of the keys carrying `tag` (the caller deletes them, which changes the index). */
  keysOf(tag: string): ReadonlyArray<string> {
    const keys = this.byTag.get(tag)
    return keys === undefined ? [] : Array.from(keys)
  }

  clear(): void {
    this.byTag.clear()
    this.byKey.clear()
  }
}
