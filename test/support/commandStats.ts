/**
 * What a Redis server says it has run (`INFO commandstats`), for tests that check which commands an
 * operation sent, or how much of Redis's time it took.
 */
import type { Redis } from "ioredis"

/** How many times the server behind `client` has run `command` (lower case, e.g. "evalsha"). */
export const commandCalls = async (client: Redis, command: string): Promise<number> => {
  const info = await client.info("commandstats")
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
  return match ? Number(match[1]) : 0
}

/**
 * Microseconds the server behind `client` has spent running commands, all of them. A script's commands count
 * twice: in the script's line and in their own.
 */
export const commandMicros = async (client: Redis): Promise<number> => {
  const info = await client.info("commandstats")
  let total = 0
  for (const match of info.matchAll(/,usec=(\d+),/g)) total += Number(match[1])
  return total
}
