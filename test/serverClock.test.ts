/**
 * The server-clock estimate behind write deadlines: a round trip measured while the event loop was blocked
 * must not push every deadline into the past, and no deadline may let a write run after its timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  GOOD_UNCERTAINTY_MS,
  makeServerClock,
  RESYNC_MS,
  RETRIES,
  RETRY_MS,
} from "../src/internal/serverClock.js"

/** A server whose clock runs `offsetMs` ahead of our monotonic clock; TIME replies when the test says so. */
const harness = (offsetMs: number) => {
  let now = 10_000_000
  const pending: Array<{ resolve: (reply: Array<string>) => void; reject: (e: Error) => void }> = []
  const timers: Array<number> = []
  const clock = makeServerClock({
    time: () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
    now: () => now,
    schedule: (ms) => {
      timers.push(ms)
      return () => undefined
    },
  })
  const serverMs = () => now + offsetMs
  const reply = (serverReadAt = serverMs()) =>
    pending.shift()!.resolve([String(Math.floor(serverReadAt / 1000)), String((serverReadAt % 1000) * 1000)])
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  /** One TIME round trip of `rttMs`, the server reading its clock `readAfterMs` into it. */
  const sample = async (rttMs: number, readAfterMs = rttMs / 2) => {
    clock.sync()
    now += readAfterMs
    const readAt = serverMs()
    now += rttMs - readAfterMs
    reply(readAt)
    await settle()
  }
  return {
    clock,
    timers,
    pending,
    serverMs,
    sample,
    settle,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe("server clock", () => {
  it("a round trip measured while the event loop was blocked does not replace a good estimate", async () => {
    const h = harness(5_000_000)
    await h.sample(0.4)
    const before = h.clock.deadline(500) - h.serverMs()
    expect(before).toBeGreaterThan(497)
    expect(before).toBeLessThanOrEqual(500)
    await h.sample(1_500)
    expect(h.clock.uncertaintyMs()).toBeCloseTo(0.2)
    // Only 1.5 s of aging is given up, not the 750 ms uncertainty of the blocked sample.
    expect(h.clock.deadline(500) - h.serverMs()).toBeGreaterThan(495)
  })

  it("a poor first estimate is re-measured at once and replaced by the next good one", async () => {
    const h = harness(-123_456)
    await h.sample(1_500)
    // Still correct: the deadline gives up the whole uncertainty, so every write is refused for now.
    expect(h.clock.deadline(500)).toBeLessThan(h.serverMs())
    expect(h.timers.at(-1)).toBe(RETRY_MS)
    h.advance(RETRY_MS)
    await h.sample(1)
    expect(h.clock.uncertaintyMs()).toBe(0.5)
    expect(h.timers.at(-1)).toBe(RESYNC_MS)
    expect(h.clock.deadline(500) - h.serverMs()).toBeGreaterThan(497)
  })

  it("an estimate loses certainty with age, so a later ordinary sample replaces it", async () => {
    const h = harness(42)
    await h.sample(0.2)
    h.advance(60_000)
    // A minute old: 60 ms less of the timeout is trusted.
    const aged = h.clock.deadline(500) - h.serverMs()
    expect(aged).toBeGreaterThan(437)
    expect(aged).toBeLessThanOrEqual(440)
    await h.sample(4)
    expect(h.clock.uncertaintyMs()).toBe(2)
    expect(h.clock.deadline(500) - h.serverMs()).toBeGreaterThan(495)
  })

  it("a failed or poor sample is retried a few times in a row, then every 30 s", async () => {
    const h = harness(0)
    for (let i = 1; i <= RETRIES + 2; i++) {
      h.clock.sync()
      h.pending.shift()!.reject(new Error("Connection is closed."))
      await h.settle()
      expect(h.timers.at(-1)).toBe(i <= RETRIES ? RETRY_MS : RESYNC_MS)
    }
    expect(h.clock.uncertaintyMs()).toBe(Number.POSITIVE_INFINITY)
    await h.sample(2 * GOOD_UNCERTAINTY_MS + 2)
    expect(h.timers.at(-1)).toBe(RESYNC_MS)
  })

  it("no deadline lets a write run after its timeout, wherever in the round trip the server read its clock", async () => {
    for (const [rtt, readAfter] of [
      [2, 0],
      [2, 2],
      [30, 0],
      [30, 30],
      [0.1, 0.05],
    ] as const) {
      const h = harness(777_000)
      await h.sample(rtt, readAfter)
      for (const timeout of [1, 50, 500, 10_000]) {
        // A write sent now and timed out after `timeout` ms must be refused by any server instant past this.
        expect(h.clock.deadline(timeout)).toBeLessThanOrEqual(h.serverMs() + timeout)
      }
    }
  })
})
