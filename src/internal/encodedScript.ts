/**
 * Commands with many arguments (MGET, the setMany script) whose RESP bytes we encode ourselves, in one pass,
 * instead of letting ioredis build them.
 *
 * ioredis prepares a command one argument at a time: `Array.prototype.flat` over the arguments, a type check
 * and conversion of each, then a string of four pieces per argument that the socket write flattens and
 * UTF-8-encodes. For `setMany`'s 2,000 arguments that costs about 1.5 ms of client CPU, about half of what
 * Redis spends running the script. Encoding here costs about 0.35 ms (ASCII) to 0.8 ms. It is used only where the argument
 * count is large; every other command goes through ioredis as usual.
 *
 * The command ioredis queues still carries real arguments, just not all of them: `[sha, "1", firstKey]`.
 * That is what its cluster router reads to pick the slot (every key of one call shares that slot: callers
 * group by slot first) and what its debug log prints. Everything else about the command (queueing, reply
 * parsing, redirections, resending after a reconnect) is ioredis's own, and a resend writes the same bytes.
 */
import { createHash } from "node:crypto"
import { type Cluster, Command, type Redis } from "ioredis"

/**
 * RESP for `name` followed by every string of `groups`, in order.
 *
 * @since 0.1.0
 * @category internal
 */
export const encodeCommand = (name: string, groups: ReadonlyArray<ReadonlyArray<string>>): Buffer => {
  let count = 1
  for (const group of groups) count += group.length
  return encodeAscii(name, groups, count) ?? encodeUtf8(name, groups, count)
}

/** Arguments per piece of text: pieces stay small, where one 100 KB string would land in V8's large-object space. */
const PIECE = 64

/**
 * Most keys and values are ASCII, where a string's length is its byte length and its bytes are a copy of its
 * characters (latin1). Built that way, then checked: a piece's UTF-8 length equals its length only when every
 * character in it is ASCII. `undefined` if one is not.
 */
const encodeAscii = (
  name: string,
  groups: ReadonlyArray<ReadonlyArray<string>>,
  count: number,
): Buffer | undefined => {
  const pieces: Array<string> = [`*${count}\r\n$${name.length}\r\n${name}\r\n`]
  let parts: Array<string> = []
  for (const group of groups) {
    for (const arg of group) {
      parts.push(`$${arg.length}\r\n${arg}\r\n`)
      if (parts.length === PIECE) {
        pieces.push(parts.join(""))
        parts = []
      }
    }
  }
  if (parts.length > 0) pieces.push(parts.join(""))
  let size = 0
  for (const piece of pieces) {
    if (Buffer.byteLength(piece) !== piece.length) return undefined
    size += piece.length
  }
  const bytes = Buffer.allocUnsafe(size)
  let offset = 0
  for (const piece of pieces) offset += bytes.write(piece, offset, "latin1")
  return bytes
}

const encodeUtf8 = (name: string, groups: ReadonlyArray<ReadonlyArray<string>>, count: number): Buffer => {
  const parts: Array<string> = [`*${count}\r\n$${Buffer.byteLength(name)}\r\n${name}\r\n`]
  for (const group of groups) {
    for (const arg of group) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`)
  }
  return Buffer.from(parts.join(""), "utf8")
}

class PreEncodedCommand extends Command {
  #bytes: Buffer | undefined
  constructor(name: string, routing: Array<string>, bytes: Buffer) {
    // Replies decoded to strings, as ioredis does for every command without a `Buffer` suffix.
    super(name, routing, { replyEncoding: "utf8" })
    this.#bytes = bytes
  }
  override toWritable(_socket: object): Buffer {
    return this.#bytes!
  }
  /** Answered: the bytes are let go at once, whatever still holds the command. */
  override transformReply(result: Buffer | Array<Buffer>) {
    this.#bytes = undefined
    return super.transformReply(result)
  }
}

/**
 * Sends `name` with the arguments of `groups`, encoded here. `routing` is what ioredis sees of the arguments:
 * enough for its cluster router to find the slot (the first key, where the command's key positions expect
 * it), and what its debug log prints.
 * @since 0.1.0
 * @category internal
 */
export const sendEncoded = (
  client: Redis | Cluster,
  name: string,
  routing: Array<string>,
  groups: ReadonlyArray<ReadonlyArray<string>>,
): Promise<unknown> => {
  const command = new PreEncodedCommand(name, routing, encodeCommand(name, groups))
  client.sendCommand(command)
  return command.promise
}

/**
 * `MGET keys…`; the keys must share a slot.
 *
 * @since 0.1.0
 * @category internal
 */
export const mget = (client: Redis | Cluster, keys: ReadonlyArray<string>) =>
  sendEncoded(client, "mget", [keys[0]!], [keys]) as Promise<Array<string | null>>

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT")

/**
 * `EVALSHA sha numkeys keys… args…`, falling back to `EVAL` once when the server does not know the script
 * (first use on a node, after SCRIPT FLUSH or a failover). `keys` must not be empty and must share a slot.
 * @since 0.1.0
 * @category internal
 */
export const makeEncodedScript = (lua: string) => {
  const sha = createHash("sha1").update(lua).digest("hex")
  return (
    client: Redis | Cluster,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string>,
  ): Promise<unknown> => {
    const send = (name: "evalsha" | "eval", script: string) =>
      sendEncoded(client, name, [sha, "1", keys[0]!], [[script, String(keys.length)], keys, args])
    return send("evalsha", sha).catch((error: unknown) =>
      isNoScript(error) ? send("eval", lua) : Promise.reject(error),
    )
  }
}
