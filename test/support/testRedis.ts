import { inject } from "vitest"

/** The run's Redis, with a database number: suites that FLUSHDB get a database of their own. */
export const redisUrl = (db = 0): string => {
  const url = new URL(inject("redisUrl"))
  url.pathname = `/${db}`
  return url.toString()
}

/** A key prefix no other test or run shares. */
export const uniquePrefix = (label: string): string =>
  `test:${label}:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`
