#!/usr/bin/env node
// The package as a stranger gets it: `npm pack`, then a fresh project outside this repository that installs
// the tarball with only its peers, and checks that
//   (a) plain `node` can import it as ESM and run a program on MemoryCache, without loading ioredis;
//   (b) `require()` works (Node 20.19+ loads our ESM through require(esm): no top-level await anywhere);
//   (c) TypeScript 5.9 type-checks every ```ts block of the README against the published .d.ts, under
//       moduleResolution NodeNext and Bundler, each with and without skipLibCheck.
// It also prints the installed size of a memory-only consumer. Any failure exits non-zero (CI fails).
// Run by .ci/run after `npm test`; by hand: `npm run test:consumer` (KEEP=1 keeps the temporary project).
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { writeTsBlocks } from "./readme-blocks.mjs"

const repo = fileURLToPath(new URL("..", import.meta.url))
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"))
const work = mkdtempSync(join(tmpdir(), "effect-provider-cache-consumer-"))
const consumer = join(work, "consumer")
const TYPESCRIPT = "typescript@~5.9.0"

const run = (command, args, cwd, options = {}) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options })

let failures = 0
const step = (name, body) => {
  const start = performance.now()
  try {
    const detail = body()
    console.log(
      `ok   ${name} (${((performance.now() - start) / 1000).toFixed(1)} s)${detail ? `\n     ${detail}` : ""}`,
    )
  } catch (error) {
    failures++
    console.log(`FAIL ${name}`)
    console.log(String(error.stdout ?? "") + String(error.stderr ?? "") || String(error))
  }
}

const installedSize = () => {
  const parseable = run("npm", ["ls", "--all", "--parseable"], consumer).trim().split("\n")
  const kb = Number(run("du", ["-sk", "node_modules"], consumer).split("\t")[0])
  return { packages: parseable.length - 1, mb: kb / 1024 }
}

let tarball
step("npm pack (builds dist/ through prepack)", () => {
  const [info] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], repo))
  tarball = join(work, info.filename)
  const files = info.files.map((f) => f.path)
  const stray = files.filter((f) => /^(test|bench|examples|scripts)\//.test(f))
  if (stray.length > 0) throw new Error(`the tarball ships ${stray.join(", ")}`)
  for (const needed of ["LICENSE", "README.md", "dist/index.js", "dist/index.d.ts", "dist/index.d.ts.map"]) {
    if (!files.includes(needed)) throw new Error(`the tarball lacks ${needed}`)
  }
  return `${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed`
})
if (tarball === undefined) process.exit(1)

step("install the tarball into a fresh project (npm adds the peer `effect`)", () => {
  run("mkdir", ["-p", consumer])
  writeFileSync(
    join(consumer, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
  )
  run("npm", ["install", "--no-audit", "--no-fund", tarball], consumer)
  const { packages, mb } = installedSize()
  const effect = JSON.parse(readFileSync(join(consumer, "node_modules/effect/package.json"), "utf8")).version
  return `memory-only consumer: ${packages} packages, ${mb.toFixed(1)} MB in node_modules (effect ${effect})`
})

// A program on the in-memory layer, then proof that the root entry did not load ioredis while the redis
// entry does (the same check both ways, so a check that cannot see ioredis would fail the second half).
const program = (load) => `
const { Cache, MemoryCache } = ${load("effect-provider-cache")}
const { Duration, Effect, Option, TestClock, TestContext } = ${load("effect")}
const loadedIoredis = () => Object.keys(require.cache).some((path) => path.includes("/node_modules/ioredis/"))
const expect = (what, ok) => {
  if (!ok) {
    console.error("unexpected: " + what)
    process.exit(1)
  }
}
const program = Effect.gen(function* () {
  const cache = yield* Cache
  yield* cache.set("greeting", "hello", { ttl: "1 minute" })
  yield* cache.setMany([["a", "1"], ["b", "2", { ttl: "1 second" }]])
  const visits = yield* cache.increment("visits", 2)
  yield* TestClock.adjust(Duration.seconds(2))
  const many = yield* cache.getMany(["greeting", "a", "b"])
  return { greeting: yield* cache.get("greeting"), visits, many }
})
Effect.runPromise(program.pipe(Effect.provide(MemoryCache.layer()), Effect.provide(TestContext.TestContext))).then(
  async (result) => {
    expect("get", Option.getOrNull(result.greeting) === "hello")
    expect("increment", result.visits === 2)
    expect("per-entry ttl", Option.isSome(result.many.get("a")) && Option.isNone(result.many.get("b")))
    expect("ioredis loaded by the root entry", !loadedIoredis())
    const { RedisCache } = ${load("effect-provider-cache/redis")}
    expect("RedisCache.layer", typeof RedisCache.layer === "function")
    expect("ioredis not loaded by the redis entry", loadedIoredis())
    console.log("program ran; ioredis loaded only by effect-provider-cache/redis")
  },
)
`

step("(a) node: ESM import and a program on MemoryCache", () => {
  writeFileSync(
    join(consumer, "esm.mjs"),
    `import { createRequire } from "node:module"\nconst require = createRequire(import.meta.url)\n${program(
      (name) => `await import("${name}")`,
    )}`,
  )
  return run("node", ["esm.mjs"], consumer).trim()
})

step("(b) node: require() of the package (require(esm), Node >= 20.19)", () => {
  writeFileSync(
    join(consumer, "cjs.cjs"),
    program((name) => `require("${name}")`),
  )
  return run("node", ["cjs.cjs"], consumer).trim()
})

step(
  `(c) install ${TYPESCRIPT}, @types/node, the adapters' optional peers and the README's OpenTelemetry packages`,
  () => {
    // The README's OpenTelemetry example imports these too, at the versions this repository tests with.
    const readmeExtras = [
      "@effect/opentelemetry",
      "@opentelemetry/sdk-metrics",
      "@opentelemetry/sdk-trace-base",
    ]
    const peers = Object.entries(pkg.peerDependencies)
      .filter(([name]) => name !== "effect")
      .map(([name, range]) => `${name}@${range}`)
      .concat(readmeExtras.map((name) => `${name}@${pkg.devDependencies[name]}`))
    run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--save-dev", TYPESCRIPT, "@types/node@^20", ...peers],
      consumer,
    )
    return `typescript ${JSON.parse(readFileSync(join(consumer, "node_modules/typescript/package.json"), "utf8")).version}; ${peers.join(", ")}`
  },
)

const blocks = writeTsBlocks(join(repo, "README.md"), join(consumer, "readme"))
for (const moduleResolution of ["NodeNext", "Bundler"]) {
  for (const skipLibCheck of [false, true]) {
    const name = `tsconfig.${moduleResolution.toLowerCase()}${skipLibCheck ? ".skiplibcheck" : ""}.json`
    writeFileSync(
      join(consumer, name),
      `${JSON.stringify(
        {
          // No `lib`: the default for the target, so nothing of ES2024 (e.g. String#isWellFormed) exists.
          compilerOptions: {
            target: "ES2022",
            module: moduleResolution === "NodeNext" ? "NodeNext" : "ESNext",
            moduleResolution,
            strict: true,
            noEmit: true,
            skipLibCheck,
          },
          include: ["readme/*.ts"],
        },
        null,
        2,
      )}\n`,
    )
    step(`(c) tsc ${moduleResolution}, skipLibCheck ${skipLibCheck}: ${blocks.length} README blocks`, () => {
      run(join(consumer, "node_modules/.bin/tsc"), ["-p", name], consumer)
    })
  }
}

if (process.env.KEEP) console.log(`kept ${work}`)
else rmSync(work, { recursive: true, force: true })
if (failures > 0) {
  console.log(`consumer test: ${failures} step(s) failed`)
  process.exit(1)
}
console.log("consumer test: all steps passed")
