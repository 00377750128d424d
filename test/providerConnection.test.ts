import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { ProviderConnectionJson, ProviderCredentials } from "../src/index.js"
import { parseIsoDateTime } from "../src/ProviderConnection.js"
import { ciphertext, makeConnection, uuid } from "./support/fixtures.js"

const decode = Schema.decodeUnknownEither(ProviderConnectionJson)
const encode = Schema.encodeSync(ProviderConnectionJson)

describe("ProviderConnection", () => {
  it("round-trips through the wire format, including non-UTF-8 ciphertext", () => {
    for (const length of [1, 2, 3, 16, 255, 4096]) {
      const connection = makeConnection({
        credentials: new ProviderCredentials({
          encryptedData: ciphertext(length, length),
          credentialType: "api_key",
          expiresAt: null,
        }),
      })
      const decoded = decode(encode(connection))
      expect(Either.isRight(decoded)).toBe(true)
      expect(Either.getOrThrow(decoded)).toStrictEqual(connection)
    }
    const bare = makeConnection({ status: "pending", credentials: null, alias: null, connectedAt: null })
    expect(Either.getOrThrow(decode(encode(bare)))).toStrictEqual(bare)
  })

  it("writes the original's snake_case layout with base64 ciphertext", () => {
    const connection = makeConnection()
    const wire = JSON.parse(encode(connection))
    expect(Object.keys(wire).sort()).toStrictEqual(
      [
        "id",
        "user_id",
        "provider_id",
        "provider_slug",
        "status",
        "alias",
        "credentials",
        "connected_at",
        "last_sync_at",
        "created_at",
        "updated_at",
      ].sort(),
    )
    expect(wire.credentials.encrypted_data).toBe(Buffer.from(ciphertext()).toString("base64"))
    expect(wire.credentials.credential_type).toBe("oauth2")
    expect(wire.credentials.expires_at).toBe("2026-01-16T13:00:00.123Z")
    expect(wire.last_sync_at).toBeNull()
  })

  it("decodes hand-written JSON with Python isoformat() timestamps", () => {
    const json = JSON.stringify({
      id: uuid(10),
      user_id: uuid(11),
      provider_id: uuid(12),
      provider_slug: "schwab",
      status: "active",
      alias: null,
      credentials: {
        encrypted_data: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]).toString("base64"),
        credential_type: "oauth2",
        expires_at: "2026-01-16T13:00:00.123456+00:00",
      },
      connected_at: "2026-01-10T09:30:00+00:00",
      last_sync_at: "2026-01-15 08:00:00.5-05:00",
      created_at: "2026-01-01T00:00:00.000001",
      updated_at: "2026-01-15T12:00:00Z",
    })
    const connection = Either.getOrThrow(decode(json))
    expect(connection.credentials?.encryptedData).toStrictEqual(
      new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0xff]),
    )
    expect(connection.credentials?.expiresAt?.toISOString()).toBe("2026-01-16T13:00:00.123Z")
    expect(connection.connectedAt?.toISOString()).toBe("2026-01-10T09:30:00.000Z")
    expect(connection.lastSyncAt?.toISOString()).toBe("2026-01-15T13:00:00.500Z")
    // No offset means UTC, not the machine's local time.
    expect(connection.createdAt.toISOString()).toBe("2026-01-01T00:00:00.000Z")
    expect(connection.status).toBe("active")
  })

  it("rejects impossible or malformed timestamps", () => {
    for (const text of [
      "2026-02-30T00:00:00",
      "2026-13-01T00:00:00Z",
      "yesterday",
      "2026-01-01T25:00:00",
      "2026-01-01T00:00:00+24:00",
      "",
    ]) {
      expect([text, parseIsoDateTime(text)]).toStrictEqual([text, undefined])
    }
    expect(parseIsoDateTime("2026-01-01T00:00:00+0530")?.toISOString()).toBe("2025-12-31T18:30:00.000Z")
  })

  it("enforces the invariants", () => {
    expect(() => makeConnection({ credentials: null })).toThrow(/active connection must have credentials/)
    expect(() => makeConnection({ id: "not-a-uuid" })).toThrow()
    expect(() => makeConnection({ providerSlug: "" })).toThrow()
    expect(() => makeConnection({ providerSlug: "x".repeat(51) })).toThrow()
    expect(() => makeConnection({ alias: "x".repeat(101) })).toThrow()
    expect(() => makeConnection({ createdAt: new Date(Number.NaN) })).toThrow()
    expect(
      () =>
        new ProviderCredentials({
          encryptedData: new Uint8Array(),
          credentialType: "custom",
          expiresAt: null,
        }),
    ).toThrow(/must not be empty/)
  })

  it("answers the original's queries", () => {
    const now = new Date("2026-01-16T12:00:00Z")
    const active = makeConnection()
    expect(active.isConnected).toBe(true)
    expect(active.needsReauthentication).toBe(false)
    expect(active.credentialsExpired(now)).toBe(false)
    expect(active.credentialsExpiringSoon(now)).toBe(false)
    expect(active.credentialsExpiringSoon(now, "2 hours")).toBe(true)
    expect(active.canSync(now)).toBe(true)
    const later = new Date("2026-01-16T13:00:00.123Z")
    expect(active.credentialsExpired(later)).toBe(true)
    expect(active.canSync(later)).toBe(false)
    for (const status of ["expired", "revoked", "failed"] as const) {
      const connection = makeConnection({ status })
      expect(connection.needsReauthentication).toBe(true)
      expect(connection.isConnected).toBe(false)
      expect(connection.canSync(now)).toBe(false)
    }
    const pending = makeConnection({ status: "pending", credentials: null })
    expect(pending.needsReauthentication).toBe(false)
    expect(pending.credentialsExpired(now)).toBe(false)
  })

  it.effect("never prints ciphertext", () =>
    Effect.sync(() => {
      const credentials = makeConnection().credentials!
      expect(String(credentials)).toBe("ProviderCredentials(oauth2, 48 bytes)")
    }),
  )
})
