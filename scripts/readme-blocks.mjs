// The README's ```ts blocks as standalone modules, for the test that type-checks them against the source
// (test/readme.test.ts) and for the consumer test that type-checks them against the packed package
// (scripts/consumer-test.mjs). Each block must compile on its own: its imports and `declare const`s are
// part of it, so what a reader copies is what was checked.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/** Every ```ts block of a Markdown text, with the line its code starts on. */
export const extractTsBlocks = (markdown) => {
  const blocks = []
  const lines = markdown.split("\n")
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue
    const start = i + 1
    let end = start
    while (end < lines.length && lines[end].trim() !== "```") end++
    if (end === lines.length) throw new Error(`README line ${i + 1}: unterminated \`\`\`ts block`)
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") })
    i = end
  }
  return blocks
}

/**
 * Writes each block of `readmePath` to `<dir>/readme-<line>.ts`, with `export {}` appended so that a block
 * without imports is a module too. Returns the file names.
 */
export const writeTsBlocks = (readmePath, dir) => {
  mkdirSync(dir, { recursive: true })
  return extractTsBlocks(readFileSync(readmePath, "utf8")).map(({ line, code }) => {
    const file = join(dir, `readme-${line}.ts`)
    writeFileSync(file, `${code}\nexport {}\n`)
    return file
  })
}
