import { afterAll, beforeAll, expect } from "@effect/vitest"

/**
 * Fails the test file if anything reached the process as an unhandled rejection or an uncaught exception
 * (an ioredis 'error' event nobody listened to, a promise nobody awaited) while it ran.
 */
export const failOnUnexpectedErrors = () => {
  const unexpected: Array<unknown> = []
  const onUnexpected = (error: unknown) => unexpected.push(error)
  beforeAll(() => {
    process.on("unhandledRejection", onUnexpected)
    process.on("uncaughtException", onUnexpected)
  })
  afterAll(() => {
    process.off("unhandledRejection", onUnexpected)
    process.off("uncaughtException", onUnexpected)
    expect(unexpected).toStrictEqual([])
  })
}
