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
 * Microseconds of CPU the server behind `client` has used on its main thread, where it runs commands. CPU
 * time, not the wall time `INFO commandstats` gives: a server that loses its core to other processes (the
 * test suite's other files, each with its own servers, on two cores) is not charged for the wait.
 */
export const serverCpuMicros = async (client: Redis): Promise<number> => {
  const info = await client.info("cpu")
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)![1])
  return Math.round((field("used_cpu_user_main_thread") + field("used_cpu_sys_main_thread")) * 1e6)
}
