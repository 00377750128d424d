/**
 * The read object behind reads answered from process memory (src/internal/readNow.ts): looked up each time
 * it runs, whichever way it is run, and a defect when its lookup throws, as `Effect.sync` would make it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { ReadNow } from "../src/internal/readNow.js"

class Counter extends ReadNow<number, never> {
  runs = 0
  run() {
    return Exit.succeed(++this.runs)
  }
}

class Throwing extends ReadNow<number, never> {
  run(): Exit.Exit<number> {
    throw new Error("the lookup failed")
  }
}

describe("ReadNow", () => {
  it.effect("looks up each time it runs: yielded, through combinators, repeated", () =>
    Effect.gen(function* () {
      const read = new Counter()
      expect(read.runs).toBe(0)
      expect(yield* read).toBe(1)
      expect(yield* read).toBe(2)
      expect(yield* Effect.map(read, (n) => n * 10)).toBe(30)
      expect(yield* Effect.repeat(read, { times: 2 })).toBe(6)
      expect(Effect.runSync(read)).toBe(7)
    }),
  )

  it.effect("a lookup that throws is a defect, yielded or not, and a try around yield* does not see it", () =>
    Effect.gen(function* () {
      const yielded = yield* Effect.exit(
        Effect.gen(function* () {
          try {
            return yield* new Throwing()
          } catch {
            return -1
          }
        }),
      )
      expect(Exit.isFailure(yielded) && Cause.isDie(yielded.cause)).toBe(true)
      const mapped = yield* Effect.exit(Effect.map(new Throwing(), (n) => n))
      expect(Exit.isFailure(mapped) && Cause.isDie(mapped.cause)).toBe(true)
    }),
  )
})
