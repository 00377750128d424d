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

const timeOf = (date: Date | null): number | null => (date === null ? null : date.getTime())
const dateAt = <D extends Date | null>(time: number | null): D => (time === null ? null : new Date(time)) as D

/**
 * What the memo keeps of a decoded connection: every field, the dates as their times and the ciphertext as
 * bytes of its own, in one object. A copy is built from it without reading a `Date` or the credentials
 * object: 6-8 % more reads a second on `provider-get-hit-local` than copying the kept connection itself
 * (two builds alternating in one process), and less heap per kept connection (one object where the
 * connection is three objects and up to five `Date`s).
 *
 * @since 0.2.0
 * @category internal
 */
export class ConnectionSnapshot {
  readonly id: string
  readonly userId: string
  readonly providerId: string
  readonly providerSlug: string
  readonly status: ProviderConnection["status"]
  readonly alias: string | null
  readonly connectedAt: number | null
  readonly lastSyncAt: number | null
  readonly createdAt: number
  readonly updatedAt: number
  /** `null` for a connection without credentials. */
  readonly encryptedData: Uint8Array | null
  readonly credentialType: ProviderCredentials["credentialType"] | null
  readonly expiresAt: number | null
  constructor(c: ProviderConnection) {
    this.id = c.id
    this.userId = c.userId
    this.providerId = c.providerId
    this.providerSlug = c.providerSlug
    this.status = c.status
    this.alias = c.alias
    this.connectedAt = timeOf(c.connectedAt)
    this.lastSyncAt = timeOf(c.lastSyncAt)
    this.createdAt = c.createdAt.getTime()
    this.updatedAt = c.updatedAt.getTime()
    const credentials = c.credentials
    this.encryptedData = credentials === null ? null : credentials.encryptedData.slice()
    this.credentialType = credentials === null ? null : credentials.credentialType
    this.expiresAt = credentials === null ? null : timeOf(credentials.expiresAt)
  }
}

type CopyConstructor<A, Args extends ReadonlyArray<unknown>> = { new (...args: Args): A; prototype: object }

/**
 * The copies are built by plain constructor functions whose `prototype` is the class's own. Every instance
 * of one constructor gets the same hidden class with room for all its fields in the object itself, where
 * `Object.create(prototype)` and eleven assignments grew each copy through a chain of hidden classes into a
 * separate property array: 3-12 % more reads a second on `provider-get-hit-local` (+7 % on average over
 * three alternating runs of each), where the copy is most of what a read allocates.
 */
const CredentialsCopy = function (this: Mutable<ProviderCredentials>, s: ConnectionSnapshot) {
  this.encryptedData = s.encryptedData!.slice()
  this.credentialType = s.credentialType!
  this.expiresAt = dateAt(s.expiresAt)
} as unknown as CopyConstructor<ProviderCredentials, [ConnectionSnapshot]>
CredentialsCopy.prototype = ProviderCredentials.prototype

const ConnectionCopy = function (this: Mutable<ProviderConnection>, s: ConnectionSnapshot) {
  this.id = s.id
  this.userId = s.userId
  this.providerId = s.providerId
  this.providerSlug = s.providerSlug
  this.status = s.status
  this.alias = s.alias
  this.credentials = s.encryptedData === null ? null : new CredentialsCopy(s)
  this.connectedAt = dateAt(s.connectedAt)
  this.lastSyncAt = dateAt(s.lastSyncAt)
  this.createdAt = dateAt(s.createdAt)
  this.updatedAt = dateAt(s.updatedAt)
} as unknown as CopyConstructor<ProviderConnection, [ConnectionSnapshot]>
ConnectionCopy.prototype = ProviderConnection.prototype

/**
 * A new connection built from `snapshot`, sharing nothing mutable with it or with any other copy. The values
 * were validated when the snapshot's connection was decoded.
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
export const fromSnapshot = (snapshot: ConnectionSnapshot): ProviderConnection => new ConnectionCopy(snapshot)

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable).
 *
 * @since 0.2.0
 * @category internal
 */
export const copyConnection = (c: ProviderConnection): ProviderConnection =>
  fromSnapshot(new ConnectionSnapshot(c))

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Decodes the text stored under a connection id; `memo` is exposed for tests.
 *
 * @since 0.2.0
 * @category internal
 */
export interface ConnectionDecoder {
  (id: string, text: string): Either.Either<ProviderConnection, ParseResult.ParseError>
  /** The Cache key of `id`: the memo's own string while a decode of `id` is kept (decodeMemo.ts). */
  readonly cacheKey: (id: string) => string
  readonly memo: DecodeMemo<ConnectionSnapshot>
}

/**
 * Decoding an entry costs about 15 µs (JSON, base64, four dates, every invariant) and allocates enough to
 * drive the garbage collector, while a cached connection is read many times between writes. Decoding is a
 * pure function of the stored text, so up to `capacity` decodes are kept (`DecodeMemo`: one per id, least
 * recently read out first, reused only for the identical text), and every read gets its own copy. Failures
 * are not kept. `cacheKey` is the Cache key of an id; `decode` is replaceable for tests (to count decodes).
 *
 * @since 0.2.0
 * @category internal
 */
export const makeConnectionDecoder = (
  capacity: number,
  cacheKey: (id: string) => string,
  decode: (text: string) => Either.Either<ProviderConnection, ParseResult.ParseError> = decodeJson,
): ConnectionDecoder => {
  const memo = makeDecodeMemo<ConnectionSnapshot>(capacity, cacheKey)
  const decoder = (id: string, text: string) => {
    const known = memo.get(id, text)
    if (known !== undefined) return Either.right(fromSnapshot(known))
    const result = decode(text)
    if (Either.isRight(result)) memo.set(id, text, new ConnectionSnapshot(result.right))
    return result
  }
  return Object.assign(decoder, { memo, cacheKey: (id: string) => memo.storeKey(id) ?? cacheKey(id) })
}
