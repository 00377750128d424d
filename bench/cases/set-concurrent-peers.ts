/**
 * The peer rows of `set-concurrent` (`set-concurrent peer: bentocache`, `… peer: cache-manager`): its loops
 * through each peer on its own keys, beside ours and the raw clients, in a process of its own (why:
 * `peerCase` in `../workload.ts`).
 */
import { peerCase } from "../workload.js"
import { setWorkload } from "./set-concurrent.js"

export const setConcurrentPeers = peerCase(setWorkload)
