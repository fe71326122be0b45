/**
 * How much one command may carry: every script call about many circuits carries a bounded slice of them, so that no
 * script holds Redis (single-threaded: every other client waits while a script runs) for more than a few
 * milliseconds, and no command comes near `commandTimeout` however many circuits a process has.
 */
import { Effect } from "effect"

/** Circuits per flush script call: about half a millisecond of Redis time (see bench/redis.ts). @internal */
export const FLUSH_BATCH = 50

/** Circuits per read script call. @internal */
export const READ_BATCH = 100

/**
 * Circuits not in use a periodic sync reads besides those in use, in turn: every circuit the process holds is read
 * again within `held / ROTATION` syncs. @internal
 */
export const ROTATION = 500

/** Ids per page of the active index read at start-up, and index entries removed per prune step. @internal */
export const INDEX_PAGE = 500

/** Prune steps per `syncInterval` at most: the rest waits for the next one. @internal */
export const PRUNE_STEPS = 20

/** Flush or read commands in flight at once: Redis runs them one after the other, other clients in between. @internal */
export const IN_FLIGHT = 2

/** `items` in consecutive slices of at most `size`. @internal */
export const slices = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size))
  return out
}

/** Runs `each` over the slices of `items`, `IN_FLIGHT` at a time. @internal */
export const inSlices = <A>(
  items: ReadonlyArray<A>,
  size: number,
  each: (slice: ReadonlyArray<A>) => Effect.Effect<void>
): Effect.Effect<void> => Effect.forEach(slices(items, size), each, { concurrency: IN_FLIGHT, discard: true })
