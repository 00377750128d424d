/**
 * The operation a fiber suspends on while its batch (an MGET, a write script, one command) is on the wire:
 * Effect's own asynchronous primitive, built directly.
 *
 * `Effect.async` is the public way to get it, and for one call it is the right one. On the hot paths of
 * this library it is a quarter of what a fiber pays to wait: each call builds a `Commit` wrapper, and when
 * the fiber reaches it, a second closure pair (the proxy that guards a resume made during registration,
 * and the register it hands the fiber) around the primitive the runtime actually suspends on. The runtime
 * itself already handles all of what that layer adds for a register that returns no canceller, which is
 * every use here: a resume made while registering (`FiberRuntime.initiateAsync` queues it), a second resume
 * (ignored), interruption (the fiber's own callback is the interruptor, so a later resume is ignored).
 * Measured on the `effect-floor-concurrent` loops (256 fibers, one batch per scheduler round, no I/O), the
 * primitive built here ran at 765-787k operations a second against 611k for `Effect.async`.
 *
 * Hand-written because nothing public in Effect 3 builds that primitive without the wrapper. It relies on
 * the primitive's shape (`_op`, `effect_instruction_i0`, `effect_instruction_i1`), so the shape is checked
 * once, at load, on the primitive `Effect.async` itself builds: where it does not match (another Effect
 * line), `resumable` is `Effect.async`, and nothing but speed changes.
 */
import { Effect, FiberId } from "effect"

/** What a register hands back to the fiber: the outcome of the operation, as an Effect. */
type Resume<A, E> = (outcome: Effect.Effect<A, E>) => void

/** The constructor of Effect's primitives, when `Effect.async`'s own primitive has the expected shape. */
const asyncPrimitive = ((): (new (op: string) => Record<string, unknown>) | undefined => {
  try {
    // One parameter, as every register here has: with two, Effect.async also builds an AbortController.
    const wrapper = Effect.async<never>((_resume) => {}) as unknown as { commit?: () => unknown }
    const primitive = typeof wrapper.commit === "function" ? wrapper.commit() : undefined
    if (typeof primitive !== "object" || primitive === null) return undefined
    const fields = primitive as Record<string, unknown>
    if (
      fields._op !== "Async" ||
      typeof fields.effect_instruction_i0 !== "function" ||
      fields.effect_instruction_i1 !== FiberId.none
    ) {
      return undefined
    }
    const Primitive = primitive.constructor as new (op: string) => Record<string, unknown>
    const built = new Primitive("Async")
    return Effect.isEffect(built) && built._op === "Async" ? Primitive : undefined
  } catch {
    return undefined
  }
})()

/**
 * Whether `resumable` builds the primitive directly (true on the Effect line this package supports).
 *
 * @since 0.2.0
 * @category internal
 */
export const isDirect = asyncPrimitive !== undefined

/**
 * An operation that suspends the fiber until `register`'s `resume` is called once; like `Effect.async`
 * with a register that returns no canceller (interrupting the fiber does not stop the operation, and a
 * resume after the interruption is ignored). `resume` may be called during `register`.
 *
 * @since 0.2.0
 * @category internal
 */
export const resumable: <A, E>(register: (resume: Resume<A, E>) => void) => Effect.Effect<A, E> =
  asyncPrimitive === undefined
    ? <A, E>(register: (resume: Resume<A, E>) => void) =>
        Effect.async<A, E>((resume) => {
          register(resume)
        })
    : <A, E>(register: (resume: Resume<A, E>) => void) => {
        const primitive = new asyncPrimitive("Async")
        primitive.effect_instruction_i0 = register
        primitive.effect_instruction_i1 = FiberId.none
        return primitive as unknown as Effect.Effect<A, E>
      }
