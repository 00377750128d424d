import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import {
  CredentialType,
  IsoDateTime,
  ProviderConnection,
  ProviderConnectionJson,
  ProviderCredentials,
} from "../src/index.js"
import { ciphertext, makeConnection, uuid } from "./support/fixtures.js"

/**
 * The wire Schema as it was before decoding was flattened into one pass (renamed keys composed into the
 * class). It is the reference: the flat Schema must accept exactly what it accepted, and decode and encode
 * to the same values.
 */
const renamed = <S extends Schema.Schema.Any>(schema: S, key: string) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))
const ReferenceJson = Schema.parseJson(
  Schema.Struct({
    id: Schema.String,
    userId: renamed(Schema.String, "user_id"),
    providerId: renamed(Schema.String, "provider_id"),
    providerSlug: renamed(Schema.String, "provider_slug"),
    status: Schema.String,
    alias: Schema.NullOr(Schema.String),
    credentials: Schema.NullOr(
      Schema.Struct({
        encryptedData: renamed(Schema.Uint8ArrayFromBase64, "encrypted_data"),
        credentialType: renamed(CredentialType, "credential_type"),
        expiresAt: renamed(Schema.NullOr(IsoDateTime), "expires_at"),
      }),
    ),
    connectedAt: renamed(Schema.NullOr(IsoDateTime), "connected_at"),
    lastSyncAt: renamed(Schema.NullOr(IsoDateTime), "last_sync_at"),
    createdAt: renamed(IsoDateTime, "created_at"),
    updatedAt: renamed(IsoDateTime, "updated_at"),
  }).pipe(Schema.compose(ProviderConnection, { strict: false })),
)

const decodeReference = Schema.decodeUnknownEither(ReferenceJson)
const decode = Schema.decodeUnknownEither(ProviderConnectionJson)
const encodeReference = Schema.encodeSync(ReferenceJson)
const encode = Schema.encodeSync(ProviderConnectionJson)

const valid: Record<string, unknown> = JSON.parse(encode(makeConnection()))
const validCredentials = valid.credentials as Record<string, unknown>

/** Values each key is tried with: every kind the JSON can hold, and the near misses of each check. */
const strings = [
  "",
  "x",
  "x".repeat(50),
  "x".repeat(51),
  "x".repeat(100),
  "x".repeat(101),
  uuid(5),
  uuid(5).toUpperCase(),
  `${uuid(5)} `,
  "00000000-0000-4000-8000-00000000000g",
  "active",
  "pending",
  "zombie",
  "oauth2",
  "certificate",
  "2026-01-01T00:00:00Z",
  "2026-01-01 00:00:00.123456+05:30",
  "2026-02-30T00:00:00",
  "2026-01-01T24:00:00Z",
  "0099-01-01T00:00:00Z",
  "2026-01-01",
  "AAAA",
  "AA==",
  "A===",
  "AA=A",
  "%%%%",
  Buffer.from(ciphertext()).toString("base64"),
]
const others: ReadonlyArray<unknown> = [null, 0, 1.5, true, [], {}, [uuid(5)]]
const candidates = [...strings, ...others]

const mutations = (base: Record<string, unknown>, keys: ReadonlyArray<string>) =>
  keys.flatMap((key) => [
    ...candidates.map((value) => ({ ...base, [key]: value })),
    Object.fromEntries(Object.entries(base).filter(([k]) => k !== key)),
  ])

const inputs: ReadonlyArray<string> = [
  ...mutations(valid, Object.keys(valid)).map((o) => JSON.stringify(o)),
  ...mutations(validCredentials, Object.keys(validCredentials)).map((credentials) =>
    JSON.stringify({ ...valid, credentials }),
  ),
  ...["pending", "active", "revoked"].map((status) =>
    JSON.stringify({ ...valid, status, credentials: null }),
  ),
  JSON.stringify({ ...valid, extra: "ignored", credentials: { ...validCredentials, extra: 1 } }),
  JSON.stringify({ ...valid, userId: valid.user_id }),
  JSON.stringify([valid]),
  "null",
  "{not json",
  "",
]

describe("ProviderConnectionJson against the reference Schema", () => {
  it("accepts and rejects exactly the same entries, and decodes them to equal connections", () => {
    let accepted = 0
    for (const text of inputs) {
      const expected = decodeReference(text)
      const actual = decode(text)
      expect([text, Either.isRight(actual)]).toStrictEqual([text, Either.isRight(expected)])
      if (Either.isRight(actual) && Either.isRight(expected)) {
        accepted++
        expect(actual.right).toStrictEqual(expected.right)
        expect(actual.right).toBeInstanceOf(ProviderConnection)
        if (actual.right.credentials !== null) {
          expect(actual.right.credentials).toBeInstanceOf(ProviderCredentials)
        }
      }
    }
    // Both sides of the comparison are exercised.
    expect(accepted).toBeGreaterThan(20)
    expect(inputs.length - accepted).toBeGreaterThan(200)
  })

  it("encodes every connection to the same text", () => {
    const connections = [
      makeConnection(),
      makeConnection({ status: "pending", credentials: null, alias: null, connectedAt: null }),
      makeConnection({
        lastSyncAt: new Date("2026-01-15T10:00:00.999Z"),
        credentials: new ProviderCredentials({
          encryptedData: ciphertext(1024, 3),
          credentialType: "certificate",
          expiresAt: null,
        }),
      }),
    ]
    for (const connection of connections) expect(encode(connection)).toBe(encodeReference(connection))
  })
})
