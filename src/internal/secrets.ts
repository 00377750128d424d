/**
 * Keeps a connection URL's credentials out of anything we print. ioredis's own errors do not contain the
 * password, but they carry the failed command and its arguments (for AUTH: the password; for SET: the cached
 * value), so we never pass an ioredis error on: only a scrubbed message.
 */
import { Redacted } from "effect"

const REDACTED = "<redacted>"

/**
 * A function that replaces the URL, its password and its userinfo wherever they appear in a text.
 *
 * @since 0.1.0
 * @category internal
 */
export const makeSecretScrubber = (
  url: string | Redacted.Redacted<string> | undefined,
): ((text: string) => string) => {
  if (url === undefined) return (text) => text
  const raw = Redacted.isRedacted(url) ? Redacted.value(url) : url
  const secrets = new Set<string>([raw])
  try {
    const parsed = new URL(raw)
    for (const part of [parsed.password, decodeURIComponent(parsed.password)])
      if (part.length > 0) secrets.add(part)
  } catch {
    // Not a URL we can parse: the whole string is still scrubbed.
  }
  const ordered = Array.from(secrets).sort((a, b) => b.length - a.length)
  return (text) => ordered.reduce((acc, secret) => acc.split(secret).join(REDACTED), text)
}
