/**
 * The storage behind `MemoryCache`: a bounded key/value store with exact LRU eviction and an expiry index,
 * laid out for a small footprint. Maps give each key a slot number; everything else about an entry lives
 * at that slot in flat arrays (value, expiry instant, LRU links, place in the expiry heap), so an entry costs
 * its Map slot plus about 40 bytes, and no object of its own.
 *
 * Time is passed in by the caller (`now`, epoch milliseconds, from Effect's `Clock`); an entry is live while
 * `now <= expiresAt`, as in Redis's `keyIsExpired`.
 */

/** No slot: the end of a list, a key that is not stored, an entry that is not in the heap. */
const NIL = -1
const NO_EXPIRY = Number.POSITIVE_INFINITY
/**
 * The expiry instant of a retired slot: an entry the expire cycle reclaimed whose key is still in its shard's
 * Map (see `MemoryStore.expireCycle`). Every `now` is past it, so a lookup that finds it sees an expired
 * entry, and only the code that would reclaim it has to tell the two apart.
 */
const RETIRED = Number.NEGATIVE_INFINITY
const INITIAL_CAPACITY = 1024
/**
 * Slot arrays left large by a peak are rebuilt at the size of what is left once it is at most a quarter of
 * them and this small, so the rebuild itself stays well under a millisecond.
 */
const COMPACT_AT_MOST = 16_384
/**
 * Keys are spread over this many Maps. V8 rehashes a whole Map when it grows past its capacity or shrinks
 * below a quarter of it: for 1M keys in one Map that is tens of milliseconds in one `delete`, which the
 * expire cycle cannot split. A 64th of the keys rehashes in a fraction of a millisecond.
 */
const SHARDS = 64

/** A cheap spread of keys over the shards: the length and three characters, most of them near the end. */
const shardOf = (key: string): number => {
  const n = key.length
  if (n < 2) return n === 0 ? 0 : key.charCodeAt(0) & (SHARDS - 1)
  return (
    (n + 7 * key.charCodeAt(n - 1) + 3 * key.charCodeAt(n - 2) + 31 * key.charCodeAt(n >> 1)) & (SHARDS - 1)
  )
}

/**
 * The most entries a V8 `Map` holds (2^24); one more throws `RangeError: Map maximum size exceeded`.
 *
 * @since 0.2.0
 * @category internal
 */
export const MAX_MAP_SIZE = 16_777_216

/**
 * What `MemoryStore` tells of every entry that goes.
 *
 * @since 0.2.0
 * @category internal
 */
export interface RemovalListener {
  drop(key: string): void
}

const IGNORE_REMOVALS: RemovalListener = { drop: () => {} }

/**
 * A key/value store of at most `maxEntries` live or expired-but-not-reclaimed entries.
 *
 * - Eviction: exact LRU. Inserting a new key into a full store first reclaims the entry that expired
 *   earliest, if one is due, and otherwise evicts the least recently used entry.
 * - Use: `get`, `set` and `lookup(…, true)` move an entry to the most recently used end; `lookup(…, false)`
 *   does not (Redis's `LOOKUP_NOTOUCH`, used by `EXISTS` and `PTTL`).
 * - Expiry: lazily on every lookup, and by `expireCycle`, which pops due entries off a binary min-heap of
 *   expiry instants until none is due or its time budget is spent.
 *
 * @since 0.2.0
 * @category internal
 */
export class MemoryStore {
  private shards = Array.from({ length: SHARDS }, () => new Map<string, number>())
  /** Per shard: its entries that are not retired (the rest of its Map's keys point to retired slots). */
  private readonly liveInShard = new Int32Array(SHARDS)
  /** Per shard: its retired slots, linked through `newer` (at `slot + 1`, as every link). */
  private readonly retiredHead = new Int32Array(SHARDS).fill(NIL)
  /** Per shard: 1 while its retired list holds slots whose keys were dropped with its old Map. */
  private readonly unmapped = new Uint8Array(SHARDS)
  private retiredCount = 0
  private count = 0
  private keys: Array<string | undefined> = []
  private values: Array<string | undefined> = []
  private expiresAt = new Float64Array(INITIAL_CAPACITY)
  /**
   * The LRU list, a circular doubly linked list through a sentinel. A slot's links are at `slot + 1`, so
   * that a link to `NIL` (-1) lands on index 0, the sentinel: its `older` is the most recently used slot,
   * its `newer` the least recently used. Linking and unlinking then take no branch. With a branch per end
   * of the list, the branch for an entry at an end went unused until a mass expiry reached it after V8 had
   * optimized the code without it: a deoptimization, and the expire cycle's code compiled again at the next
   * mass expiry, on V8's compiler threads, which on two cores kept the event loop waiting for a core.
   *
   * `newer`: toward the most recently used end; on a free or retired slot, the next slot of its list.
   */
  private newer = new Int32Array(INITIAL_CAPACITY + 1).fill(NIL)
  /** Toward the least recently used end. */
  private older = new Int32Array(INITIAL_CAPACITY + 1).fill(NIL)
  /** The slot's place in `heap`, or NIL when it has no expiry. */
  private heapIndex = new Int32Array(INITIAL_CAPACITY)
  /** Slots with an expiry, as a binary min-heap on `expiresAt`. */
  private heap = new Int32Array(INITIAL_CAPACITY)
  private heapSize = 0
  private capacity = INITIAL_CAPACITY
  /** Slots handed out so far; slots at and above it were never used. */
  private allocated = 0
  private freeHead = NIL
  private readonly maxEntries: number
  private wakeBefore = Number.NEGATIVE_INFINITY
  private wake: () => void = () => {}

  /**
   * `maxEntries`: a positive integer up to `MAX_MAP_SIZE`, or `Infinity` for `MAX_MAP_SIZE`. `removals` is
   * told the key of every entry that goes (delete, expiry, eviction): the tag index follows it. An object
   * with a method rather than a callback: V8 inlined a cache's own closure into the expire cycle's optimized
   * code and threw that code away when the cache was collected, so the next cache compiled it again at its
   * first mass expiry (`--trace-deopt`: "weak objects"); a method of a class is one function for every cache.
   */
  constructor(
    maxEntries: number,
    private readonly removals: RemovalListener = IGNORE_REMOVALS,
  ) {
    this.maxEntries = Math.min(maxEntries, MAX_MAP_SIZE)
  }

  /** The ends of the LRU list: the sentinel's links (see `newer`). */
  private get mostRecent(): number {
    return this.older[0]!
  }
  private get leastRecent(): number {
    return this.newer[0]!
  }

  /** Entries held, including expired ones not reclaimed yet (Redis's `DBSIZE`). */
  get size(): number {
    return this.count
  }

  /** The live value of a key, marking it used; an expired entry is reclaimed on the way. */
  get(key: string, now: number): string | undefined {
    const slot = this.shards[shardOf(key)]!.get(key)
    if (slot === undefined) return undefined
    const expiresAt = this.expiresAt[slot]!
    if (now > expiresAt) {
      if (expiresAt !== RETIRED) this.remove(slot)
      return undefined
    }
    return this.use(slot)
  }

  /**
   * `get` for the hot path: the time is read from `clock` only when the entry has an expiry, so a hit on a
   * key without one reads no clock at all (`Date.now()` costs about as much as the rest of a hit).
   */
  getReadingClock(key: string, clock: { unsafeCurrentTimeMillis(): number }): string | undefined {
    const slot = this.shards[shardOf(key)]!.get(key)
    if (slot === undefined) return undefined
    const expiresAt = this.expiresAt[slot]!
    if (expiresAt !== NO_EXPIRY && (expiresAt === RETIRED || clock.unsafeCurrentTimeMillis() > expiresAt)) {
      if (expiresAt !== RETIRED) this.remove(slot)
      return undefined
    }
    return this.use(slot)
  }

  /** The value of a live slot, marking it the most recently used. */
  private use(slot: number): string | undefined {
    if (slot !== this.mostRecent) {
      this.unlink(slot)
      this.linkMostRecent(slot)
    }
    return this.values[slot]
  }

  /** The slot of a live key, or NIL; `touch` marks it used. An expired entry is reclaimed on the way. */
  lookup(key: string, now: number, touch: boolean): number {
    const slot = this.shards[shardOf(key)]!.get(key)
    if (slot === undefined) return NIL
    const expiresAt = this.expiresAt[slot]!
    if (now > expiresAt) {
      if (expiresAt !== RETIRED) this.remove(slot)
      return NIL
    }
    if (touch && slot !== this.mostRecent) {
      this.unlink(slot)
      this.linkMostRecent(slot)
    }
    return slot
  }

  valueAt(slot: number): string {
    return this.values[slot]!
  }

  /** Epoch milliseconds, or `Infinity` for no expiry. */
  expiresAtOf(slot: number): number {
    return this.expiresAt[slot]!
  }

  /** Replaces the value of a stored entry, keeping its expiry (INCRBY). */
  setValue(slot: number, value: string): void {
    this.values[slot] = value
  }

  /** Stores a value with an expiry instant (`Infinity`: none) and marks it used, evicting if full. */
  set(key: string, value: string, expiresAt: number, now: number): void {
    const slot = this.shards[shardOf(key)]!.get(key)
    if (slot === undefined || this.expiresAt[slot] === RETIRED) {
      this.insert(key, value, expiresAt, now)
      return
    }
    // An expired entry is overwritten in place: the result is the same as reclaiming it and inserting.
    this.values[slot] = value
    this.setExpiry(slot, expiresAt)
    if (slot !== this.mostRecent) {
      this.unlink(slot)
      this.linkMostRecent(slot)
    }
  }

  /**
   * Adds a key that is not stored, evicting first if the store is full. A retired slot the key's Map entry
   * pointed to stays on its shard's retired list until `purgeRetired` or a compaction frees it.
   */
  insert(key: string, value: string, expiresAt: number, now: number): void {
    if (this.count >= this.maxEntries) this.evictOne(now)
    const slot = this.allocate()
    this.keys[slot] = key
    this.values[slot] = value
    this.expiresAt[slot] = NO_EXPIRY
    this.heapIndex[slot] = NIL
    this.setExpiry(slot, expiresAt)
    this.linkMostRecent(slot)
    const shard = shardOf(key)
    this.shards[shard]!.set(key, slot)
    this.liveInShard[shard]!++
    this.count++
  }

  /** Sets or removes (`Infinity`) the expiry of a stored entry. */
  setExpiry(slot: number, expiresAt: number): void {
    if (expiresAt < this.wakeBefore) {
      this.wakeBefore = Number.NEGATIVE_INFINITY
      this.wake()
    }
    this.expiresAt[slot] = expiresAt
    const at = this.heapIndex[slot]!
    if (expiresAt === NO_EXPIRY) {
      if (at !== NIL) this.heapRemove(slot)
    } else if (at === NIL) {
      const i = this.heapSize++
      this.heap[i] = slot
      this.heapIndex[slot] = i
      this.siftUp(i)
    } else {
      this.heapFix(at)
    }
  }

  /**
   * Removes a stored entry. Returns true when the delete may have made V8 rehash the shard's Map into a
   * smaller table, which it does when the Map's size falls below a quarter of its capacity (a power of two):
   * only a size one below a power of two can be such a moment.
   */
  remove(slot: number): boolean {
    const key = this.keys[slot]!
    const index = shardOf(key)
    const shard = this.shards[index]!
    shard.delete(key)
    this.release(slot, key, index)
    this.keys[slot] = undefined
    this.newer[slot + 1] = this.freeHead
    this.freeHead = slot
    const size = shard.size
    return (size & (size + 1)) === 0
  }

  /** Counts the live keys that match, without marking them used (as `SCAN`); reclaims expired ones seen. */
  countIf(now: number, matches: (key: string) => boolean): number {
    let count = 0
    // Deleting the entry being visited is safe while iterating a Map.
    for (const shard of this.shards) {
      for (const [key, slot] of shard) {
        const expiresAt = this.expiresAt[slot]!
        if (expiresAt === RETIRED) continue
        if (now > expiresAt) this.remove(slot)
        else if (matches(key)) count++
      }
    }
    return count
  }

  /** Deletes the live keys that match (no LRU update, as `SCAN`); reclaims expired ones seen. */
  deleteIf(now: number, matches: (key: string) => boolean): number {
    let deleted = 0
    for (const shard of this.shards) {
      for (const [key, slot] of shard) {
        const expiresAt = this.expiresAt[slot]!
        if (expiresAt === RETIRED) continue
        if (now > expiresAt) {
          this.remove(slot)
        } else if (matches(key)) {
          this.remove(slot)
          deleted++
        }
      }
    }
    this.compactIfSparse()
    return deleted
  }

  clear(): void {
    for (const shard of this.shards) shard.clear()
    this.liveInShard.fill(0)
    this.retiredHead.fill(NIL)
    this.unmapped.fill(0)
    this.retiredCount = 0
    this.count = 0
    this.keys = []
    this.values = []
    this.resize(INITIAL_CAPACITY, false)
    this.heapSize = 0
    this.allocated = 0
    this.freeHead = NIL
  }

  /** The earliest expiry instant held, or `Infinity`. */
  earliestExpiry(): number {
    return this.heapSize > 0 ? this.expiresAt[this.heap[0]!]! : NO_EXPIRY
  }

  /** Calls `wake` once, the first time an entry is given an expiry instant earlier than `before`. */
  armWake(before: number, wake: () => void): void {
    this.wakeBefore = before
    this.wake = wake
  }

  /**
   * One active expire cycle: reclaims due entries, earliest expiry first, until none is due or `outOfTime`
   * (asked after each entry, and told whether reclaiming it may have made V8 rehash a Map) says the budget
   * is spent. Returns true when due entries are left.
   *
   * The entries it reclaims are retired, not deleted: value, LRU links and heap place go at once, but the key
   * stays in its shard's Map, pointing to a slot marked `RETIRED`, until `purgeRetired` (or a compaction)
   * clears it. Deleting it would make V8 shrink the Map each time its size falls below a quarter of its
   * capacity, and when many entries expire together every shard does that at the same moment: 64 rehashes
   * of thousands of keys, and new tables of tens of MB that set off a mark-compact in the middle of the
   * expiry. A shard whose keys have all expired is instead replaced by an empty Map, with no rehash at all.
   */
  expireCycle(now: number, outOfTime: (mayHaveRehashed: boolean) => boolean): boolean {
    while (this.heapSize > 0) {
      const slot = this.heap[0]!
      if (!(now > this.expiresAt[slot]!)) break
      this.retire(slot)
      if (outOfTime(false)) {
        return this.heapSize > 0 && now > this.expiresAt[this.heap[0]!]!
      }
    }
    this.compactIfSparse()
    return false
  }

  /**
   * Clears the Map entries of retired slots and frees the slots, for the shards where they are at least as
   * many as the live keys: a shard with no live key gets an empty Map, the others have the retired keys
   * deleted. `outOfTime` is asked after each slot it frees; returns true when it stopped before
   * looking at every shard (the next call then returns false at once if nothing is left to do).
   */
  purgeRetired(outOfTime: (mayHaveRehashed: boolean) => boolean): boolean {
    for (let index = 0; index < SHARDS && this.retiredCount > 0; index++) {
      let slot = this.retiredHead[index]!
      if (slot === NIL) continue
      const live = this.liveInShard[index]!
      if (live === 0 && this.unmapped[index] === 0) {
        // Every key in the shard's Map points to a retired slot: one new Map drops them all, and the list
        // is left to free. Each free still counts against the budget (a shard's slots are scattered over
        // the slot arrays: freeing the 15,000 of one took about 0.8 ms, and 32 shards freed between two
        // looks at the clock ran 26 ms past a 1 ms budget). Until the list is done, `unmapped` says its
        // slots are in no Map, whatever is written to the shard meanwhile.
        this.shards[index] = new Map()
        this.unmapped[index] = 1
      }
      const shard = this.shards[index]!
      if (this.unmapped[index] === 0 && shard.size - live < live) continue
      while (slot !== NIL) {
        const next = this.newer[slot + 1]!
        const key = this.keys[slot]!
        // A key written again since it was retired points to its new slot: only the stale entry goes.
        let mayHaveRehashed = false
        if (shard.get(key) === slot) {
          shard.delete(key)
          const size = shard.size
          mayHaveRehashed = (size & (size + 1)) === 0
        }
        this.free(slot)
        slot = next
        this.retiredHead[index] = slot
        if (outOfTime(mayHaveRehashed)) return true
      }
      this.unmapped[index] = 0
    }
    return false
  }

  /** What `remove` and `retire` share: the entry stops counting, leaves recency and expiry, drops its value. */
  private release(slot: number, key: string, index: number): void {
    this.liveInShard[index]!--
    this.removals.drop(key)
    this.count--
    this.unlink(slot)
    if (this.heapIndex[slot] !== NIL) this.heapRemove(slot)
    this.values[slot] = undefined
  }

  /** Reclaims an expired entry but leaves its key in its shard's Map (see `expireCycle`). */
  private retire(slot: number): void {
    const key = this.keys[slot]!
    const index = shardOf(key)
    this.release(slot, key, index)
    this.expiresAt[slot] = RETIRED
    this.newer[slot + 1] = this.retiredHead[index]!
    this.retiredHead[index] = slot
    this.retiredCount++
  }

  /** Puts a retired slot on the free list. */
  private free(slot: number): void {
    this.keys[slot] = undefined
    this.newer[slot + 1] = this.freeHead
    this.freeHead = slot
    this.retiredCount--
  }

  private evictOne(now: number): void {
    const earliest = this.heapSize > 0 ? this.heap[0]! : NIL
    this.remove(earliest !== NIL && now > this.expiresAt[earliest]! ? earliest : this.leastRecent)
  }

  private allocate(): number {
    const free = this.freeHead
    if (free !== NIL) {
      this.freeHead = this.newer[free + 1]!
      return free
    }
    if (this.allocated === this.capacity) {
      // Every slot is live or retired; the live ones are fewer than maxEntries (the caller evicted).
      if (this.capacity >= this.maxEntries) return this.recycleRetired()
      this.resize(Math.min(this.capacity * 2, this.maxEntries), true)
    }
    return this.allocated++
  }

  /** A retired slot, its key's stale Map entry cleared, for a store whose slots are all in use. */
  private recycleRetired(): number {
    let index = 0
    while (this.retiredHead[index] === NIL) index++
    const slot = this.retiredHead[index]!
    this.retiredHead[index] = this.newer[slot + 1]!
    const key = this.keys[slot]!
    const shard = this.shards[index]!
    if (shard.get(key) === slot) shard.delete(key)
    this.keys[slot] = undefined
    this.retiredCount--
    return slot
  }

  private resize(capacity: number, keep: boolean): void {
    const grown = <T extends Float64Array | Int32Array>(old: T, next: T): T => {
      if (keep) next.set(old.subarray(0, Math.min(old.length, next.length)))
      return next
    }
    this.expiresAt = grown(this.expiresAt, new Float64Array(capacity))
    // Not kept: an empty list, the sentinel linked to nothing.
    this.newer = grown(this.newer, new Int32Array(capacity + 1).fill(NIL))
    this.older = grown(this.older, new Int32Array(capacity + 1).fill(NIL))
    this.heapIndex = grown(this.heapIndex, new Int32Array(capacity))
    this.heap = grown(this.heap, new Int32Array(capacity))
    this.capacity = capacity
  }

  /** Rebuilds the slot arrays at the size of what is left, slots renumbered from least recently used. */
  private compactIfSparse(): void {
    const size = this.count
    if (this.capacity === INITIAL_CAPACITY || size * 4 > this.capacity || size > COMPACT_AT_MOST) return
    let capacity = INITIAL_CAPACITY
    while (capacity < size * 2) capacity *= 2
    const keys: Array<string | undefined> = []
    const values: Array<string | undefined> = []
    const expiresAt = new Float64Array(capacity)
    // New Maps: they drop the keys of retired slots, and the tables a peak left large.
    this.shards = Array.from({ length: SHARDS }, () => new Map<string, number>())
    this.liveInShard.fill(0)
    this.retiredHead.fill(NIL)
    this.unmapped.fill(0)
    this.retiredCount = 0
    let next = 0
    for (let slot = this.leastRecent; slot !== NIL; slot = this.newer[slot + 1]!) {
      const key = this.keys[slot]!
      keys.push(key)
      values.push(this.values[slot])
      expiresAt[next] = this.expiresAt[slot]!
      const shard = shardOf(key)
      this.shards[shard]!.set(key, next++)
      this.liveInShard[shard]!++
    }
    this.keys = keys
    this.values = values
    this.resize(capacity, false)
    this.expiresAt = expiresAt
    this.heapSize = 0
    for (let slot = 0; slot < size; slot++) {
      this.older[slot + 1] = slot - 1
      this.newer[slot + 1] = slot + 1 < size ? slot + 1 : NIL
      if (expiresAt[slot] === NO_EXPIRY) {
        this.heapIndex[slot] = NIL
      } else {
        this.heap[this.heapSize] = slot
        this.heapIndex[slot] = this.heapSize++
      }
    }
    for (let i = (this.heapSize >> 1) - 1; i >= 0; i--) this.siftDown(i)
    this.newer[0] = size > 0 ? 0 : NIL
    this.older[0] = size - 1
    this.allocated = size
    this.freeHead = NIL
  }

  /** Links the slot in at the most recently used end (next to the sentinel: see `newer`). */
  private linkMostRecent(slot: number): void {
    const older = this.older
    const mostRecent = older[0]!
    older[slot + 1] = mostRecent
    this.newer[slot + 1] = NIL
    this.newer[mostRecent + 1] = slot
    older[0] = slot
  }

  private unlink(slot: number): void {
    const olderLinks = this.older
    const newerLinks = this.newer
    const older = olderLinks[slot + 1]!
    const newer = newerLinks[slot + 1]!
    olderLinks[newer + 1] = older
    newerLinks[older + 1] = newer
  }

  private heapRemove(slot: number): void {
    const i = this.heapIndex[slot]!
    this.heapIndex[slot] = NIL
    const last = this.heap[--this.heapSize]!
    if (i === this.heapSize) return
    this.heap[i] = last
    this.heapIndex[last] = i
    this.heapFix(i)
  }

  private heapFix(i: number): void {
    if (i > 0 && this.expiresAt[this.heap[i]!]! < this.expiresAt[this.heap[(i - 1) >> 1]!]!) this.siftUp(i)
    else this.siftDown(i)
  }

  private siftUp(start: number): void {
    const heap = this.heap
    const slot = heap[start]!
    const at = this.expiresAt[slot]!
    let i = start
    while (i > 0) {
      const parent = (i - 1) >> 1
      const parentSlot = heap[parent]!
      if (this.expiresAt[parentSlot]! <= at) break
      heap[i] = parentSlot
      this.heapIndex[parentSlot] = i
      i = parent
    }
    heap[i] = slot
    this.heapIndex[slot] = i
  }

  private siftDown(start: number): void {
    const heap = this.heap
    const size = this.heapSize
    const slot = heap[start]!
    const at = this.expiresAt[slot]!
    let i = start
    for (;;) {
      let child = 2 * i + 1
      if (child >= size) break
      const right = child + 1
      if (right < size && this.expiresAt[heap[right]!]! < this.expiresAt[heap[child]!]!) child = right
      const childSlot = heap[child]!
      if (this.expiresAt[childSlot]! >= at) break
      heap[i] = childSlot
      this.heapIndex[childSlot] = i
      i = child
    }
    heap[i] = slot
    this.heapIndex[slot] = i
  }
}
