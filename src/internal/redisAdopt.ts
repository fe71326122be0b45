/**
 * Applying the shared state to local circuits: a snapshot newer than what the process has seen is adopted, and the
 * transitions it causes are published by the breaker as for local ones.
 */
import { Clock, Effect } from "effect"
import { adoptShared } from "./circuitStore.ts"
import type { RedisCircuit } from "./redisCircuit.ts"
import type { RedisLink } from "./redisLink.ts"
import type * as Scripts from "./redisScripts.ts"

/** @internal */
export const adopt = (link: RedisLink, circuit: RedisCircuit, snapshot: Scripts.Snapshot): Effect.Effect<void> => {
  if (snapshot.epoch <= circuit.epoch) return Effect.void
  circuit.epoch = snapshot.epoch
  circuit.unsent = undefined
  const { forced, openings, remaining, state } = snapshot
  // An opening that is over is what a local HalfOpen already is.
  if (state === "Open" && !forced && remaining <= 0 && circuit.state === "HalfOpen") return Effect.void
  const reason =
    snapshot.reason ?? (state === "Closed" ? "manualClose" : state === "HalfOpen" ? "resetTimeout" : "failureThreshold")
  return Effect.withFiber((fiber) => {
    const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    adoptShared(circuit, { state, remainingMillis: remaining, openings, forced, reason }, now)
    return link.host.publishAdopted
  })
}

/** The local circuit `id`, created (and registered with the store) if the process does not use it yet. @internal */
export const circuitFor = (link: RedisLink, id: string): Effect.Effect<RedisCircuit> =>
  Effect.sync(() => {
    link.host.circuit(id)
    return link.circuits.get(id)!
  })
