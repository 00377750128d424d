/**
 * `provider-get-hit (sequential)`: one loop of 5,000 `ProviderConnectionCache.get` of one stored connection
 * (GET, Schema decode, fail-open handling) on `RedisCache`, against raw ioredis GET + `JSON.parse` of the
 * same key. Target: our p99 below 1 ms (the ratio is context).
 */
import { Effect, Layer } from "effect"
import { ProviderConnectionCache } from "../../src/index.js"
import { RedisCache } from "../../src/redis.js"
import { makeConnection, uuid } from "../../test/support/fixtures.js"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { buildLayer, OURS, rawClients } from "../workload.js"

const NAME = "provider-get-hit (sequential)"
const RAW = "ioredis GET + JSON.parse"

/** The layers and the one stored connection both provider cases read. */
export const providerSetup = async (url: string) => {
  const raw = await rawClients(url)
  const built = await buildLayer(
    ProviderConnectionCache.layerWithTtl("1 hour").pipe(Layer.provide(RedisCache.layer({ url }))),
  )
  const connection = makeConnection({ id: uuid(4242) })
  const run = <A, E>(effect: Effect.Effect<A, E, ProviderConnectionCache>) =>
    Effect.runPromise(Effect.provide(effect, built.context))
  await run(Effect.flatMap(ProviderConnectionCache, (c) => c.set(connection)))
  // As a caller would write it: the service looked up, then `get`, on every read.
  const getConnection = Effect.flatMap(ProviderConnectionCache, (c) => c.get(connection.id))
  const key = `provider:conn:${connection.id}`
  return {
    raw,
    /** `reads` loops of `perLoop` gets as fibers of one program. */
    ours: (reads: number, perLoop: number) => run(effectWorkers(reads, perLoop, () => getConnection)),
    rawConnection: async () => JSON.parse((await raw.ioredis.get(key)) ?? "null") as unknown,
    close: async () => {
      await built.close()
      await raw.close()
    },
  }
}

export const providerGetHit = defineCase({
  name: "provider-get-hit",
  rows: [NAME],
  setup: ({ redisUrl }) => providerSetup(redisUrl!),
  contenders: ({ ours, rawConnection }) => ({
    [OURS]: () => ours(1, 5_000),
    [RAW]: () => promiseWorkers(1, 5_000, rawConnection),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: "p99 < 1 ms",
      met: () => medians[OURS]!.p99Ms < 1,
    }),
  ],
  teardown: (state) => state.close(),
})
