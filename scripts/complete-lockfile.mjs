#!/usr/bin/env node
// The npm registry this project's machines reach serves only the platform packages of this machine
// (linux x64): `npm install` then writes a lock file without the other platforms' optional packages
// (@esbuild/darwin-arm64, @rollup/rollup-win32-x64-msvc, …), and `npm ci` refuses that lock file as out of
// sync. This adds the missing entries, with the os/cpu/libc that npm reads to skip them without fetching.
// Run it after every `npm install` that changes the lock file: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs"

const path = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(path, "utf8"))
const packages = lock.packages

const OS = [
  "darwin",
  "linux",
  "win32",
  "android",
  "freebsd",
  "openbsd",
  "netbsd",
  "sunos",
  "aix",
  "openharmony",
]
const CPU = [
  ["arm64", "arm64"],
  ["aarch64", "arm64"],
  ["x64", "x64"],
  ["x86_64", "x64"],
  ["ia32", "ia32"],
  ["arm", "arm"],
  ["ppc64", "ppc64"],
  ["s390x", "s390x"],
  ["riscv64", "riscv64"],
  ["loong64", "loong64"],
  ["mips64el", "mips64el"],
]

const platformOf = (name) => {
  const base = name.split("/").pop()
  const parts = base.split(/[-_]/)
  const os = OS.find(
    (o) =>
      parts.includes(o) ||
      (o === "win32" && parts.includes("windows")) ||
      (o === "darwin" && parts.includes("macos")),
  )
  const cpu = CPU.find(([token]) => parts.includes(token))?.[1]
  const libc = parts.includes("musl")
    ? "musl"
    : parts.includes("gnu") || parts.includes("gnueabihf")
      ? "glibc"
      : undefined
  return { os, cpu, libc }
}

let added = 0
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location === "" ? "" : `${location}/`}node_modules/${name}`
    if (packages[nested] !== undefined || packages[`node_modules/${name}`] !== undefined) continue
    const { os, cpu, libc } = platformOf(name)
    if (os === undefined && cpu === undefined) continue // not a platform package: leave it to npm
    if (os === process.platform && cpu === process.arch && libc !== "musl") continue // this machine's: npm has it
    const version = spec.replace(/^[\^~=]/, "")
    packages[`node_modules/${name}`] = {
      version,
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
    }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
)
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`complete-lockfile: added ${added} platform entries`)
