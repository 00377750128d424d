/**
 * What each published entry point loads, read from the import graph of the source: the root must not reach
 * ioredis or the optional peers (a memory-only program would then need them installed), and every package
 * the source imports must be a dependency or a peer. `scripts/consumer-test.mjs` checks the same on the
 * packed package at run time.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; default: string }>
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^"']*?\sfrom\s+)?["']([^"']+)["']/g

/** The packages an entry's module graph imports (value imports only, or all with `types`). */
const packagesOf = (entry: string, kind: "runtime" | "all"): Set<string> => {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    // Doc comments hold example imports; only code counts.
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "")
    for (const [, typeOnly, specifier] of code.matchAll(IMPORT)) {
      if (typeOnly !== undefined && kind === "runtime") continue
      if (specifier!.startsWith(".")) visit(join(dirname(file), specifier!.replace(/\.js$/, ".ts")))
      else if (!specifier!.startsWith("node:")) {
        const parts = specifier!.split("/")
        packages.add(specifier!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!)
      }
    }
  }
  visit(join(root, entry))
  return packages
}

/** The source file of each `exports` entry: `./dist/x.js` is built from `src/x.ts`. */
const entries = Object.entries(pkg.exports)
  .filter(([name]) => name !== "./package.json")
  .map(([name, target]) => {
    const js = typeof target === "string" ? target : target.default
    return [name, js.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")] as const
  })

describe("entry points", () => {
  it("every export has a source file, .d.ts next to its .js", () => {
    expect(entries.map(([name]) => name)).toStrictEqual([
      ".",
      "./redis",
      "./key-value-store",
      "./persistence",
    ])
    for (const [name, source] of entries) {
      expect(() => readFileSync(join(root, source)), name).not.toThrow()
      const target = pkg.exports[name] as { types: string; default: string }
      expect(target.types).toBe(target.default.replace(/\.js$/, ".d.ts"))
    }
  })

  const graph = Object.fromEntries(
    entries.map(([name, source]) => [
      name,
      { runtime: packagesOf(source, "runtime"), all: packagesOf(source, "all") },
    ]),
  )

  it("the root loads effect only: no ioredis, no optional peer, not even their types", () => {
    expect([...graph["."]!.all]).toStrictEqual(["effect"])
  })

  it("ioredis is reached from effect-provider-cache/redis, and from no other entry", () => {
    expect(graph["./redis"]!.runtime.has("ioredis")).toBe(true)
    for (const name of [".", "./key-value-store", "./persistence"]) {
      expect(graph[name]!.all.has("ioredis"), name).toBe(false)
    }
  })

  it("each adapter reaches only its own optional peers", () => {
    expect([...graph["./key-value-store"]!.all].sort()).toStrictEqual(["@effect/platform", "effect"])
    expect([...graph["./persistence"]!.all].sort()).toStrictEqual(["@effect/experimental", "effect"])
  })

  it("dependencies are exactly what src imports beyond its peers", () => {
    const imported = new Set(Object.values(graph).flatMap((g) => [...g.all]))
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)])
    expect([...imported].filter((name) => !declared.has(name))).toStrictEqual([])
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toStrictEqual([])
    expect(Object.keys(pkg.peerDependenciesMeta).sort()).toStrictEqual([
      "@effect/experimental",
      "@effect/platform",
    ])
  })

  it("the module graph is read from code, not from the examples in doc comments", () => {
    expect(packagesOf("src/Cache.ts", "all")).toStrictEqual(new Set(["effect"]))
  })
})
