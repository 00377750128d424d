/**
 * Keeps a connection URL's credentials out of anything we print. ioredis's own errors do not contain the
 * password, but they carry the failed command and its arguments (for AUTH: the password; for SET: the cached
 * value), so we never pass an ioredis error on: only a scrubbed message.
 *
 * The URL may be malformed: ioredis reads `redis//:pw@host` as a Unix socket path and prints it in
 * `connect ENOENT //:pw@host`. So the secrets are not only what `new URL` finds, but anything that could be
 * userinfo in any reading of the string.
 */
import { Redacted } from "effect"

const REDACTED = "<redacted>"

/** Query parameters whose value ioredis would use as a credential (it copies every parameter into its options). */
const SECRET_PARAMETER = /pass|secret|auth|token/i

/**
 * The strings of `raw` that may be a credential: every reading of its userinfo (the text before its last
 * `@`, starting after the first or the last `//`, after the scheme's `:`, or at the very start), the part of
 * each after its first `:` (the password), what `new URL` parses as the password (with or without a scheme
 * put in front, as ioredis does), credential-like query parameters, and the percent-decoded form of each.
 *
 * @since 0.2.0
 * @category internal
 */
export const secretsOf = (raw: string): ReadonlyArray<string> => {
  const secrets = new Set<string>()
  const add = (candidate: string) => {
    for (const form of [candidate, safeDecode(candidate)]) if (form.length > 0) secrets.add(form)
  }
  add(raw)
  const at = raw.lastIndexOf("@")
  if (at !== -1) {
    const starts = new Set([0, raw.indexOf(":") + 1])
    for (const slashes of [raw.indexOf("//"), raw.lastIndexOf("//", at)]) {
      if (slashes !== -1 && slashes < at) starts.add(slashes + 2)
    }
    for (const start of starts) {
      if (start > at) continue
      const userinfo = raw.slice(start, at)
      add(userinfo)
      const colon = userinfo.indexOf(":")
      if (colon !== -1) add(userinfo.slice(colon + 1))
    }
  }
  for (const text of [raw, `redis:${raw}`, `redis://${raw}`]) {
    const parsed = safeParse(text)
    if (parsed === undefined) continue
    add(parsed.password)
    parsed.searchParams.forEach((value, key) => {
      if (SECRET_PARAMETER.test(key)) add(value)
    })
  }
  return Array.from(secrets).sort((a, b) => b.length - a.length)
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const safeParse = (text: string): URL | undefined => {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

/**
 * A function that replaces the URL (or password), and every reading of its credentials, wherever they appear.
 *
 * @since 0.2.0
 * @category internal
 */
export const makeSecretScrubber = (
  url: string | Redacted.Redacted<string> | undefined,
): ((text: string) => string) => {
  if (url === undefined) return (text) => text
  const secrets = secretsOf(Redacted.isRedacted(url) ? Redacted.value(url) : url)
  return (text) => secrets.reduce((acc, secret) => acc.split(secret).join(REDACTED), text)
}

/**
 * A function that replaces a bare password (no URL around it: nothing else of it is a credential).
 *
 * @since 0.2.0
 * @category internal
 */
export const makePasswordScrubber = (
  password: string | Redacted.Redacted<string> | undefined,
): ((text: string) => string) => {
  const raw =
    password === undefined ? "" : Redacted.isRedacted(password) ? Redacted.value(password) : password
  if (raw.length === 0) return (text) => text
  return (text) => text.split(raw).join(REDACTED)
}
