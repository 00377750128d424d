import { Effect } from "effect"
import { RedisCache } from "../src/redis.js"
import { cacheContract } from "./contract/cacheContract.js"
import { redisUrl, uniquePrefix } from "./support/testRedis.js"

const options = {
  elapse: (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms))),
  realTime: true,
}

// Without a prefix, flush is FLUSHDB: that run gets database 1 to itself.
cacheContract("RedisCache", RedisCache.layer({ url: redisUrl(1) }), options)
cacheContract(
  "RedisCache with a key prefix",
  RedisCache.layer({ url: redisUrl(0), keyPrefix: uniquePrefix("contract") }),
  options,
)

// The same contract with the local tier on: it must not change what any operation returns. Database 3 is this
// run's own (its flush is FLUSHDB there).
const local = { localCache: { maxEntries: 1_000 } }
cacheContract("RedisCache with a local tier", RedisCache.layer({ url: redisUrl(3), ...local }), options)
cacheContract(
  "RedisCache with a local tier and a key prefix",
  RedisCache.layer({ url: redisUrl(0), keyPrefix: uniquePrefix("contract-local"), ...local }),
  options,
)
