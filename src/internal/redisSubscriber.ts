/**
 * The subscriber: shared transitions published on the domain's channel are adopted by the local circuits.
 * node-redis' subscriber reconnects by itself; when it gives up, the subscription starts again on a `Schedule` that
 * backs off (each failed attempt is logged by the client) up to `syncInterval`, and a re-sync reads what was missed.
 */
import { Cause, Clock, Deferred, Duration, Effect, Option, Queue, Schedule } from "effect"
import { adopt, circuitFor } from "./redisAdopt.ts"
import { undecodable } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"
import * as Scripts from "./redisScripts.ts"

const FIRST_RETRY_MILLIS = 500

const listen = (link: RedisLink, subscribed: Deferred.Deferred<void>): Effect.Effect<never, unknown> =>
  Effect.gen(function* () {
    const messages = yield* link.redis.subscribe(link.channel)
    yield* Deferred.succeed(subscribed, undefined)
    while (true) {
      const message = yield* Queue.take(messages)
      const decoded = Scripts.decodeMessage(message.message)
      if (Option.isNone(decoded)) {
        yield* undecodable(link, undefined, `a message on ${link.channel}`, message.message)
        continue
      }
      const circuit = yield* circuitFor(link, decoded.value.id)
      yield* adopt(link, circuit, decoded.value.snapshot)
    }
  }).pipe(Effect.scoped)

/**
 * Delays between subscriptions, by how long the last one lasted: doubling from 500 ms up to `cap`, and starting over
 * after a subscription that lasted more than twice the cap.
 */
const resubscription = (cap: number): Schedule.Schedule<number, number> =>
  Schedule.fromStep(
    Effect.sync(() => {
      let failures = 0
      return (_now: number, lastedMillis: number) => {
        failures = lastedMillis > 2 * cap ? 1 : failures + 1
        const delay = Math.min(FIRST_RETRY_MILLIS * 2 ** (failures - 1), cap)
        return Effect.succeed([failures, Duration.millis(delay)] as [number, Duration.Duration])
      }
    })
  )

/** Subscribes, and subscribes again whenever the subscription ends, forever; `subscribed` completes the first time. @internal */
export const subscriber = (link: RedisLink, subscribed: Deferred.Deferred<void>): Effect.Effect<unknown> => {
  // One subscription, until it ends: how long it lasted (an interruption ends everything).
  const once = Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(listen(link, subscribed))
    if (exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
    link.resyncRequested = true
    return (yield* Clock.currentTimeMillis) - started
  })
  return Effect.repeat(once, resubscription(Math.max(link.settings.syncMillis, FIRST_RETRY_MILLIS)))
}
