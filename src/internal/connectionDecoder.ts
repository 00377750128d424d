/**
 * The read side of `ProviderConnectionCache`: stored text to a connection of the caller's own, through a
 * bounded memo of earlier decodes.
 */
import { Either, type ParseResult, Schema } from "effect"
import {
  ProviderConnection,
  ProviderConnectionJson,
  ProviderConnectionWire,
  ProviderCredentials,
} from "../ProviderConnection.js"
import { envelopeExpiry } from "./asideEnvelope.js"
import { type DecodeMemo, makeDecodeMemo } from "./decodeMemo.js"

// The synchronous decoder, built once: half the cost of the Effect one.
const decodePlain = Schema.decodeUnknownEither(ProviderConnectionJson)
const decodeWire = Schema.decodeUnknownEither(ProviderConnectionWire)

/** The stored text as a connection: plain wire JSON, or the value inside a `CacheAside` envelope. */
const decodeJson = (text: string): Either.Either<ProviderConnection, ParseResult.ParseError> => {
  if (envelopeExpiry(text) === undefined) return decodePlain(text)
  return decodeWire((JSON.parse(text) as { readonly v: unknown }).v)
}

const copyDate = <D extends Date | null>(date: D): D =>
  date === null ? date : (new Date(date.getTime()) as D)

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable). The values were validated when `c` was decoded.
 *
 * Built field by field on each class's prototype, not with `new Class(props, true)`: with validation off,
 * the `Schema.Class` constructor still copies `props`, fills in field defaults and assigns them, which cost
 * more than the copy itself on a memo hit (2.4 µs against 1.0 µs per connection), and a props object
 * assigned with `Object.assign` still costs an allocation and a generic copy. Every field is set, in the
 * constructor's order, so the instance is the same; a test pins that against the constructors.
 *
 * @since 0.2.0
 * @category internal
 */
export const copyConnection = (c: ProviderConnection): ProviderConnection => {
  const credentials = c.credentials
  let credentialsCopy: ProviderCredentials | null = null
  if (credentials !== null) {
    const copy = Object.create(ProviderCredentials.prototype) as Mutable<ProviderCredentials>
    copy.encryptedData = credentials.encryptedData.slice()
    copy.credentialType = credentials.credentialType
    copy.expiresAt = copyDate(credentials.expiresAt)
    credentialsCopy = copy
  }
  const copy = Object.create(ProviderConnection.prototype) as Mutable<ProviderConnection>
  copy.id = c.id
  copy.userId = c.userId
  copy.providerId = c.providerId
  copy.providerSlug = c.providerSlug
  copy.status = c.status
  copy.alias = c.alias
  copy.credentials = credentialsCopy
  copy.connectedAt = copyDate(c.connectedAt)
  copy.lastSyncAt = copyDate(c.lastSyncAt)
  copy.createdAt = copyDate(c.createdAt)
  copy.updatedAt = copyDate(c.updatedAt)
  return copy
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Decodes the text stored under a connection id; `memo` is exposed for tests.
 *
 * @since 0.2.0
 * @category internal
 */
export interface ConnectionDecoder {
  (id: string, text: string): Either.Either<ProviderConnection, ParseResult.ParseError>
  readonly memo: DecodeMemo<ProviderConnection>
}

/**
 * Decoding an entry costs about 15 µs (JSON, base64, four dates, every invariant) and allocates enough to
 * drive the garbage collector, while a cached connection is read many times between writes. Decoding is a
 * pure function of the stored text, so up to `capacity` decodes are kept (`DecodeMemo`: one per id, least
 * recently read out first, reused only for the identical text), and every read gets its own copy. Failures
 * are not kept. `decode` is replaceable for tests (to count decodes).
 *
 * @since 0.2.0
 * @category internal
 */
export const makeConnectionDecoder = (
  capacity: number,
  decode: (text: string) => Either.Either<ProviderConnection, ParseResult.ParseError> = decodeJson,
): ConnectionDecoder => {
  const memo = makeDecodeMemo<ProviderConnection>(capacity)
  const decoder = (id: string, text: string) => {
    const known = memo.get(id, text)
    if (known !== undefined) return Either.right(copyConnection(known))
    const result = decode(text)
    if (Either.isRight(result)) memo.set(id, text, copyConnection(result.right))
    return result
  }
  return Object.assign(decoder, { memo })
}
