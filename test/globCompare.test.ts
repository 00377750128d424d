/**
 * The memory layer's deletePattern against the real Redis: the same keys, the same generated patterns, the
 * same counts and the same survivors. Patterns lean on the edge cases: unterminated classes, escapes at the
 * end, reversed ranges, `^` outside a class, multi-byte characters under `?`.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Cache, type CacheError, MemoryCache } from "../src/index.js"
import { RedisCache } from "../src/redis.js"
import { redisUrl } from "./support/testRedis.js"

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const random = mulberry32(20261121)
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!
const word = (alphabet: ReadonlyArray<string>, max: number) =>
  Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(alphabet)).join("")

const keyAlphabet = ["a", "b", "c", "-", "^", "*", "?", "[", "]", "\\", "é", "z"]
const patternAlphabet = [...keyAlphabet, "*", "?", "[", "[^", "]", "\\", "a-c", "c-a", "[a-", "\\]"]

const keys = Array.from(new Set(Array.from({ length: 60 }, () => word(keyAlphabet, 5)))).filter(
  (k) => k !== "",
)
const patterns = [
  "*",
  "?",
  "[",
  "[^",
  "\\",
  "a\\",
  "[a-]",
  "[]]",
  "[\\]",
  "[^]a",
  "*a*b*",
  "**",
  "?é",
  "??",
  "[é]",
  ...Array.from({ length: 250 }, () => word(patternAlphabet, 5)),
]

const outcome = (layer: Layer.Layer<Cache, CacheError>, pattern: string) =>
  Effect.gen(function* () {
    const cache = yield* Cache
    yield* cache.flush
    yield* cache.setMany(keys.map((k) => [k, "v"] as const))
    const deleted = yield* cache.deletePattern(pattern)
    const left = yield* cache.getMany(keys)
    return { deleted, survivors: keys.filter((k) => Option.isSome(left.get(k)!)) }
  }).pipe(Effect.provide(layer))

it.live(`memory deletePattern matches Redis on ${patterns.length} patterns over ${keys.length} keys`, () =>
  Effect.gen(function* () {
    // Database 2 is this file's alone: the comparison flushes it for every pattern.
    const redis = yield* Layer.memoize(RedisCache.layer({ url: redisUrl(2) }))
    const memory = yield* Layer.memoize(MemoryCache.layer())
    let nonTrivial = 0
    for (const pattern of patterns) {
      const fromRedis = yield* outcome(redis, pattern)
      const fromMemory = yield* outcome(memory, pattern)
      expect({ pattern, ...fromMemory }).toStrictEqual({ pattern, ...fromRedis })
      if (fromRedis.deleted > 0 && fromRedis.deleted < keys.length) nonTrivial++
    }
    // The generated patterns must actually discriminate, or the comparison proves little.
    expect(nonTrivial).toBeGreaterThan(20)
  }).pipe(Effect.scoped),
)
