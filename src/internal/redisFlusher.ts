/**
 * The flusher: the batches of Closed-era outcomes of the circuits that counted any go to Redis, a bounded slice of
 * circuits per script call, which adds them to the shared aggregate and trips a circuit when the aggregate crosses
 * the policy's thresholds.
 */
import { Clock, Effect, Option } from "effect"
import type { Policy } from "./circuit.ts"
import { adopt } from "./redisAdopt.ts"
import { FLUSH_BATCH, inSlices } from "./redisBatches.ts"
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

/** A batch taken from its circuit and sent: put back into the circuit when Redis did not answer. */
interface Sent {
  readonly circuit: RedisCircuit
  readonly generation: number
  readonly successes: number
  readonly failures: number
  readonly slow: number
  readonly trailing: number
  readonly sawSuccess: boolean
}

/**
 * Puts a batch Redis did not confirm back in front of what its circuit counted since, to be sent again; dropped only
 * when the circuit left the Closed era it was counted in (it would not count any more).
 */
const putBack = (link: RedisLink, sent: Sent): void => {
  const circuit = sent.circuit
  if (circuit.state !== "Closed" || circuit.generation !== sent.generation) return
  if (circuit.batchGeneration !== sent.generation) circuit.clearBatch(sent.generation)
  circuit.batchSuccesses += sent.successes
  circuit.batchFailures += sent.failures
  circuit.batchSlow += sent.slow
  if (!circuit.sawSuccess) circuit.trailing += sent.trailing
  circuit.sawSuccess ||= sent.sawSuccess
  if (circuit.dirty) return
  circuit.dirty = true
  link.dirty.push(circuit)
}

/** Takes the batch of `circuit` for sending, or none when it holds nothing that still counts. */
const take = (circuit: RedisCircuit): Sent | undefined => {
  circuit.dirty = false
  const generation = circuit.generation
  const sent =
    circuit.state === "Closed" &&
    circuit.batchGeneration === generation &&
    circuit.batchSuccesses + circuit.batchFailures > 0
      ? {
          circuit,
          generation,
          successes: circuit.batchSuccesses,
          failures: circuit.batchFailures,
          slow: circuit.batchSlow,
          trailing: circuit.trailing,
          sawSuccess: circuit.sawSuccess
        }
      : undefined
  circuit.clearBatch(generation)
  return sent
}

/** Sends the batches of at most `FLUSH_BATCH` circuits in one script call. */
const flushSlice = (
  link: RedisLink,
  args: ReadonlyArray<number>,
  slice: ReadonlyArray<RedisCircuit>
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    // Redis went down during this flush: the batches wait, whole, in their circuits.
    if (link.down) {
      for (const circuit of slice) link.dirty.push(circuit)
      return Effect.void
    }
    const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    const sent: Array<Sent> = []
    const keys: Array<string> = []
    const batches: Array<string | number> = []
    for (const circuit of slice) {
      const batch = take(circuit)
      if (batch === undefined) continue
      const openings = circuit.nextOpenings(now)
      keys.push(circuit.key, circuit.trialsKey)
      batches.push(
        circuit.id,
        String(circuit.epoch),
        batch.successes,
        batch.failures,
        batch.slow,
        batch.trailing,
        batch.sawSuccess ? 1 : 0,
        Math.max(1, Math.ceil(circuit.openingMillisFor(openings, undefined))),
        openings
      )
      circuit.pending++
      sent.push(batch)
    }
    if (sent.length === 0) return Effect.void
    const flush = link.scripts.flush(
      link.index,
      link.active,
      keys,
      link.channel,
      link.settings.idleMillis,
      args,
      batches
    )
    return Effect.flatMap(link.command(flush), (raw) => {
      for (const batch of sent) batch.circuit.pending--
      if (Option.isNone(raw)) {
        for (const batch of sent) putBack(link, batch)
        return Effect.void
      }
      const replies = raw.value
      if (!Array.isArray(replies) || replies.length !== sent.length) {
        return undecodable(link, undefined, "a flush reply", replies)
      }
      return Effect.forEach(
        sent,
        ({ circuit }, i) =>
          Effect.flatMap(replyOf(link, circuit, replies[i]), (reply) =>
            Option.isNone(reply) ? Effect.void : adopt(link, circuit, reply.value.snapshot)
          ),
        { discard: true }
      )
    })
  })

/**
 * Sends every dirty circuit's batch, `FLUSH_BATCH` circuits per script call. A batch Redis did not confirm (an error,
 * a timeout) goes back into its circuit and is sent with the next flush once Redis answers again.
 *
 * @internal
 */
export const flushBatches = (link: RedisLink): Effect.Effect<void> => {
  const args = policyArgs(link.policy)
  return Effect.suspend(() =>
    link.dirty.length === 0
      ? Effect.void
      : inSlices(link.dirty.splice(0, link.dirty.length), FLUSH_BATCH, (slice) => flushSlice(link, args, slice))
  )
}
