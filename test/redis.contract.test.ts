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
