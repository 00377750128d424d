/**
 * The read side of `ProviderConnectionCache`: stored text to a connection of the caller's own, through a
 * bounded memo of earlier decodes.
 */
import { Either, type ParseResult, Schema } from "effect"
import { ProviderConnection, ProviderConnectionJson, ProviderCredentials } from "../ProviderConnection.js"
import { type DecodeMemo, makeDecodeMemo } from "./decodeMemo.js"

// The synchronous decoder, built once: half the cost of the Effect one.
const decodeJson = Schema.decodeUnknownEither(ProviderConnectionJson)

const copyDate = <D extends Date | null>(date: D): D =>
  date === null ? date : (new Date(date.getTime()) as D)

/**
 * A connection equal to `c` sharing nothing mutable with it: its Dates and ciphertext bytes are copied (the
 * class is otherwise immutable). The values were validated when `c` was decoded, so construction skips it.
 */
export const copyConnection = (c: ProviderConnection): ProviderConnection =>
  new ProviderConnection(
    {
      id: c.id,
      userId: c.userId,
      providerId: c.providerId,
      providerSlug: c.providerSlug,
      status: c.status,
      alias: c.alias,
      credentials:
        c.credentials === null
          ? null
          : new ProviderCredentials(
              {
                encryptedData: c.credentials.encryptedData.slice(),
                credentialType: c.credentials.credentialType,
                expiresAt: copyDate(c.credentials.expiresAt),
              },
              true,
            ),
      connectedAt: copyDate(c.connectedAt),
      lastSyncAt: copyDate(c.lastSyncAt),
      createdAt: copyDate(c.createdAt),
      updatedAt: copyDate(c.updatedAt),
    },
    true,
  )

/** Decodes the text stored under a connection id; `memo` is exposed for tests. */
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
