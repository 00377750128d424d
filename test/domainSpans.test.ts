import { describe, expect, it } from "@effect/vitest"
import { Effect, type Exit, Layer, Option, Redacted, Tracer } from "effect"
import {
  Cache,
  CacheAside,
  type CacheError,
  MemoryCache,
  ProviderConnectionCache,
  ProviderConnectionRepository,
  ProviderConnectionService,
  ProviderToken,
  ProviderTokenCache,
  RateLimiter,
  Session,
  SessionStore,
} from "../src/index.js"
import { makeConnection, uuid } from "./support/fixtures.js"

interface RecordedSpan {
  readonly name: string
  readonly parent: string | undefined
  readonly attributes: Record<string, unknown>
  readonly ended: boolean
}

/** A tracer that keeps every span it is asked for, as an exporter would receive them. */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span & { status: Tracer.SpanStatus } = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: Option.isSome(parent) ? parent.value.traceId : `trace-${spans.length}`,
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links: Array.from(links),
        sampled: true,
        kind,
        end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
          span.status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        addLinks: () => {},
      }
      spans.push(span)
      return span
    },
    context: (f) => f(),
  })
  const recorded = (): Array<RecordedSpan> =>
    spans.map((span) => ({
      name: span.name,
      parent: Option.match(span.parent, {
        onNone: () => undefined,
        onSome: (p) => (p._tag === "Span" ? p.name : p.spanId),
      }),
      attributes: Object.fromEntries(span.attributes),
      ended: span.status._tag === "Ended",
    }))
  return { tracer, spans, recorded }
}

/**
 * A MemoryCache that notes, for every operation it runs, the span it runs in: the domain span when one was
 * made, the caller's otherwise.
 */
const spyingCache = () => {
  const seen: Array<string | undefined> = []
  const layer = Layer.effect(
    Cache,
    Effect.map(Cache, (inner) => {
      const spied = Effect.map(
        Effect.option(Effect.currentSpan),
        Option.match({ onNone: () => undefined, onSome: (span) => span.name }),
      )
      return new Proxy(inner, {
        get: (target, property) => {
          const value = target[property as keyof Cache.Service]
          if (typeof value !== "function") return value
          return (...args: Array<unknown>) =>
            Effect.zipRight(
              Effect.tap(spied, (name) => void seen.push(name)),
              (value as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args),
            )
        },
      })
    }),
  ).pipe(Layer.provide(MemoryCache.layer()))
  return { seen, layer }
}

const connection = makeConnection({ id: uuid(70), userId: uuid(71) })

const services = (cache: Layer.Layer<Cache, CacheError>) => {
  const repository = ProviderConnectionRepository.inMemory([connection])
  return Layer.mergeAll(
    ProviderConnectionCache.layerWithTtl("1 minute"),
    SessionStore.layer,
    RateLimiter.layer,
    ProviderTokenCache.layer.pipe(Layer.provideMerge(CacheAside.layer)),
    ProviderConnectionService.layerWithTtl("1 minute").pipe(
      Layer.provide(CacheAside.layer),
      Layer.provide(repository.layer),
    ),
  ).pipe(Layer.provideMerge(cache))
}

/** One call of every traced domain operation. */
const everyOperation = Effect.gen(function* () {
  const connections = yield* ProviderConnectionCache
  yield* connections.set(connection)
  yield* connections.get(connection.id)
  yield* connections.exists(connection.id)
  yield* connections.delete(connection.id)
  const sessions = yield* SessionStore
  const session = new Session({
    sessionId: "s-1",
    userId: "u-1",
    createdAt: new Date("2026-01-01T00:00:00Z"),
    expiresAt: new Date("2099-01-01T00:00:00Z"),
    attributes: {},
  })
  yield* sessions.store(session)
  yield* sessions.get("u-1", "s-1")
  yield* sessions.revoke("u-1", "s-1")
  yield* sessions.revokeAll("u-1")
  yield* (yield* RateLimiter).check("u-1", "GET /accounts", { limit: 10, window: "1 minute" })
  yield* (yield* ProviderTokenCache).getOrFetch(
    connection.id,
    Effect.succeed(
      new ProviderToken({
        accessToken: Redacted.make("token"),
        tokenType: "Bearer",
        expiresAt: new Date("2099-01-01T00:00:00Z"),
        scope: null,
      }),
    ),
  )
  const service = yield* ProviderConnectionService
  yield* service.getForUser(connection.userId, connection.id)
  yield* service.update(connection.userId, connection.id, { alias: "renamed" })
  yield* service.disconnect(connection.userId, connection.id)
})

const expectedSpans = [
  ["ProviderConnectionCache.set", { connectionId: connection.id }],
  ["ProviderConnectionCache.get", { connectionId: connection.id }],
  ["ProviderConnectionCache.exists", { connectionId: connection.id }],
  ["ProviderConnectionCache.delete", { connectionId: connection.id }],
  ["SessionStore.store", {}],
  ["SessionStore.get", {}],
  ["SessionStore.revoke", {}],
  ["SessionStore.revokeAll", {}],
  ["RateLimiter.check", { endpoint: "GET /accounts" }],
  ["ProviderTokenCache.getOrFetch", {}],
  ["ProviderConnectionService.getForUser", { connectionId: connection.id }],
  ["ProviderConnectionService.update", { connectionId: connection.id }],
  ["ProviderConnectionService.getForUser", { connectionId: connection.id }],
  ["ProviderConnectionService.disconnect", { connectionId: connection.id }],
  ["ProviderConnectionService.getForUser", { connectionId: connection.id }],
] as const

describe("domain spans", () => {
  it.effect("with a tracer installed, every domain operation has its span, attributes and children", () => {
    const { tracer, recorded } = recordingTracer()
    const spy = spyingCache()
    return Effect.gen(function* () {
      yield* everyOperation.pipe(Effect.withSpan("request"))
      const spans = recorded()
      expect(spans[0]).toStrictEqual({ name: "request", parent: undefined, attributes: {}, ended: true })
      const domain = spans.filter((s) => s.name !== "request")
      expect(domain.map((s) => [s.name, s.attributes])).toStrictEqual(expectedSpans)
      for (const span of domain) expect(span.ended).toBe(true)
      // Top-level operations are children of the caller's span; getForUser inside update is a child of update.
      expect(domain.filter((s) => s.parent !== "request").map((s) => [s.name, s.parent])).toStrictEqual([
        ["ProviderConnectionService.getForUser", "ProviderConnectionService.update"],
        ["ProviderConnectionService.getForUser", "ProviderConnectionService.disconnect"],
      ])
      // The Cache runs inside the domain span.
      expect(spy.seen.slice(0, 4)).toStrictEqual([
        "ProviderConnectionCache.set",
        "ProviderConnectionCache.get",
        "ProviderConnectionCache.exists",
        "ProviderConnectionCache.delete",
      ])
    }).pipe(Effect.provide(services(spy.layer)), Effect.withTracer(tracer))
  })

  it.effect("without one, no span is made; the switch is decided per call on the same services", () => {
    const { tracer, spans } = recordingTracer()
    const spy = spyingCache()
    return Effect.gen(function* () {
      // Effect's native tracer: the Cache sees the caller's span, so no domain span object was created.
      yield* everyOperation.pipe(Effect.withSpan("request"))
      expect(spy.seen.length).toBeGreaterThan(10)
      expect(new Set(spy.seen)).toStrictEqual(new Set(["request"]))
      yield* everyOperation
      expect(spy.seen.at(-1)).toBeUndefined()

      // The same service instances, now with a tracer: the spans are back.
      spy.seen.length = 0
      yield* everyOperation.pipe(Effect.withTracer(tracer))
      expect(spans.map((s) => s.name)).toStrictEqual(expectedSpans.map(([name]) => name))
      expect(spy.seen[0]).toBe("ProviderConnectionCache.set")

      // A tracer switched off counts as none.
      spans.length = 0
      spy.seen.length = 0
      yield* everyOperation.pipe(Effect.withTracer(tracer), Effect.withTracerEnabled(false))
      expect(spans).toStrictEqual([])
      expect(new Set(spy.seen)).toStrictEqual(new Set([undefined]))
    }).pipe(Effect.provide(services(spy.layer)))
  })

  it.effect("a tracer provided as a layer is seen too", () => {
    const { tracer, recorded } = recordingTracer()
    return Effect.gen(function* () {
      const connections = yield* ProviderConnectionCache
      yield* connections.get(uuid(99))
      expect(recorded()).toStrictEqual([
        {
          name: "ProviderConnectionCache.get",
          parent: undefined,
          attributes: { connectionId: uuid(99) },
          ended: true,
        },
      ])
    }).pipe(
      Effect.provide(
        ProviderConnectionCache.layerWithTtl("1 minute").pipe(Layer.provide(MemoryCache.layer())),
      ),
      Effect.provide(Layer.setTracer(tracer)),
    )
  })
})
