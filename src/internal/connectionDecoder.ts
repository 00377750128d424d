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

type CopyConstructor<A, Args extends ReadonlyArray<unknown>> = { new (...args: Args): A; prototype: object }

/**
 * The copies are built by plain constructor functions whose `prototype` is the class's own. Every instance
 * of one constructor gets the same hidden class with room for all its fields in the object itself, where
 * `Object.create(prototype)` and eleven assignments grew each copy through a chain of hidden classes into a
 * separate property array: 3-12 % more reads a second on `provider-get-hit-local` (+7 % on average over
 * three alternating runs of each), where the copy is most of what a read allocates.
 */
const CredentialsCopy = function (this: Mutable<ProviderCredentials>, c: ProviderCredentials) {
  this.encryptedData = c.encryptedData.slice()
  this.credentialType = c.credentialType
  this.expiresAt = copyDate(c.expiresAt)
} as unknown as CopyConstructor<ProviderCredentials, [ProviderCredentials]>
CredentialsCopy.prototype = ProviderCredentials.prototype

const ConnectionCopy = function (
  this: Mutable<ProviderConnection>,
  c: ProviderConnection,
  credentials: ProviderCredentials | null,
) {
  this.id = c.id
  this.userId = c.userId
  this.providerId = c.providerId
  this.providerSlug = c.providerSlug
  this.status = c.status
  this.alias = c.alias
  this.credentials = credentials
  this.connectedAt = copyDate(c.connectedAt)
  this.lastSyncAt = copyDate(c.lastSyncAt)
  this.createdAt = copyDate(c.createdAt)
  this.updatedAt = copyDate(c.updatedAt)
} as unknown as CopyConstructor<ProviderConnection, [ProviderConnection, ProviderCredentials | null]>
ConnectionCopy.prototype = ProviderConnection.prototype

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable). The values were validated when `c` was decoded.
 *
 * Built field by field on each class's prototype (above), not with `new Class(props, true)`: with validation
 * off, the `Schema.Class` constructor still copies `props`, fills in field defaults and assigns them, which
 * cost more than the copy itself on a memo hit (2.4 µs against 1.0 µs per connection), and a props object
 * assigned with `Object.assign` still costs an allocation and a generic copy. Every field is set, in the
 * constructor's order, so the instance is the same; a test pins that against the constructors.
 *
 * @since 0.2.0
 * @category internal
 */
export const copyConnection = (c: ProviderConnection): ProviderConnection =>
  new ConnectionCopy(c, c.credentials === null ? null : new CredentialsCopy(c.credentials))

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
