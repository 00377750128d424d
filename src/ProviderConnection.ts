/**
 * A user's link to a bank or brokerage provider, and its wire format in the cache.
 *
 * @since 0.1.0
 */
import { Duration, ParseResult, Schema } from "effect"

/**
 * The status of a provider connection, as the original service spells it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConnectionStatus = Schema.Literal(
  "pending",
  "active",
  "expired",
  "revoked",
  "failed",
  "disconnected",
)

/**
 * The statuses as a union type.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionStatus = typeof ConnectionStatus.Type

/**
 * How a provider connection authenticates.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CredentialType = Schema.Literal(
  "oauth2",
  "api_key",
  "link_token",
  "certificate",
  "file_import",
  "custom",
)

/**
 * The credential types as a union type.
 *
 * @since 0.1.0
 * @category models
 */
export type CredentialType = typeof CredentialType.Type

/**
 * Encrypted provider credentials. `encryptedData` is opaque ciphertext (e.g. AES-GCM output): any bytes.
 *
 * @since 0.1.0
 * @category models
 */
export class ProviderCredentials extends Schema.Class<ProviderCredentials>("ProviderCredentials")({
  encryptedData: Schema.Uint8ArrayFromSelf.pipe(
    Schema.filter((bytes) => bytes.length > 0 || "encryptedData must not be empty"),
  ),
  credentialType: CredentialType,
  expiresAt: Schema.NullOr(Schema.ValidDateFromSelf),
}) {
  /** Whether the credentials have expired at `now` (credentials without an expiry never do). */
  isExpired(now: Date): boolean {
    return this.expiresAt !== null && this.expiresAt.getTime() <= now.getTime()
  }

  /** Whether the credentials expire within `window` of `now` (or already have). */
  isExpiringSoon(now: Date, window: Duration.DurationInput = Duration.minutes(5)): boolean {
    return this.expiresAt !== null && this.expiresAt.getTime() <= now.getTime() + Duration.toMillis(window)
  }

  /** Never print the ciphertext, even by accident. */
  override toString(): string {
    return `ProviderCredentials(${this.credentialType}, ${this.encryptedData.length} bytes)`
  }
}

const UuidString = Schema.UUID
const NullableDate = Schema.NullOr(Schema.ValidDateFromSelf)

/** The class invariant, shared with the wire Schema (which checks it before building the class). */
const activeHasCredentials = (status: ConnectionStatus, credentials: ProviderCredentials | null) =>
  status !== "active" || credentials !== null || "an active connection must have credentials"

/**
 * A user's connection to a provider. An `"active"` connection always has credentials.
 *
 * @example
 * ```ts
 * import { ProviderConnection } from "effect-provider-cache"
 *
 * const connection = ProviderConnection.make({ ...fields, status: "active", credentials })
 * connection.isConnected // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class ProviderConnection extends Schema.Class<ProviderConnection>("ProviderConnection")(
  Schema.Struct({
    id: UuidString,
    userId: UuidString,
    providerId: UuidString,
    providerSlug: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(50)),
    status: ConnectionStatus,
    alias: Schema.NullOr(Schema.String.pipe(Schema.maxLength(100))),
    credentials: Schema.NullOr(ProviderCredentials),
    connectedAt: NullableDate,
    lastSyncAt: NullableDate,
    createdAt: Schema.ValidDateFromSelf,
    updatedAt: Schema.ValidDateFromSelf,
  }).pipe(Schema.filter((connection) => activeHasCredentials(connection.status, connection.credentials))),
) {
  /** Active, with credentials: accounts and transactions can be read through it. */
  get isConnected(): boolean {
    return this.status === "active" && this.credentials !== null
  }

  /** Expired, revoked or failed: the user must link the provider again. */
  get needsReauthentication(): boolean {
    return this.status === "expired" || this.status === "revoked" || this.status === "failed"
  }

  /** Whether the credentials have expired at `now`; a connection without credentials has nothing to expire. */
  credentialsExpired(now: Date): boolean {
    return this.credentials?.isExpired(now) ?? false
  }

  /** Whether the credentials expire within `window` (default 5 minutes) of `now`. */
  credentialsExpiringSoon(now: Date, window?: Duration.DurationInput): boolean {
    return this.credentials?.isExpiringSoon(now, window) ?? false
  }

  /** Connected and with credentials that have not expired at `now`. */
  canSync(now: Date): boolean {
    return this.isConnected && !this.credentialsExpired(now)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------------------

const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Parses ISO-8601 as written by JavaScript's `toISOString()` and Python's `isoformat()` (microseconds,
 * `+00:00` offsets, `T` or space). A value with no offset is UTC. Precision beyond milliseconds is dropped:
 * a JavaScript `Date` holds milliseconds.
 * @since 0.1.0
 * @category parsing
 */
export const parseIsoDateTime = (text: string): Date | undefined => {
  const match = ISO_DATETIME.exec(text)
  if (match === null) return undefined
  const [, y, mo, d, h, mi, s = "0", fraction = "", zone = "Z"] = match
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const millis = Number(fraction.padEnd(3, "0").slice(0, 3))
  let offsetMinutes = 0
  if (zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1
    const digits = zone.slice(1).replace(":", "")
    const hours = Number(digits.slice(0, 2))
    const minutes = Number(digits.slice(2) || "0")
    if (hours > 23 || minutes > 59) return undefined
    offsetMinutes = sign * (hours * 60 + minutes)
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis)
  const check = new Date(utc)
  // Date.UTC rolls Feb 30 over to March; a real date survives the round trip unchanged.
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined
  }
  return new Date(utc - offsetMinutes * 60_000)
}

/**
 * An ISO-8601 string on the wire, a valid `Date` in memory; encodes with `toISOString()`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IsoDateTime = Schema.transformOrFail(Schema.String, Schema.ValidDateFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const date = parseIsoDateTime(text)
    return date === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, "expected an ISO-8601 date-time"))
      : ParseResult.succeed(date)
  },
  encode: (date) => ParseResult.succeed(date.toISOString()),
}).annotations({ identifier: "IsoDateTime" })

const credentialsFields = ProviderCredentials.fields
const connectionFields = ProviderConnection.fields

/**
 * The wire object is checked in one pass over its own (snake_case) keys, with the class's own field Schemas,
 * then the class is built without checking again. Renaming keys inside the Schema (`fromKey`) and composing
 * into the class instead walked the object three times and cost about half as much again.
 */
const CredentialsWire = Schema.Struct({
  encrypted_data: Schema.compose(Schema.Uint8ArrayFromBase64, credentialsFields.encryptedData),
  credential_type: credentialsFields.credentialType,
  expires_at: Schema.NullOr(IsoDateTime),
}).pipe(
  Schema.transform(Schema.typeSchema(ProviderCredentials), {
    strict: true,
    decode: (wire) =>
      new ProviderCredentials(
        {
          encryptedData: wire.encrypted_data,
          credentialType: wire.credential_type,
          expiresAt: wire.expires_at,
        },
        true,
      ),
    encode: (credentials) => ({
      encrypted_data: credentials.encryptedData,
      credential_type: credentials.credentialType,
      expires_at: credentials.expiresAt,
    }),
  }),
)

/**
 * The cached JSON object, in the original service's snake_case layout, as one Schema from the wire object to
 * the class (UUIDs, lengths, literals, base64, ISO dates and the class invariant in one decode).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderConnectionWire = Schema.Struct({
  id: connectionFields.id,
  user_id: connectionFields.userId,
  provider_id: connectionFields.providerId,
  provider_slug: connectionFields.providerSlug,
  status: connectionFields.status,
  alias: connectionFields.alias,
  credentials: Schema.NullOr(CredentialsWire),
  connected_at: Schema.NullOr(IsoDateTime),
  last_sync_at: Schema.NullOr(IsoDateTime),
  created_at: IsoDateTime,
  updated_at: IsoDateTime,
}).pipe(
  Schema.filter((wire) => activeHasCredentials(wire.status, wire.credentials)),
  Schema.transform(Schema.typeSchema(ProviderConnection), {
    strict: true,
    decode: (wire) =>
      new ProviderConnection(
        {
          id: wire.id,
          userId: wire.user_id,
          providerId: wire.provider_id,
          providerSlug: wire.provider_slug,
          status: wire.status,
          alias: wire.alias,
          credentials: wire.credentials,
          connectedAt: wire.connected_at,
          lastSyncAt: wire.last_sync_at,
          createdAt: wire.created_at,
          updatedAt: wire.updated_at,
        },
        true,
      ),
    encode: (connection) => ({
      id: connection.id,
      user_id: connection.userId,
      provider_id: connection.providerId,
      provider_slug: connection.providerSlug,
      status: connection.status,
      alias: connection.alias,
      credentials: connection.credentials,
      connected_at: connection.connectedAt,
      last_sync_at: connection.lastSyncAt,
      created_at: connection.createdAt,
      updated_at: connection.updatedAt,
    }),
  }),
)

/**
 * The cache value: JSON text of `ProviderConnectionWire`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProviderConnectionJson = Schema.parseJson(ProviderConnectionWire)
