/**
 * The job runner: local transitions, trial outcomes and first reads go to Redis one at a time, in the order the
 * local circuits produced them. While Redis is down a transition is kept for the re-sync; a read or a trial report
 * is dropped (its lease expires).
 */
import { Clock, Effect, Option, Queue } from "effect"
import type { Job, ReadJob } from "./redisCircuit.ts"
import { replyOf } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"
import { reconcile } from "./redisReconcile.ts"
import { reportTrial, sendTransition } from "./redisSend.ts"

const read = (link: RedisLink, job: ReadJob): Effect.Effect<void> =>
  Effect.gen(function* () {
    const circuit = job.circuit
    const raw = yield* link.command(link.scripts.read([circuit.key]))
    if (Option.isNone(raw)) return
    const reply = yield* replyOf(link, circuit, Array.isArray(raw.value) ? raw.value[0] : raw.value)
    if (Option.isNone(reply)) return
    yield* reconcile(link, circuit, reply.value.snapshot, yield* Clock.currentTimeMillis)
  })

const run = (link: RedisLink, job: Job): Effect.Effect<void> => {
  if (link.down) {
    return Effect.sync(() => {
      if (job._tag === "Transition") job.circuit.unsent = job
    })
  }
  switch (job._tag) {
    case "Read":
      return read(link, job)
    case "Transition":
      return sendTransition(link, job)
    case "Trial":
      return reportTrial(link, job)
  }
}

/** Runs the jobs of the queue forever, one at a time. @internal */
export const runJobs = (link: RedisLink): Effect.Effect<never> =>
  Effect.forever(Effect.flatMap(Queue.take(link.jobs), (job) => run(link, job)))
