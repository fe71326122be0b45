/**
 * What a process sends about its own circuits, one command each: a local transition, the outcome of a trial.
 */
import { Effect, Option } from "effect"
import { adopt } from "./redisAdopt.ts"
import type { TransitionJob, TrialJob } from "./redisCircuit.ts"
import { replyOf } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"

/**
 * Sends a local transition as a compare-and-set on the shared epoch; a newer shared state is adopted instead.
 *
 * @internal
 */
export const sendTransition = (link: RedisLink, job: TransitionJob): Effect.Effect<void> => {
  const circuit = job.circuit
  return Effect.flatMap(
    link.command(
      link.scripts.transition(link.keys(circuit), {
        channel: link.channel,
        idleMillis: link.settings.idleMillis,
        id: circuit.id,
        expectedEpoch: String(job.expectedEpoch),
        to: job.to,
        reason: job.reason,
        openMillis: job.forced ? 0 : Math.max(1, Math.ceil(job.openMillis)),
        openings: job.openings,
        forced: job.forced,
        manual: job.manual
      })
    ),
    (raw) => {
      if (Option.isNone(raw)) {
        circuit.unsent = job
        return Effect.void
      }
      if (circuit.unsent === job) circuit.unsent = undefined
      return Effect.flatMap(replyOf(link, circuit, raw.value), (reply) => {
        if (Option.isNone(reply)) return Effect.void
        if (reply.value.status === "applied") {
          circuit.epoch = Math.max(circuit.epoch, reply.value.snapshot.epoch)
          return Effect.void
        }
        return adopt(link, circuit, reply.value.snapshot)
      })
    }
  )
}

/** Reports the outcome of a trial that held a lease; the shared state it leads to is adopted. @internal */
export const reportTrial = (link: RedisLink, job: TrialJob): Effect.Effect<void> => {
  const circuit = job.circuit
  return Effect.flatMap(
    link.command(
      link.scripts.trial(link.keys(circuit), {
        channel: link.channel,
        idleMillis: link.settings.idleMillis,
        id: circuit.id,
        token: job.token,
        outcome: job.outcome,
        successThreshold: link.policy.successThreshold,
        openMillis: Math.max(1, Math.ceil(job.openMillis)),
        openings: job.openings
      })
    ),
    (raw) =>
      Option.isNone(raw)
        ? Effect.void
        : Effect.flatMap(replyOf(link, circuit, raw.value), (reply) =>
            Option.isNone(reply) ? Effect.void : adopt(link, circuit, reply.value.snapshot)
          )
  )
}
