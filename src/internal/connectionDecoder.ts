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
 * An instance of `Class` holding `props`, as `new Class(props, true)` builds it. With validation off, the
 * `Schema.Class` constructor only copies `props`, fills in field defaults and assigns them to the new
 * instance, which costs more than the copy itself on a memo hit (2.4 µs against 1.0 µs per connection). The
 * props here are complete, so assigning them is the same instance; a test pins that against the constructor.
 */
const instance = <C extends new (props: never, validate: boolean) => object>(
  Class: C,
  props: ConstructorParameters<C>[0],
): InstanceType<C> => Object.assign(Object.create(Class.prototype) as InstanceType<C>, props)

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable). The values were validated when `c` was decoded.
 *
 * @since 0.2.0
 * @category internal
 */
export const copyConnection = (c: ProviderConnection): ProviderConnection => {
  const credentials = c.credentials
  return instance(ProviderConnection, {
    id: c.id,
    userId: c.userId,
    providerId: c.providerId,
    providerSlug: c.providerSlug,
    status: c.status,
    alias: c.alias,
    credentials:
      credentials === null
        ? null
        : instance(ProviderCredentials, {
            encryptedData: credentials.encryptedData.slice(),
            credentialType: credentials.credentialType,
            expiresAt: copyDate(credentials.expiresAt),
          }),
    connectedAt: copyDate(c.connectedAt),
    lastSyncAt: copyDate(c.lastSyncAt),
    createdAt: copyDate(c.createdAt),
    updatedAt: copyDate(c.updatedAt),
  })
}

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
