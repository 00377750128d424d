/**
 * Spans for the domain services that cost next to nothing when nobody collects them.
 *
 * Every fiber starts with Effect's native tracer, which builds real span objects (random ids, attribute maps,
 * a clock read at each end) and hands them to nobody. `Effect.withSpan` pays for all of that on every call:
 * at 256 concurrent `ProviderConnectionCache.get` hits it was about 72% of the time spent. So the decision is
 * taken per call, from the fiber's own services: while the tracer is still the native one (or tracing is
 * switched off with `Effect.withTracerEnabled(false)`), the operation runs without a span; once a layer
 * installs a tracer (`Layer.setTracer`, `@effect/opentelemetry`, `Effect.withTracer`), the span is created
 * as before, with its attributes. Checking costs one `FiberRef` read and one `Context` lookup.
 *
 * What the fast path gives up is only visible without an exporter: the current span inside the operation is
 * the caller's, and `Cause.pretty` lists no `at ProviderConnectionCache.get` line for a failure raised inside.
 *
 * The stack of the call site is not captured (`captureStackTrace: false`): it would name a line of this
 * library, never the caller's, and capturing it walks the stack on every call.
 */
import { Context, DefaultServices, Effect, Fiber, FiberRef, Option, Tracer } from "effect"

/** The tracer every fiber has until something installs another. */
const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Whether a span made by this fiber now would reach a tracer other than Effect's native one. */
const isCollected = (fiber: {
  readonly currentDefaultServices: Context.Context<DefaultServices.DefaultServices>
  getFiberRef<A>(fiberRef: FiberRef.FiberRef<A>): A
}): boolean =>
  Context.get(fiber.currentDefaultServices, Tracer.Tracer) !== nativeTracer &&
  fiber.getFiberRef(FiberRef.currentTracerEnabled)

/**
 * Whether a span made now by the running fiber would be collected; `true` when no fiber is running, so that
 * the caller takes the path that asks the fiber itself. For a read answered without a turn of the fiber's
 * loop (readNow.ts), which is handed no fiber.
 *
 * @since 0.2.0
 * @category internal
 */
export const spanCollectedNow = (): boolean => {
  const fiber = Fiber.getCurrentFiber()
  return Option.isNone(fiber) || isCollected(fiber.value)
}

/**
 * `Effect.withSpan(name, { attributes })` when a tracer other than the native one is installed, and `self`
 * unchanged otherwise. `attributes` is only evaluated when the span is made.
 *
 * @since 0.2.0
 * @category internal
 */
export const withDomainSpan =
  (name: string, attributes?: () => Record<string, unknown>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiberRuntime<A, E, R>((fiber) =>
      isCollected(fiber)
        ? Effect.withSpan(self, name, {
            attributes: attributes === undefined ? undefined : attributes(),
            captureStackTrace: false,
          })
        : self,
    )
