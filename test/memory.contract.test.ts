import { TestClock } from "effect"
import { type Cache, MemoryCache } from "../src/index.js"
import type { MemoryCacheService } from "../src/MemoryCache.js"
import { cacheContract } from "./contract/cacheContract.js"

const options = {
  elapse: (ms: number) => TestClock.adjust(ms),
  realTime: false,
  // The memory layer's Cache is a MemoryCacheService.
  tagBookkeeping: (cache: Cache.Service) => (cache as MemoryCacheService).taggedKeys,
}

cacheContract("MemoryCache", MemoryCache.layer(), options)
cacheContract("MemoryCache with a key prefix", MemoryCache.layer({ keyPrefix: "app:" }), options)
