/**
 * The ticker: every `flushInterval`, a PING after a command got no reply in time (is Redis down, or was the process
 * late?) and while Redis is down (noticing when it is back), a re-sync and a pruning of
 * the index when one is due, and the flush of the outcome batches.
 */
import { Clock, Effect, Schedule } from "effect"
import { keepFingerprint } from "./redisFingerprint.ts"
import { flushBatches } from "./redisFlusher.ts"
import type { RedisLink } from "./redisLink.ts"
import { prune, syncAll, syncInUse } from "./redisSync.ts"

/** @internal */
export const tick = (link: RedisLink): Effect.Effect<void> =>
  Effect.gen(function* () {
    yield* link.confirm()
    if (link.down) {
      yield* link.command(link.redis.send("PING"))
      if (link.down) return
    }
    const now = yield* Clock.currentTimeMillis
    if (link.resyncRequested || now >= link.nextSync) {
      const all = link.resyncRequested
      link.resyncRequested = false
      link.nextSync = now + link.settings.syncMillis
      yield* all ? syncAll(link) : syncInUse(link)
      yield* keepFingerprint(link)
      yield* prune(link)
    }
    yield* flushBatches(link)
  })

/** Ticks every `flushInterval`, the first one interval after the start, forever. @internal */
export const ticker = (link: RedisLink): Effect.Effect<unknown> => {
  const interval = link.settings.flushMillis
  return Effect.andThen(Effect.sleep(interval), Effect.repeat(tick(link), Schedule.spaced(interval)))
}
