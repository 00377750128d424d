import { TestClock } from "effect"
import { MemoryCache } from "../src/index.js"
import { cacheContract } from "./contract/cacheContract.js"

const options = { elapse: (ms: number) => TestClock.adjust(ms), realTime: false }

cacheContract("MemoryCache", MemoryCache.layer(), options)
cacheContract("MemoryCache with a key prefix", MemoryCache.layer({ keyPrefix: "app:" }), options)
