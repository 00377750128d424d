/** The hand-written RESP encoder behind MGET and the scripts: byte-exact against a plain reference encoder. */
import { describe, expect, it } from "@effect/vitest"
import { encodeCommand } from "../src/internal/encodedScript.js"

const reference = (name: string, args: ReadonlyArray<string>): Buffer =>
  Buffer.concat(
    [name, ...args].flatMap((arg, i) => {
      const bytes = Buffer.from(arg, "utf8")
      const head = i === 0 ? `*${args.length + 1}\r\n` : ""
      return [Buffer.from(`${head}$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]
    }),
  )

describe("encodeCommand", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<ReadonlyArray<string>>]> = [
    [
      "ascii",
      [
        ["sha", "2"],
        ["k1", "k2"],
        ["v", ""],
      ],
    ],
    ["latin-1 range", [["é", "ÿ"], ["\u0080"]]],
    ["BMP and astral", [["日本", "👍🏽"], ["𝄞x"]]],
    ["RESP-looking text", [["$3\r\nfoo\r\n", "*1\r\n"]]],
    ["one non-ASCII among many ASCII", [Array.from({ length: 500 }, (_, i) => `key:${i}`), ["ü"]]],
    ["many pieces, all ASCII", [Array.from({ length: 1_000 }, (_, i) => `key:${i}`.repeat(i % 7))]],
    ["exactly one piece", [Array.from({ length: 63 }, (_, i) => `k${i}`)]],
    ["no arguments", []],
    [
      "lengths around the short-argument limit, ASCII and not",
      [Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? "é" : "a").repeat(i))],
    ],
    [
      "long values, one non-ASCII at the end",
      [["x".repeat(2_000), `${"y".repeat(2_047)}€`, "z".repeat(10_000)]],
    ],
    ["lengths of every digit count", [[1, 9, 10, 99, 100, 999, 1_000, 100_000].map((n) => "q".repeat(n))]],
  ]
  for (const [label, groups] of cases) {
    it(`matches the reference: ${label}`, () => {
      expect(encodeCommand("evalsha", groups).equals(reference("evalsha", groups.flat()))).toBe(true)
    })
  }
})
