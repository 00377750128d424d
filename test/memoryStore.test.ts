/**
 * The memory layer's store against a plain model (a Map in LRU order, expiry instants beside it): random
 * operations must leave both holding the same keys and values, so the LRU links, the expiry heap and the
 * slot compaction cannot drift from what they stand for.
 */
import { describe, expect, it } from "vitest"
import { MemoryStore } from "../src/internal/memoryStore.js"

interface ModelEntry {
  value: string
  expiresAt: number
}

/** The obvious implementation: Map insertion order is LRU order. */
class Model {
  readonly entries = new Map<string, ModelEntry>()
  constructor(readonly maxEntries: number) {}

  private live(key: string, now: number): ModelEntry | undefined {
    const entry = this.entries.get(key)
    if (entry !== undefined && now > entry.expiresAt) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }
  get(key: string, now: number, touch = true) {
    const entry = this.live(key, now)
    if (entry !== undefined && touch) {
      this.entries.delete(key)
      this.entries.set(key, entry)
    }
    return entry
  }
  set(key: string, value: string, expiresAt: number, now: number) {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const due = this.dueInOrder(now)
      this.entries.delete(due.length > 0 ? due[0]! : this.entries.keys().next().value!)
    }
    this.entries.delete(key)
    this.entries.set(key, { value, expiresAt })
  }
  dueInOrder(now: number) {
    return Array.from(this.entries)
      .filter(([, entry]) => now > entry.expiresAt)
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
      .map(([key]) => key)
  }
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const sameContents = (store: MemoryStore, model: Model, keySpace: number, now: number) => {
  expect(store.size).toBe(model.entries.size)
  for (let k = 0; k < keySpace; k++) {
    const key = `k${k}`
    const slot = store.lookup(key, now, false)
    const entry = model.get(key, now, false)
    expect(slot < 0 ? undefined : [store.valueAt(slot), store.expiresAtOf(slot)]).toStrictEqual(
      entry === undefined ? undefined : [entry.value, entry.expiresAt],
    )
  }
}

describe("MemoryStore", () => {
  for (const seed of [1, 2, 3]) {
    it(`matches the model under random operations (seed ${seed})`, () => {
      const next = random(seed)
      const keySpace = 300
      const store = new MemoryStore(200)
      const model = new Model(200)
      let now = 1_000
      let unique = 0
      for (let step = 0; step < 20_000; step++) {
        now += Math.floor(next() * 3)
        const key = `k${Math.floor(next() * keySpace)}`
        const op = next()
        // Distinct expiry instants, so "the earliest due" is one key in both.
        const expiry = () =>
          next() < 0.3 ? Number.POSITIVE_INFINITY : now + 1 + next() * 500 + ++unique * 1e-7
        if (op < 0.35) {
          const at = expiry()
          store.set(key, `v${step}`, at, now)
          model.set(key, `v${step}`, at, now)
        } else if (op < 0.65) {
          expect(store.get(key, now)).toBe(model.get(key, now)?.value)
        } else if (op < 0.75) {
          const slot = store.lookup(key, now, true)
          const entry = model.get(key, now)
          expect(slot >= 0).toBe(entry !== undefined)
          if (slot >= 0 && entry !== undefined) {
            const at = expiry()
            store.setExpiry(slot, at)
            entry.expiresAt = at
          }
        } else if (op < 0.82) {
          const slot = store.lookup(key, now, false)
          expect(slot >= 0).toBe(model.get(key, now, false) !== undefined)
          if (slot >= 0) {
            store.remove(slot)
            model.entries.delete(key)
          }
        } else if (op < 0.97) {
          // A cycle whose budget runs out after a random number of checks (one check per reclaimed entry).
          const checks = Math.floor(next() * 30)
          let asked = 0
          const due = model.dueInOrder(now)
          const behind = store.expireCycle(now, () => ++asked > checks)
          const reclaimed = asked > checks ? asked : due.length
          for (const k of due.slice(0, reclaimed)) model.entries.delete(k)
          expect(behind).toBe(due.length > reclaimed)
        } else {
          const matches = (k: string) => k.endsWith("7")
          const expected = Array.from(model.entries.keys()).filter(
            (k) => model.get(k, now, false) !== undefined && matches(k),
          )
          expect(store.countIf(now, matches)).toBe(expected.length)
        }
        expect(store.size).toBe(model.entries.size)
      }
      sameContents(store, model, keySpace, now)
    })
  }

  it("matches the model when many keys expire together: retired slots stay invisible, get reused, get purged", () => {
    const next = random(4)
    const keySpace = 3_000
    // Full most of the time, so writes recycle retired slots as well as free ones.
    const store = new MemoryStore(2_000)
    const model = new Model(2_000)
    let now = 1_000
    for (let step = 0; step < 30_000; step++) {
      now += Math.floor(next() * 2)
      const key = `k${Math.floor(next() * keySpace)}`
      const op = next()
      if (op < 0.002) {
        // A wave: a thousand keys expiring together, as after one setMany (instants a hair apart, so that
        // "the earliest due" is one key in both).
        const at = now + 1 + next() * 50
        for (let i = 0; i < 1_000; i++) {
          const waveKey = `k${Math.floor(next() * keySpace)}`
          store.set(waveKey, `w${step}`, at + i * 1e-7, now)
          model.set(waveKey, `w${step}`, at + i * 1e-7, now)
        }
      } else if (op < 0.3) {
        const at = next() < 0.3 ? Number.POSITIVE_INFINITY : now + 1 + next() * 100 + step * 1e-4
        store.set(key, `v${step}`, at, now)
        model.set(key, `v${step}`, at, now)
      } else if (op < 0.6) {
        expect(store.get(key, now)).toBe(model.get(key, now)?.value)
      } else if (op < 0.65) {
        const slot = store.lookup(key, now, false)
        expect(slot >= 0).toBe(model.get(key, now, false) !== undefined)
        if (slot >= 0) {
          store.remove(slot)
          model.entries.delete(key)
        }
      } else if (op < 0.8) {
        const checks = Math.floor(next() * 200)
        let asked = 0
        const due = model.dueInOrder(now)
        store.expireCycle(now, () => ++asked > checks)
        const reclaimed = asked > checks ? asked : due.length
        for (const k of due.slice(0, reclaimed)) model.entries.delete(k)
      } else if (op < 0.95) {
        const checks = Math.floor(next() * 50)
        let asked = 0
        store.purgeRetired(() => ++asked > checks)
      } else {
        const matches = (k: string) => k.endsWith("3")
        const expected = Array.from(model.entries.keys()).filter(
          (k) => model.get(k, now, false) !== undefined && matches(k),
        )
        expect(store.countIf(now, matches)).toBe(expected.length)
      }
      expect(store.size).toBe(model.entries.size)
    }
    sameContents(store, model, keySpace, now)
    // Once nothing is due, a purge without a budget ends, and leaves the contents alone.
    store.expireCycle(now, () => false)
    for (const k of model.dueInOrder(now)) model.entries.delete(k)
    expect(store.purgeRetired(() => false)).toBe(false)
    sameContents(store, model, keySpace, now)
  })

  it("a purge asks for the budget after every slot it frees, and one stopped half way finishes later", () => {
    // 1,000 entries stay below the first growth of the slot arrays, so nothing compacts them: every shard
    // is left with only retired keys, the purge's cheapest case, which still must not outrun its budget.
    const retiredThousand = () => {
      const store = new MemoryStore(10_000)
      for (let i = 0; i < 1_000; i++) store.set(`k${i}`, `v${i}`, 10, 0)
      expect(store.expireCycle(20, () => false)).toBe(false)
      expect(store.size).toBe(0)
      return store
    }
    const store = retiredThousand()
    let asked = 0
    expect(store.purgeRetired(() => ++asked === 300)).toBe(true)
    expect(asked).toBe(300)
    asked = 0
    expect(store.purgeRetired(() => ++asked < 0)).toBe(false)
    expect(asked).toBe(700)

    // Keys written while a purge is half way: some of their shards are purged already, some not.
    const rewritten = retiredThousand()
    expect(rewritten.purgeRetired(() => ++asked % 300 === 0)).toBe(true)
    for (let i = 0; i < 1_000; i += 10) rewritten.set(`k${i}`, `again${i}`, Number.POSITIVE_INFINITY, 20)
    while (rewritten.purgeRetired(() => ++asked % 50 === 0)) {}
    expect(rewritten.size).toBe(100)
    for (let i = 0; i < 1_000; i++) {
      expect(rewritten.get(`k${i}`, 20)).toBe(i % 10 === 0 ? `again${i}` : undefined)
    }
    for (let i = 1; i < 1_000; i += 10) rewritten.set(`k${i}`, `third${i}`, Number.POSITIVE_INFINITY, 20)
    expect(rewritten.size).toBe(200)
    expect(rewritten.get("k991", 20)).toBe("third991")
  })

  it("keeps LRU order, values and expiries when it compacts its slots after a peak", () => {
    const store = new MemoryStore(3_000)
    const model = new Model(3_000)
    const now = 0
    for (let i = 0; i < 3_000; i++) {
      const at = i % 2 === 0 ? Number.POSITIVE_INFINITY : 1_000 + i
      store.set(`k${i}`, `v${i}`, at, now)
      model.set(`k${i}`, `v${i}`, at, now)
    }
    // Touch a spread of keys, so LRU order is not slot order.
    for (let i = 0; i < 3_000; i += 7) {
      store.get(`k${i}`, now)
      model.get(`k${i}`, now)
    }
    // Leave 600 (a fifth): the slot arrays are rebuilt.
    const keep = (k: string) => Number(k.slice(1)) % 5 === 0
    expect(store.deleteIf(now, (k) => !keep(k))).toBe(2_400)
    for (const k of Array.from(model.entries.keys())) if (!keep(k)) model.entries.delete(k)
    sameContents(store, model, 3_000, now)

    // Fill up again and past the bound: evictions follow the LRU order from before the rebuild.
    for (let i = 3_000; i < 6_000; i++) {
      store.set(`k${i}`, `v${i}`, Number.POSITIVE_INFINITY, now)
      model.set(`k${i}`, `v${i}`, Number.POSITIVE_INFINITY, now)
    }
    expect(store.size).toBe(3_000)
    sameContents(store, model, 6_000, now)

    // The expiry heap survived the rebuild: due entries go, earliest first, and only those.
    expect(store.expireCycle(3_000, () => false)).toBe(false)
    for (const k of model.dueInOrder(3_000)) model.entries.delete(k)
    sameContents(store, model, 6_000, 3_000)
  })

  it("clear empties it and it works afterwards", () => {
    const store = new MemoryStore(10)
    for (let i = 0; i < 2_000; i++) store.set(`k${i}`, "v", i, 0)
    store.clear()
    expect(store.size).toBe(0)
    expect(store.get("k1999", 0)).toBeUndefined()
    expect(store.expireCycle(10_000, () => false)).toBe(false)
    store.set("a", "1", 5, 0)
    expect(store.get("a", 5)).toBe("1")
    expect(store.get("a", 6)).toBeUndefined()
    expect(store.size).toBe(0)
  })
})
