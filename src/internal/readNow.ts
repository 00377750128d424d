/**
 * A read that process memory can often answer, answered without a turn of the fiber's run loop.
 *
 * An Effect is a description: a read must look its store up each time it runs (`Effect.repeat`, a retry, a
 * polling loop, a read built before a write and run after it), never when it is built. `Effect.sync` and
 * `Effect.suspend` give that, for one or two turns of the fiber's run loop per read (about 0.15 µs each with
 * 256 fibers), which costs as much as the lookup in memory itself. Hand-written because nothing in Effect
 * offers a lazy read without that turn.
 *
 * How: `yield*` in `Effect.gen` asks the read for its iterator when the generator reaches it, which is when
 * the read runs. A `ReadNow` looks its store up there and hands the generator the finished `Exit`, which
 * Effect's generator step consumes at once (fiberRuntime's `OP_ITERATOR` takes a yielded `Exit` without
 * returning to the run loop, as it does for `yield* Effect.succeed(x)`). Run any other way (`flatMap`,
 * `Effect.repeat`, `runSync`, inside a span or a metric), it is an ordinary `Commit` primitive whose
 * `commit` does the same lookup when the fiber reaches it.
 *
 * A read answered that way gives the fiber no chance to yield, where `Effect.sync` counts towards the run
 * loop's yield every 2,048 operations. So that a loop of reads answered from memory cannot hold the event
 * loop, every `YIELD_EVERY`-th read answered this way in the process first yields (`Effect.yieldNow`) and
 * then takes the ordinary path.
 */
import { Effect, Effectable } from "effect"
import { SingleShotGen, YieldWrap } from "effect/Utils"

/** Reads answered through `yield*` between two yields of the fiber that makes one. */
const YIELD_EVERY = 2_048

let sinceYield = 0

/**
 * A read whose `run` is called each time it runs: it answers with a finished `Exit` when memory can, and
 * with the Effect that goes further (a miss that goes to Redis) when it cannot.
 *
 * @since 0.2.0
 * @category internal
 */
export abstract class ReadNow<A, E> extends Effectable.Class<A, E> {
  /** The read, looked up now: a finished `Exit` when process memory answers it. */
  abstract run(): Effect.Effect<A, E>

  commit(): Effect.Effect<A, E> {
    return this.run()
  }

  override [Symbol.iterator](): Effect.EffectGenerator<Effect.Effect<A, E>> {
    let step: Effect.Effect<A, E>
    if (++sinceYield >= YIELD_EVERY) {
      sinceYield = 0
      step = Effect.zipRight(Effect.yieldNow(), this)
    } else {
      // What `run` throws is a defect of the fiber, as from `Effect.sync`: thrown here it would surface at
      // the caller's `yield*`, inside the generator, where a `try` around it could catch it.
      try {
        step = this.run()
      } catch (defect) {
        step = Effect.die(defect)
      }
    }
    return new SingleShotGen(new YieldWrap(step)) as unknown as Effect.EffectGenerator<Effect.Effect<A, E>>
  }
}
