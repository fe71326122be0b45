/**
 * Sync: re-reading circuits from Redis and reconciling them with the local ones, at start-up (every circuit the
 * index lists), every `syncInterval`, and when Redis comes back.
 */
import { Clock, Effect, Option } from "effect"
import { circuitFor } from "./redisAdopt.ts"
import { replyOf, undecodable } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"
import { reconcile } from "./redisReconcile.ts"
import * as Scripts from "./redisScripts.ts"

/** Reads every circuit in `ids` and reconciles it with the local circuit. @internal */
export const syncCircuits = (link: RedisLink, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (ids.length === 0) return
    const raw = yield* link.command(link.scripts.read(ids.map((id) => `${link.base}circuit:${id}`)))
    if (Option.isNone(raw)) return
    const replies = raw.value
    if (!Array.isArray(replies) || replies.length !== ids.length) {
      return yield* undecodable(link, undefined, "a sync reply", replies)
    }
    const now = yield* Clock.currentTimeMillis
    for (let i = 0; i < ids.length; i++) {
      const known = link.circuits.get(ids[i]!)
      const snapshot = Scripts.decodeReply(replies[i])
      // A circuit this process does not use yet is created only when it is shared and not Closed-by-default.
      if (known === undefined && (Option.isNone(snapshot) || snapshot.value.snapshot.epoch === 0)) continue
      const circuit = known ?? (yield* circuitFor(link, ids[i]!))
      const reply = yield* replyOf(link, circuit, replies[i])
      if (Option.isSome(reply)) yield* reconcile(link, circuit, reply.value.snapshot, now)
    }
  })

/** Every circuit the process knows. @internal */
export const syncAll = (link: RedisLink): Effect.Effect<void> =>
  Effect.suspend(() => syncCircuits(link, Array.from(link.circuits.keys())))

/** At start-up: every circuit the index lists, so a late process admits nothing an open circuit would reject. @internal */
export const loadIndex = (link: RedisLink): Effect.Effect<void> =>
  Effect.flatMap(link.command(link.redis.send<unknown>("SMEMBERS", link.index)), (raw) => {
    if (Option.isNone(raw)) return Effect.void
    const ids = Scripts.decodeIdList(raw.value)
    if (Option.isNone(ids)) return undecodable(link, undefined, "the circuit index", raw.value)
    return syncCircuits(link, Array.from(new Set([...ids.value, ...link.circuits.keys()])))
  })
