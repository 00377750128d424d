/**
 * `provider-get-hit-local`: `provider-get-hit-concurrent` (`ProviderConnectionCache.get` over 10,000 stored
 * connections from 256 concurrent loops) with the Cache under it a `RedisCache` with `localCache`, every
 * connection resident in the local tier. Baseline: the same fair baseline as `provider-get-hit-concurrent`
 * (raw ioredis GET, auto-pipelined, `JSON.parse` and a validating hand-written decode). Target (issue 14):
 * ratio ≥ 5.
 */
import { defineCase, row } from "../BenchCase.js"
import { OURS } from "../workload.js"
import { storedConnections } from "./provider-get-hit-concurrent.js"

const NAME = "provider-get-hit-local"
const RAW = "ioredis GET, auto-pipelined + JSON.parse + validating hand-written decode"
const CONNECTIONS = 10_000

export const providerGetHitLocal = defineCase({
  name: NAME,
  rows: [NAME],
  setup: ({ redisUrl }) =>
    storedConnections(NAME, redisUrl!, { localCache: { maxEntries: 2 * CONNECTIONS } }, async (readAll) => {
      // Tracking is set up on the first read; reads before it are not kept. Read until all are resident.
      for (let pass = 0; pass < 3; pass++) {
        await readAll()
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }),
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
