/**
 * The job runner: local transitions, trial outcomes and first reads go to Redis one job at a time, in the order the
 * local circuits produced them (a `Read` job reads every circuit created since the previous one, in bounded batches).
 * While Redis is down a transition is kept for the re-sync; a read (the re-sync reads the circuit) or a trial report
 * (its lease expires) is dropped.
 */
import { Effect, Queue } from "effect"
import type { Job } from "./redisCircuit.ts"
import type { RedisLink } from "./redisLink.ts"
import { reportTrial, sendTransition } from "./redisSend.ts"
import { firstReads } from "./redisSync.ts"

const run = (link: RedisLink, job: Job): Effect.Effect<void> => {
  if (job._tag === "Read") return firstReads(link)
  const sent = link.down
    ? Effect.sync(() => {
        if (job._tag === "Transition") job.circuit.unsent = job
      })
    : job._tag === "Transition"
      ? sendTransition(link, job)
      : reportTrial(link, job)
  return Effect.ensuring(
    sent,
    Effect.sync(() => {
      job.circuit.pending--
    })
  )
}

/** Runs the jobs of the queue forever, one at a time. @internal */
export const runJobs = (link: RedisLink): Effect.Effect<never> =>
  Effect.forever(Effect.flatMap(Queue.take(link.jobs), (job) => run(link, job)))
