/** Shared test data and test doubles. */
import { Effect, HashMap, Layer, Logger } from "effect"
import { Cache, CacheError, ProviderConnection, ProviderCredentials } from "../../src/index.js"

/** Ciphertext-like bytes, deliberately not valid UTF-8 (0xff, lone continuation bytes, NUL). */
export const ciphertext = (length = 48, seed = 7): Uint8Array => {
  const bytes = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    bytes[i] = x & 0xff
  }
  bytes[0] = 0xff
  bytes[1] = 0x80
  if (length > 2) bytes[2] = 0x00
  return bytes
}

export const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

export const makeConnection = (
  overrides: Partial<ConstructorParameters<typeof ProviderConnection>[0]> = {},
) =>
  new ProviderConnection({
    id: uuid(1),
    userId: uuid(2),
    providerId: uuid(3),
    providerSlug: "schwab",
    status: "active",
    alias: "My brokerage",
    credentials: new ProviderCredentials({
      encryptedData: ciphertext(),
      credentialType: "oauth2",
      expiresAt: new Date("2026-01-16T13:00:00.123Z"),
    }),
    connectedAt: new Date("2026-01-10T09:30:00.000Z"),
    lastSyncAt: null,
    createdAt: new Date("2026-01-01T00:00:00.000Z"),
    updatedAt: new Date("2026-01-15T12:00:00.000Z"),
    ...overrides,
  })

export interface CapturedLog {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** A Logger that records every entry, for asserting on warnings. */
export const captureLogs = () => {
  const entries: Array<CapturedLog> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    entries.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
    })
  })
  return { entries, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** A Cache whose every operation fails with a Connection error, as during an outage. */
export const failingCache: Layer.Layer<Cache> = Layer.succeed(
  Cache,
  (() => {
    const fail = (operation: string) => () =>
      Effect.fail(new CacheError({ reason: "Connection", operation, detail: "simulated outage" }))
    return Cache.of({
      get: fail("get"),
      getJson: fail("getJson"),
      set: fail("set"),
      setJson: fail("setJson"),
      delete: fail("delete"),
      exists: fail("exists"),
      expire: fail("expire"),
      ttl: fail("ttl"),
      increment: fail("increment"),
      decrement: fail("decrement"),
      flush: fail("flush")(),
      ping: fail("ping")(),
      deletePattern: fail("deletePattern"),
      countPattern: fail("countPattern"),
      getMany: fail("getMany"),
      setMany: fail("setMany"),
      setIfAbsent: fail("setIfAbsent"),
      deleteIfEquals: fail("deleteIfEquals"),
      invalidateTags: fail("invalidateTags"),
    })
  })(),
)

/** A Cache whose every operation dies (a bug in an implementation), to prove fail-open covers defects too. */
export const dyingCache: Layer.Layer<Cache> = Layer.succeed(
  Cache,
  new Proxy({} as Cache.Service, {
    get: (_, property) => {
      if (property === "flush" || property === "ping") return Effect.die(new Error("boom"))
      return () => Effect.die(new Error("boom"))
    },
  }),
)
