/**
 * Every ```ts block of the README compiles, each on its own, against the source (the consumer test checks
 * them again against the packed .d.ts with TypeScript 5.9). Blocks are extracted on every run, so the
 * README and the checked code cannot drift apart.
 */
import { execFile } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { extractTsBlocks, writeTsBlocks } from "../scripts/readme-blocks.mjs"

const root = fileURLToPath(new URL("..", import.meta.url))
const dir = join(root, ".tmp", "readme")

describe("README", () => {
  it("extracts blocks with the line they start on", () => {
    expect(extractTsBlocks("a\n```ts\nconst x = 1\n```\n```sh\nls\n```\n```ts\nlet y\n```\n")).toStrictEqual([
      { line: 3, code: "const x = 1" },
      { line: 9, code: "let y" },
    ])
  })

  it("every ts block type-checks against the source", { timeout: 120_000 }, async () => {
    rmSync(dir, { recursive: true, force: true })
    const files = writeTsBlocks(join(root, "README.md"), dir)
    expect(files.length).toBeGreaterThanOrEqual(10)
    const entry = (file: string) => [join(root, "src", file)]
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2024"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(root, "node_modules/@types")],
          // The package's own names, resolved to its source instead of a build.
          paths: {
            "effect-provider-cache": entry("index.ts"),
            "effect-provider-cache/redis": entry("redis.ts"),
            "effect-provider-cache/key-value-store": entry("keyValueStore.ts"),
            "effect-provider-cache/persistence": entry("persistence.ts"),
          },
        },
        files: files.map((file) => file.slice(dir.length + 1)),
      }),
    )
    const tsc = join(root, "node_modules/.bin/tsc")
    const result = await promisify(execFile)(tsc, ["-p", join(dir, "tsconfig.json")], { cwd: root }).then(
      () => "",
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
    )
    // readme-<line>.ts(l,c): the block starts on README line <line>.
    expect(result).toBe("")
  })
})
