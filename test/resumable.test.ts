/**
 * The primitive the batchers suspend on (src/internal/resumable.ts): built directly on the Effect this
 * package supports, and behaving as `Effect.async` with a register that returns no canceller.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { isDirect, resumable } from "../src/internal/resumable.js"

/** A pending operation whose outcome the test gives by hand. */
const pending = <A, E>() => {
  const resumes: Array<(outcome: Effect.Effect<A, E>) => void> = []
  let registers = 0
  const operation = resumable<A, E>((resume) => {
    registers++
    resumes.push(resume)
  })
  return { operation, resumes, registers: () => registers }
}

describe("resumable", () => {
  it("builds Effect's own primitive on the installed Effect (not the Effect.async fallback)", () => {
    expect(isDirect).toBe(true)
  })

  it.effect("succeeds and fails with what it is resumed with, later or during its register", () =>
    Effect.gen(function* () {
      const later = pending<number, string>()
      const fiber = yield* Effect.fork(later.operation)
      yield* Effect.yieldNow()
      expect(later.resumes).toHaveLength(1)
      later.resumes[0]!(Effect.succeed(42))
      expect(yield* Fiber.join(fiber)).toBe(42)

      const failed = pending<number, string>()
      const failing = yield* Effect.fork(failed.operation)
      yield* Effect.yieldNow()
      failed.resumes[0]!(Effect.fail("refused"))
      expect(yield* Effect.flip(Fiber.join(failing))).toBe("refused")

      const now = resumable<string, never>((resume) => resume(Effect.succeed("at once")))
      expect(yield* now).toBe("at once")
      expect(yield* Effect.map(now, (s) => s.length)).toBe(7)
    }),
  )

  it.effect("is a description: each run registers again", () =>
    Effect.gen(function* () {
      let registers = 0
      const operation = resumable<number, never>((resume) => {
        registers++
        setTimeout(() => resume(Effect.succeed(registers)), 1)
      })
      expect(registers).toBe(0)
      expect(yield* Effect.repeat(operation, { times: 2 })).toBe(3)
      expect(registers).toBe(3)
    }),
  )

  it.effect("a second resume is ignored", () =>
    Effect.gen(function* () {
      const twice = resumable<number, never>((resume) => {
        resume(Effect.succeed(1))
        resume(Effect.succeed(2))
      })
      expect(yield* twice).toBe(1)
    }),
  )

  it.effect("interrupting the waiting fiber ends it interrupted; the later resume is ignored", () =>
    Effect.gen(function* () {
      const op = pending<number, never>()
      const ran: Array<number> = []
      const fiber = yield* Effect.fork(Effect.tap(op.operation, (n) => Effect.sync(() => ran.push(n))))
      yield* Effect.yieldNow()
      expect(op.registers()).toBe(1)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      op.resumes[0]!(Effect.succeed(7))
      yield* Effect.yieldNow()
      expect(ran).toEqual([])
    }),
  )

  it("runs outside a fiber program too (runPromise), and many at once", async () => {
    const many = Array.from({ length: 100 }, (_, i) =>
      resumable<number, never>((resume) => {
        queueMicrotask(() => resume(Effect.succeed(i)))
      }),
    )
    const all = await Effect.runPromise(Effect.all(many, { concurrency: "unbounded" }))
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })
})
