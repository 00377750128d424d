/**
 * Every export of the source carries a doc comment with `@since` and `@category`, as Effect's packages do,
 * so generated docs group themselves and a reader sees when an API appeared.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const src = fileURLToPath(new URL("../src", import.meta.url))

const PENDING = new Set<string>([])

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  )

/** `file:line export …` for each export whose doc comment lacks a tag. */
const undocumented = (): Array<string> => {
  const missing: Array<string> = []
  for (const file of files(src)) {
    const name = relative(src, file)
    if (PENDING.has(name)) continue
    const lines = readFileSync(file, "utf8").split("\n")
    lines.forEach((line, i) => {
      if (!/^\s*export\s/.test(line)) return
      let end = i - 1
      while (end >= 0 && lines[end]!.trim() === "") end--
      let start = end
      if (end >= 0 && lines[end]!.trim().endsWith("*/")) {
        while (start >= 0 && !lines[start]!.includes("/**")) start--
      }
      const comment = end >= 0 && start >= 0 ? lines.slice(start, end + 1).join("\n") : ""
      const lacks = ["@since", "@category"].filter((tag) => !comment.includes(tag))
      if (lacks.length > 0)
        missing.push(`${name}:${i + 1} ${line.trim().slice(0, 60)} (no ${lacks.join(", ")})`)
    })
  }
  return missing
}

it("every export has @since and @category", () => {
  expect(undocumented()).toStrictEqual([])
})
