/**
 * Reconciling after a read: what Redis holds is compared with the local circuit, which either pushes a transition
 * Redis never confirmed (or lost), or adopts the shared state.
 */
import type { Effect } from "effect"
import { adopt } from "./redisAdopt.ts"
import type { RedisCircuit } from "./redisCircuit.ts"
import { sendTransition } from "./redisSend.ts"
import type { RedisLink } from "./redisLink.ts"
import type * as Scripts from "./redisScripts.ts"

/** @internal */
export const reconcile = (
  link: RedisLink,
  circuit: RedisCircuit,
  snapshot: Scripts.Snapshot,
  now: number
): Effect.Effect<void> => {
  const unsent = circuit.unsent
  // A local transition Redis never confirmed, still the local state: offered again (the epoch check decides).
  if (unsent !== undefined && unsent.to === circuit.state) {
    return sendTransition(link, unsent.to === "Open" ? { ...unsent, openMillis: circuit.openUntil - now } : unsent)
  }
  circuit.unsent = undefined
  // Redis lost a circuit this process holds open (a restart without persistence): seed it again.
  if (snapshot.epoch === 0 && circuit.epoch > 0 && circuit.state === "Open") {
    return sendTransition(link, {
      _tag: "Transition",
      circuit,
      expectedEpoch: 0,
      to: "Open",
      reason: circuit.forced ? "forcedOpen" : circuit.reason,
      openMillis: circuit.openUntil - now,
      openings: circuit.openings,
      forced: circuit.forced,
      manual: circuit.forced
    })
  }
  return adopt(link, circuit, snapshot)
}
