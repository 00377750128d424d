/**
 * How `CacheAside` stores a value when it needs the value's write time and logical expiry (`grace`,
 * `eagerRefresh`): `{"__cacheAside":1,"at":…,"exp":…,"v":…}`. Defined once here because another reader
 * shares those keys: `ProviderConnectionCache` reads what `ProviderConnectionService` (through CacheAside)
 * wrote, and must recognise the envelope without parsing every plain entry.
 */
import { Predicate } from "effect"

/**
 * An envelope as stored.
 *
 * @since 0.2.0
 * @category internal
 */
export interface AsideEnvelope {
  readonly at: number
  readonly exp: number
  readonly v: unknown
}

const FIELD = "__cacheAside"

/**
 * The envelope of `v`, written at `at` and logically expiring at `exp` (epoch ms), its fields in this order.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeEnvelope = (
  at: number,
  exp: number,
  v: unknown,
): AsideEnvelope & { readonly [FIELD]: 1 } => ({
  [FIELD]: 1,
  at,
  exp,
  v,
})

/**
 * Whether parsed JSON is an envelope.
 *
 * @since 0.2.0
 * @category internal
 */
export const isEnvelope = (json: unknown): json is AsideEnvelope =>
  Predicate.isRecord(json) &&
  json[FIELD] === 1 &&
  typeof json.at === "number" &&
  typeof json.exp === "number" &&
  "v" in json

/** The stored text of `makeEnvelope`'s result starts so; the field order is `makeEnvelope`'s. */
const PREFIX = /^\{"__cacheAside":1,"at":-?\d+,"exp":(-?\d+),"v":/
const START = `{"${FIELD}":1,`

/**
 * The logical expiry of stored text that is an envelope, read from its prefix (no parse), else undefined.
 *
 * @since 0.2.0
 * @category internal
 */
export const envelopeExpiry = (text: string): number | undefined => {
  // Most texts are not envelopes: a prefix test answers those without running the expression.
  if (!text.startsWith(START)) return undefined
  const match = PREFIX.exec(text)
  return match === null ? undefined : Number(match[1])
}
