/**
 * The flusher: the batches of Closed-era outcomes go to Redis in one script call, which adds them to the shared
 * aggregate and trips a circuit when the aggregate crosses the policy's thresholds.
 */
import { Clock, Effect, Option } from "effect"
import type { Policy } from "./circuit.ts"
import { adopt } from "./redisAdopt.ts"
import type { RedisCircuit } from "./redisCircuit.ts"
import { replyOf, undecodable } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"

/** The policy as the flush script reads it: thresholds, rate thresholds (0 = off), and the window (kind, size). */
const policyArgs = (policy: Policy): ReadonlyArray<number> => {
  const window = policy.window
  return [
    policy.failureThreshold,
    policy.failureRate?.threshold ?? 0,
    policy.failureRate?.minimumCalls ?? 0,
    policy.slowCall?.rateThreshold ?? 0,
    policy.slowCall?.minimumCalls ?? 0,
    window === undefined ? 0 : window._tag === "Count" ? 1 : 2,
    window === undefined ? 0 : window._tag === "Count" ? window.size : window.millis
  ]
}

/** Sends every dirty circuit's batch. @internal */
export const flushBatches = (link: RedisLink): Effect.Effect<void> => {
  const args = policyArgs(link.policy)
  return Effect.withFiber((fiber) => {
    const dirty = link.dirty
    if (dirty.length === 0) return Effect.void
    const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    const sent: Array<RedisCircuit> = []
    const keys: Array<string> = []
    const batches: Array<string | number> = []
    for (const circuit of dirty.splice(0, dirty.length)) {
      circuit.dirty = false
      if (
        circuit.state === "Closed" &&
        circuit.batchGeneration === circuit.generation &&
        circuit.batchSuccesses + circuit.batchFailures > 0
      ) {
        const openings = circuit.nextOpenings(now)
        keys.push(circuit.key, circuit.trialsKey)
        batches.push(
          circuit.id,
          String(circuit.epoch),
          circuit.batchSuccesses,
          circuit.batchFailures,
          circuit.batchSlow,
          circuit.trailing,
          circuit.sawSuccess ? 1 : 0,
          Math.max(1, Math.ceil(circuit.openingMillisFor(openings, undefined))),
          openings
        )
        sent.push(circuit)
      }
      circuit.clearBatch(circuit.generation)
    }
    if (sent.length === 0) return Effect.void
    const flush = link.scripts.flush(link.index, keys, link.channel, link.settings.idleMillis, args, batches)
    return Effect.flatMap(link.command(flush), (raw) => {
      if (Option.isNone(raw)) return Effect.void
      const replies = raw.value
      if (!Array.isArray(replies) || replies.length !== sent.length) {
        return undecodable(link, undefined, "a flush reply", replies)
      }
      return Effect.forEach(
        sent,
        (circuit, i) =>
          Effect.flatMap(replyOf(link, circuit, replies[i]), (reply) =>
            Option.isNone(reply) ? Effect.void : adopt(link, circuit, reply.value.snapshot)
          ),
        { discard: true }
      )
    })
  })
}
