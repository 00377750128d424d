/**
 * `provider-get-hit (256 concurrent)`: 256 loops × 100 `ProviderConnectionCache.get` of one stored
 * connection, against raw ioredis (auto-pipelined) GET + `JSON.parse`. A report row without a target, kept
 * from the earlier benchmark; issue 13's `provider-get-hit-concurrent` (10,000 connections, a validating
 * hand-written baseline) is the one with a target.
 */
import { defineCase, row } from "../BenchCase.js"
import { promiseWorkers } from "../measure.js"
import { CONCURRENCY, OURS } from "../workload.js"
import { providerSetup } from "./provider-get-hit.js"

const NAME = "provider-get-hit (256 concurrent)"
const RAW = "ioredis GET + JSON.parse, auto-pipelined"

export const providerGetHit256 = defineCase({
  name: NAME,
  rows: [NAME],
  setup: ({ redisUrl }) => providerSetup(redisUrl!),
  contenders: ({ ours, rawConnection }) => ({
    [OURS]: () => ours(CONCURRENCY, 100),
    [RAW]: () => promiseWorkers(CONCURRENCY, 100, rawConnection),
  }),
  report: (medians) => [
    row(NAME, medians[OURS]!, { baseline: { name: RAW, sample: medians[RAW]! }, target: "reported" }),
  ],
  teardown: (state) => state.close(),
})
