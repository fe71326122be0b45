/**
 * Sync: re-reading circuits from Redis and reconciling them with the local ones: at start-up (the circuits the
 * process knows, and every circuit the active index lists as not Closed), when a circuit is first used, every
 * `syncInterval` (the circuits in use, and a bounded slice of the others in turn) and when Redis comes back (every
 * circuit the process knows). Every read carries at most `READ_BATCH` circuits; the index is pruned of expired circuits, a bounded number of entries per sync.
 */
import { Clock, Effect, Option } from "effect"
import { INDEX_PAGE, inSlices, PRUNE_STEPS, READ_BATCH, ROTATION } from "./redisBatches.ts"
import { circuitFor } from "./redisAdopt.ts"
import { replyOf, undecodable } from "./redisDecode.ts"
import type { RedisLink } from "./redisLink.ts"
import { reconcile } from "./redisReconcile.ts"
import * as Scripts from "./redisScripts.ts"

/** Reads the circuits `ids` (at most `READ_BATCH`) in one script call and reconciles them with the local ones. */
const syncSlice = (link: RedisLink, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (ids.length === 0 || link.down) return
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

/** Reads every circuit in `ids`, `READ_BATCH` per script call, and reconciles each with the local circuit. @internal */
export const syncCircuits = (link: RedisLink, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  inSlices(ids, READ_BATCH, (slice) => syncSlice(link, slice))

/** Every circuit the process knows: after an outage, or a subscription that ended. @internal */
export const syncAll = (link: RedisLink): Effect.Effect<void> =>
  Effect.suspend(() => {
    for (const circuit of link.circuits.values()) circuit.used = false
    return syncCircuits(link, Array.from(link.circuits.keys()))
  })

/**
 * Every `syncInterval`: the circuits that recorded an outcome since the last sync, those not Closed, those with a
 * transition Redis has not confirmed, and the next `ROTATION` of the others in turn (a cursor goes round the circuits
 * the process holds). So a message this process missed (its subscription was being re-made when it was published)
 * is caught up within `syncInterval` for a circuit in use, and within one round of the cursor for any other, while a
 * sync reads a bounded number of circuits however many the process holds.
 *
 * @internal
 */
export const syncInUse = (link: RedisLink): Effect.Effect<void> =>
  Effect.suspend(() => {
    const inUse = new Set<string>()
    for (const circuit of link.circuits.values()) {
      if (circuit.used || circuit.state !== "Closed" || circuit.unsent !== undefined) inUse.add(circuit.id)
      circuit.used = false
    }
    const ids = Array.from(inUse)
    for (let turn = 0; turn < ROTATION; turn++) {
      const next = (link.syncCursor ??= link.circuits.values()).next()
      if (next.done === true) {
        // Round done: the next sync starts a new one (a fresh cursor holds no table the map has outgrown).
        link.syncCursor = undefined
        break
      }
      if (!inUse.has(next.value.id)) ids.push(next.value.id)
    }
    return syncCircuits(link, ids)
  })

/** The first read of every circuit created since the last one (the `Read` job). @internal */
export const firstReads = (link: RedisLink): Effect.Effect<void> =>
  Effect.suspend(() => {
    const circuits = link.unread.splice(0, link.unread.length)
    return Effect.ensuring(
      syncCircuits(
        link,
        circuits.map((circuit) => circuit.id)
      ),
      Effect.sync(() => {
        for (const circuit of circuits) circuit.pending--
      })
    )
  })

/** The ids of the active index, a page of `INDEX_PAGE` per command; none when Redis did not answer. */
const activeIds = (link: RedisLink): Effect.Effect<Option.Option<ReadonlyArray<string>>> =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    while (true) {
      const from = ids.length
      const raw = yield* link.command(
        link.redis.send<unknown>("ZRANGE", link.active, String(from), String(from + INDEX_PAGE - 1))
      )
      if (Option.isNone(raw)) return Option.none()
      const page = Scripts.decodeIdList(raw.value)
      if (Option.isNone(page)) {
        yield* undecodable(link, undefined, "the active circuit index", raw.value)
        return Option.none()
      }
      ids.push(...page.value)
      if (page.value.length < INDEX_PAGE) return Option.some(ids)
    }
  })

/**
 * At start-up: the circuits the process knows and every circuit the active index lists (the shared circuits not
 * Closed), so that a late process admits nothing an open circuit would reject. A Closed circuit is read when the
 * process first uses it. The set of ids of versions before 0.3.0 (`circuits`) is unlinked.
 *
 * @internal
 */
export const loadActive = (link: RedisLink): Effect.Effect<void> =>
  Effect.gen(function* () {
    yield* link.command(link.redis.send("UNLINK", `${link.base}circuits`))
    const active = yield* activeIds(link)
    const ids = Option.getOrElse(active, () => [])
    yield* syncCircuits(link, Array.from(new Set([...ids, ...link.circuits.keys()])))
  })

/** Removes the entries of expired circuits from both indexes, at most `PRUNE_STEPS` script calls. @internal */
export const prune = (link: RedisLink): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let step = 0; step < PRUNE_STEPS; step++) {
      const removed = yield* link.command(link.scripts.prune([link.index, link.active], INDEX_PAGE))
      if (Option.isNone(removed) || removed.value === 0) return
    }
  })
