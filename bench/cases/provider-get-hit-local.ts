/**
 * `provider-get-hit-local`: `provider-get-hit-concurrent` (`ProviderConnectionCache.get` over 10,000 stored
 * connections from 256 concurrent loops) with the Cache under it a `RedisCache` with `localCache`, every
 * connection resident in the local tier. Baseline: the same fair baseline as `provider-get-hit-concurrent`
 * (raw ioredis GET, auto-pipelined, `JSON.parse` and a validating hand-written decode). Target (issue 14):
 * ratio ≥ 5.
 */
import { Effect, Layer } from "effect"
import { connectionKey, ProviderConnectionCache } from "../../src/index.js"
import { RedisCache } from "../../src/redis.js"
import { makeConnection, uuid } from "../../test/support/fixtures.js"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { buildLayer, CONCURRENCY, OURS, rawClients } from "../workload.js"
import { decodeByHand } from "./provider-get-hit-concurrent.js"

const NAME = "provider-get-hit-local"
const RAW = "ioredis GET, auto-pipelined + JSON.parse + validating hand-written decode"
const CONNECTIONS = 10_000
const PER_WORKER = 100

export const providerGetHitLocal = defineCase({
  name: NAME,
  rows: [NAME],
  setup: async ({ redisUrl }) => {
    const url = redisUrl!
    const raw = await rawClients(url)
    const built = await buildLayer(
      ProviderConnectionCache.layerWithTtl("1 hour").pipe(
        Layer.provide(RedisCache.layer({ url, localCache: { maxEntries: 2 * CONNECTIONS } })),
      ),
    )
    const run = <A, E>(effect: Effect.Effect<A, E, ProviderConnectionCache>) =>
      Effect.runPromise(Effect.provide(effect, built.context))
    const ids = Array.from({ length: CONNECTIONS }, (_, i) => uuid(100_000 + i))
    await run(
      Effect.flatMap(ProviderConnectionCache, (connections) =>
        Effect.forEach(ids, (id) => connections.set(makeConnection({ id })), {
          concurrency: 64,
          discard: true,
        }),
      ),
    )
    const keys = ids.map(connectionKey)
    if (decodeByHand((await raw.ioredis.get(keys[0]!)) ?? "")?.id !== ids[0]) {
      throw new Error("the baseline decoder rejects a stored connection")
    }
    const get = Effect.map(
      ProviderConnectionCache,
      (connections) => (i: number) =>
        Effect.flatMap(connections.get(ids[i % CONNECTIONS]!), (found) =>
          found._tag === "None" ? Effect.dieMessage(`${NAME}: a miss`) : Effect.void,
        ),
    )
    // Tracking is set up on the first read; reads before it are not kept. Read until all are resident.
    for (let pass = 0; pass < 3; pass++) {
      await run(Effect.flatMap(get, (op) => Effect.forEach(ids, (_, i) => op(i), { discard: true })))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return {
      ours: () => run(Effect.flatMap(get, (op) => effectWorkers(CONCURRENCY, PER_WORKER, op))),
      raw: () =>
        promiseWorkers(CONCURRENCY, PER_WORKER, async (i) => {
          if (decodeByHand((await raw.ioredis.get(keys[i % CONNECTIONS]!)) ?? "") === undefined) {
            throw new Error(`${NAME}: a baseline miss`)
          }
        }),
      close: async () => {
        await built.close()
        await raw.close()
      },
    }
  },
  contenders: (state) => ({ [OURS]: state.ours, [RAW]: state.raw }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: "ratio >= 5",
      met: (ratio) => (ratio ?? 0) >= 5,
    }),
  ],
  teardown: (state) => state.close(),
})
