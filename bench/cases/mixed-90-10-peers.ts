/**
 * The peer rows of `mixed-90-10` (`mixed-90-10 peer: bentocache`, `… peer: cache-manager`): its loops
 * through each peer on its own keys, beside ours and the raw clients, in a process of its own (why:
 * `peerCase` in `../workload.ts`).
 */
import { peerCase } from "../workload.js"
import { mixedWorkload } from "./mixed-90-10.js"

export const mixed9010Peers = peerCase(mixedWorkload)
