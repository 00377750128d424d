/**
 * Sessions under `session:{userId}:{sessionId}` with a TTL from their expiry; revoke one, or all of a user's
 * with one pattern delete, the user id escaped so `*` cannot revoke everybody's.
 *
 *   npx tsx examples/sessions.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Clock, Console, Effect, Layer, Option } from "effect"
import { Session, SessionStore } from "../src/index.js"
import { CacheLive, isMain } from "./cacheLayer.js"

const newSession = (userId: string, sessionId: string, hours: number) =>
  Effect.map(
    Clock.currentTimeMillis,
    (now) =>
      new Session({
        sessionId,
        userId,
        createdAt: new Date(now),
        expiresAt: new Date(now + hours * 3_600_000),
        attributes: { device: sessionId.startsWith("phone") ? "phone" : "laptop" },
      }),
  )

export const program = Effect.gen(function* () {
  yield* Console.log("\n== Sessions")
  const sessions = yield* SessionStore
  yield* sessions.revokeAll("alice")
  yield* sessions.revokeAll("*")
  for (const [user, id] of [
    ["alice", "laptop-1"],
    ["alice", "phone-1"],
    ["alice", "phone-2"],
    ["*", "weird-1"],
  ] as const) {
    yield* sessions.store(yield* newSession(user, id, 8))
  }
  yield* Console.log("  stored 3 sessions for alice and 1 for a user literally named '*'")
  const found = yield* sessions.get("alice", "laptop-1")
  yield* Console.log(
    `  lookup alice/laptop-1: ${Option.isSome(found) ? `found, expires ${found.value.expiresAt.toISOString()}` : "missing"}`,
  )
  yield* Console.log(`  revoke alice/phone-1: ${yield* sessions.revoke("alice", "phone-1")}`)
  yield* Console.log(`  revokeAll("*") revoked ${yield* sessions.revokeAll("*")} session (only user '*')`)
  yield* Console.log(`  revokeAll("alice") revoked ${yield* sessions.revokeAll("alice")} sessions`)
  const gone = yield* sessions.get("alice", "laptop-1")
  yield* Console.log(
    `  lookup alice/laptop-1 after revokeAll: ${Option.isSome(gone) ? "still there (bug!)" : "gone"}`,
  )
}).pipe(Effect.provide(SessionStore.layer.pipe(Layer.provideMerge(CacheLive))))

if (isMain(import.meta.url)) NodeRuntime.runMain(program)
