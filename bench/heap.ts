/**
 * Heap measurement for the memory cases. Needs `--expose-gc`, which the runner passes to every case process.
 */
import { getHeapStatistics } from "node:v8"

/** A full, synchronous collection (twice: the first may leave what finalizers released for the second). */
export const collectGarbage = (): void => {
  if (globalThis.gc === undefined) throw new Error("run through `npm run bench`: the case needs --expose-gc")
  globalThis.gc()
  globalThis.gc()
}

/** Bytes of live objects on the V8 heap (all spaces, large objects included) after a full collection. */
export const liveHeapBytes = (): number => {
  collectGarbage()
  return getHeapStatistics().used_heap_size
}

/**
 * Fresh, flat one-byte strings (sequential, not cons or sliced ones that point into others), so that the
 * bytes a string costs are its own: `Buffer#toString("latin1")` copies into a new sequential string.
 */
export const flatStrings = (width: number, fill: string) => {
  const scratch = Buffer.alloc(width, fill, "latin1")
  return (prefix: string, i: number): string => {
    const written = scratch.write(prefix + String(i).padStart(7, "0"), 0, "latin1")
    scratch.fill(fill, written)
    return scratch.toString("latin1", 0, width)
  }
}
