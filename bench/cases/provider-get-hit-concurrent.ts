/**
 * `provider-get-hit-concurrent`: `ProviderConnectionCache.get` over 10,000 stored connections from 256
 * concurrent loops, against what a careful hand-written service would do on the same workload: a raw ioredis
 * GET (auto-pipelined), `JSON.parse`, and a decoder that checks everything the Schema checks and builds the
 * same classes. Target: ratio >= 1.5.
 */
import { Effect, Layer } from "effect"
import {
  type ConnectionStatus,
  type CredentialType,
  connectionKey,
  ProviderConnection,
  ProviderConnectionCache,
  ProviderCredentials,
} from "../../src/index.js"
import { parseIsoDateTime } from "../../src/ProviderConnection.js"
import { RedisCache } from "../../src/redis.js"
import { makeConnection, uuid } from "../../test/support/fixtures.js"
import { defineCase, row } from "../BenchCase.js"
import { effectWorkers, promiseWorkers } from "../measure.js"
import { buildLayer, CONCURRENCY, OURS, rawClients } from "../workload.js"

const NAME = "provider-get-hit-concurrent"
const RAW = "ioredis GET, auto-pipelined + JSON.parse + validating hand-written decode"
const CONNECTIONS = 10_000
const PER_WORKER = 100

// ---------------------------------------------------------------------------------------------------------
// The baseline's decoder: every check of ProviderConnectionWire, written out by hand.
// ---------------------------------------------------------------------------------------------------------

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const STATUSES = new Set<string>(["pending", "active", "expired", "revoked", "failed", "disconnected"])
const CREDENTIAL_TYPES = new Set<string>([
  "oauth2",
  "api_key",
  "link_token",
  "certificate",
  "file_import",
  "custom",
])

class Invalid extends Error {}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const uuidAt = (o: Record<string, unknown>, key: string): string => {
  const value = o[key]
  if (typeof value !== "string" || !UUID.test(value)) throw new Invalid(key)
  return value
}

const dateAt = (o: Record<string, unknown>, key: string): Date => {
  const value = o[key]
  const date = typeof value === "string" ? parseIsoDateTime(value) : undefined
  if (date === undefined) throw new Invalid(key)
  return date
}

const nullableDateAt = (o: Record<string, unknown>, key: string): Date | null =>
  o[key] === null ? null : dateAt(o, key)

const base64At = (o: Record<string, unknown>, key: string): Uint8Array => {
  const value = o[key]
  if (typeof value !== "string" || value.length === 0 || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new Invalid(key)
  }
  const buffer = Buffer.from(value, "base64")
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/** JSON text to a `ProviderConnection`, or `undefined` when anything is off. */
export const decodeByHand = (text: string): ProviderConnection | undefined => {
  try {
    const o: unknown = JSON.parse(text)
    if (!isRecord(o)) return undefined
    const slug = o.provider_slug
    if (typeof slug !== "string" || slug.length < 1 || slug.length > 50) return undefined
    const status = o.status
    if (typeof status !== "string" || !STATUSES.has(status)) return undefined
    const alias = o.alias
    if (alias !== null && (typeof alias !== "string" || alias.length > 100)) return undefined
    let credentials: ProviderCredentials | null = null
    if (o.credentials !== null) {
      const c = o.credentials
      if (!isRecord(c)) return undefined
      const type = c.credential_type
      if (typeof type !== "string" || !CREDENTIAL_TYPES.has(type)) return undefined
      credentials = new ProviderCredentials(
        {
          encryptedData: base64At(c, "encrypted_data"),
          credentialType: type as CredentialType,
          expiresAt: nullableDateAt(c, "expires_at"),
        },
        true,
      )
    }
    if (status === "active" && credentials === null) return undefined
    return new ProviderConnection(
      {
        id: uuidAt(o, "id"),
        userId: uuidAt(o, "user_id"),
        providerId: uuidAt(o, "provider_id"),
        providerSlug: slug,
        status: status as ConnectionStatus,
        alias,
        credentials,
        connectedAt: nullableDateAt(o, "connected_at"),
        lastSyncAt: nullableDateAt(o, "last_sync_at"),
        createdAt: dateAt(o, "created_at"),
        updatedAt: dateAt(o, "updated_at"),
      },
      true,
    )
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Stores 10,000 connections through `ProviderConnectionCache` on a `RedisCache` with `cacheOptions`, and
 * returns both contenders: ours (`get` from 256 loops, a miss is a defect) and the fair baseline (raw GET,
 * `JSON.parse`, `decodeByHand`). `warm` runs once before measuring (the local tier fills itself there).
 */
export const storedConnections = async (
  name: string,
  url: string,
  cacheOptions: Omit<RedisCache.RedisCacheOptions, "url">,
  warm: (readAll: () => Promise<void>) => Promise<void> = async () => {},
) => {
  const raw = await rawClients(url)
  const built = await buildLayer(
    ProviderConnectionCache.layerWithTtl("1 hour").pipe(
      Layer.provide(RedisCache.layer({ url, ...cacheOptions })),
    ),
  )
  const run = <A, E>(effect: Effect.Effect<A, E, ProviderConnectionCache>) =>
    Effect.runPromise(Effect.provide(effect, built.context))
  const ids = Array.from({ length: CONNECTIONS }, (_, i) => uuid(100_000 + i))
  await run(
    Effect.flatMap(ProviderConnectionCache, (connections) =>
      Effect.forEach(ids, (id) => connections.set(makeConnection({ id })), {
        concurrency: 64,
        discard: true,
      }),
    ),
  )
  const keys = ids.map(connectionKey)
  // Both sides must find every connection, or the comparison is of misses.
  if (decodeByHand((await raw.ioredis.get(keys[0]!)) ?? "")?.id !== ids[0]) {
    throw new Error("the baseline decoder rejects a stored connection")
  }
  const get = Effect.map(
    ProviderConnectionCache,
    (connections) => (i: number) =>
      Effect.flatMap(connections.get(ids[i % CONNECTIONS]!), (found) =>
        found._tag === "None" ? Effect.dieMessage(`${name}: a miss`) : Effect.void,
      ),
  )
  await warm(() => run(Effect.flatMap(get, (op) => Effect.forEach(ids, (_, i) => op(i), { discard: true }))))
  return {
    ours: () => run(Effect.flatMap(get, (op) => effectWorkers(CONCURRENCY, PER_WORKER, op))),
    raw: () =>
      promiseWorkers(CONCURRENCY, PER_WORKER, async (i) => {
        if (decodeByHand((await raw.ioredis.get(keys[i % CONNECTIONS]!)) ?? "") === undefined) {
          throw new Error(`${name}: a baseline miss`)
        }
      }),
    close: async () => {
      await built.close()
      await raw.close()
    },
  }
}

export const providerGetHitConcurrent = defineCase({
  name: NAME,
  rows: [NAME],
  setup: ({ redisUrl }) => storedConnections(NAME, redisUrl!, {}),
  contenders: (state) => ({ [OURS]: state.ours, [RAW]: state.raw }),
  report: (medians) => [
    row(NAME, medians[OURS]!, {
      baseline: { name: RAW, sample: medians[RAW]! },
      target: "ratio >= 1.5",
      met: (ratio) => (ratio ?? 0) >= 1.5,
    }),
  ],
  teardown: (state) => state.close(),
})
