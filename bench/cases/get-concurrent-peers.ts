/**
 * The peer rows of `get-concurrent` (`get-concurrent peer: bentocache`, `… peer: cache-manager`): its loops
 * through each peer on its own keys, beside ours and the raw clients, in a process of its own (why:
 * `peerCase` in `../workload.ts`).
 */
import { peerCase } from "../workload.js"
import { getWorkload } from "./get-concurrent.js"

export const getConcurrentPeers = peerCase(getWorkload)
