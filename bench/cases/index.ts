/**
 * Every case of `npm run bench`, in the order they run (each in a Node process of its own). A new case is a
 * file beside this one exporting `defineCase({...})` (see `../BenchCase.ts`), added here.
 */
import type { AnyBenchCase } from "../BenchCase.js"
import { deletePattern100k } from "./delete-pattern-100k.js"
import { effectFloor_ } from "./effect-floor.js"
import { getConcurrent } from "./get-concurrent.js"
import { getConcurrentPeers } from "./get-concurrent-peers.js"
import { getMany1000 } from "./get-many-1000.js"
import { incrementConcurrent } from "./increment-concurrent.js"
import { invalidateTag1000Of2m } from "./invalidate-tag-1000-of-2m.js"
import { localGetHitConcurrent } from "./local-get-hit-concurrent.js"
import { localInvalidationP99Ms } from "./local-invalidation-p99-ms.js"
import { memoryBytesPerEntry } from "./memory-bytes-per-entry.js"
import { memoryExpiryStallMs } from "./memory-expiry-stall-ms.js"
import { memoryGet } from "./memory-get.js"
import { mixed9010 } from "./mixed-90-10.js"
import { mixed9010Peers } from "./mixed-90-10-peers.js"
import { providerGetHit } from "./provider-get-hit.js"
import { providerGetHitConcurrent } from "./provider-get-hit-concurrent.js"
import { providerGetHitLocal } from "./provider-get-hit-local.js"
import { setConcurrent } from "./set-concurrent.js"
import { setConcurrentPeers } from "./set-concurrent-peers.js"
import { setMany1000Ttl } from "./set-many-1000-ttl.js"
import { setJson2kbConcurrent } from "./setjson-2kb-concurrent.js"

export const cases: ReadonlyArray<AnyBenchCase> = [
  effectFloor_,
  getConcurrent,
  getConcurrentPeers,
  setConcurrent,
  setConcurrentPeers,
  incrementConcurrent,
  mixed9010,
  mixed9010Peers,
  setJson2kbConcurrent,
  providerGetHit,
  providerGetHitConcurrent,
  localGetHitConcurrent,
  providerGetHitLocal,
  localInvalidationP99Ms,
  getMany1000,
  setMany1000Ttl,
  deletePattern100k,
  invalidateTag1000Of2m,
  memoryGet,
  memoryBytesPerEntry,
  memoryExpiryStallMs,
]
