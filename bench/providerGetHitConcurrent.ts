/**
 * `provider-get-hit-concurrent`: `ProviderConnectionCache.get` over 10,000 stored connections from 256
 * concurrent loops, against what a careful hand-written service would do on the same workload: a raw ioredis
 * GET (auto-pipelined), `JSON.parse`, and a decoder that checks everything the Schema checks and builds the
 * same classes.
 */
import { Effect } from "effect"
import type { Redis } from "ioredis"
import {
  type Cache,
  type ConnectionStatus,
  type CredentialType,
  connectionKey,
  ProviderConnection,
  ProviderConnectionCache,
  ProviderCredentials,
} from "../src/index.js"
import { parseIsoDateTime } from "../src/ProviderConnection.js"
import { makeConnection, uuid } from "../test/support/fixtures.js"

const CONNECTIONS = 10_000
const CONCURRENCY = 256
const PER_WORKER = 100

interface Sample {
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

/** What the case needs from the harness in main.ts. */
export interface Harness {
  readonly raw: Redis
  readonly run: <A, E>(effect: Effect.Effect<A, E, Cache | ProviderConnectionCache>) => Promise<A>
  readonly record: (
    name: string,
    ours: Sample,
    baseline: { name: string; sample: Sample } | null,
    target: string,
    met: (ratio: number | null, ours: Sample) => boolean,
  ) => void
  readonly compare: (contenders: Record<string, () => Promise<Sample>>) => Promise<Record<string, Sample>>
  readonly promiseWorkers: (
    workers: number,
    perWorker: number,
    op: (i: number) => Promise<unknown>,
  ) => Promise<Sample>
  readonly effectWorkers: <R>(
    workers: number,
    perWorker: number,
    op: (i: number) => Effect.Effect<unknown, unknown, R>,
  ) => Effect.Effect<Sample, unknown, R>
}

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

/** The case: stores 10,000 connections through the service, then reads them back both ways. */
export const providerGetHitConcurrent = ({
  raw,
  run,
  record,
  compare,
  promiseWorkers,
  effectWorkers,
}: Harness) =>
  Effect.gen(function* () {
    const ids = Array.from({ length: CONNECTIONS }, (_, i) => uuid(100_000 + i))
    yield* Effect.promise(() =>
      run(
        Effect.flatMap(ProviderConnectionCache, (connections) =>
          Effect.forEach(ids, (id) => connections.set(makeConnection({ id })), {
            concurrency: 64,
            discard: true,
          }),
        ),
      ),
    )
    const keys = ids.map(connectionKey)
    // Both sides must find every connection, or the comparison is of misses.
    const byHand = yield* Effect.promise(async () => decodeByHand((await raw.get(keys[0]!)) ?? ""))
    if (byHand?.id !== ids[0]) throw new Error("the baseline decoder rejects a stored connection")

    const get = (connections: ProviderConnectionCache["Type"]) => (i: number) =>
      Effect.flatMap(connections.get(ids[i % CONNECTIONS]!), (found) =>
        found._tag === "None" ? Effect.dieMessage("provider-get-hit-concurrent: a miss") : Effect.void,
      )
    const rawGet = async (i: number) => {
      const found = decodeByHand((await raw.get(keys[i % CONNECTIONS]!)) ?? "")
      if (found === undefined) throw new Error("provider-get-hit-concurrent: a baseline miss")
    }
    const samples = yield* Effect.promise(() =>
      compare({
        raw: () => promiseWorkers(CONCURRENCY, PER_WORKER, rawGet),
        ours: () =>
          run(
            Effect.flatMap(ProviderConnectionCache, (connections) =>
              effectWorkers(CONCURRENCY, PER_WORKER, get(connections)),
            ),
          ),
      }),
    )
    record(
      "provider-get-hit-concurrent",
      samples.ours!,
      {
        name: "ioredis GET, auto-pipelined + JSON.parse + validating hand-written decode",
        sample: samples.raw!,
      },
      "ratio >= 1.5",
      (ratio) => (ratio ?? 0) >= 1.5,
    )
  })
