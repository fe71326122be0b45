/**
 * Eviction of idle circuits: a breaker keeps at most `maxCircuits` circuits that can be dropped, and (with
 * `idleTimeout`) drops the ones left idle for that long.
 *
 * Recency is a logical clock (`BreakerCore.clock`), ticked whenever an entry is placed at the end of the map of
 * circuits (created, or moved on by `makeRoom`) and at each idle sweep. A call writes the clock into its entry's
 * `stamp` (one field write, none when it is already there); the map's insertion order is the order of `placed`.
 * `makeRoom` is the CLOCK scheme: its hand goes round the map in that order; an entry used since it was placed is
 * moved to the end (`placed` ticks), one that was not is a least recently used candidate.
 */
import { Duration, Effect, Schedule } from "effect"
import type { Scope } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import type { Circuit } from "./circuit.ts"
import type { BreakerCore, Entry } from "./circuitBreakerCore.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { Validate } from "./circuitBreakerValidate.ts"

/** The `stamp` of a dropped entry. @internal */
export const DROPPED = -1

/** The default cap: about 30 MB of circuits at most (see docs/CircuitBreaker.md). @internal */
export const DEFAULT_MAX_CIRCUITS = 100_000

/** A sweep period below this would keep a fiber busy for little: idle timeouts start at one second. */
const MIN_IDLE_MILLIS = 1_000

/** Entries a creation beyond the cap looks at, at most, for one to drop. */
const ROOM_SCAN = 32

/** Entries an idle sweep handles before it lets the event loop run. */
const SWEEP_CHUNK = 10_000

/** How often the idle timeout is checked, as a fraction of it: a circuit goes within 1.25 idle timeouts. */
const SWEEPS_PER_TIMEOUT = 4

/** @internal */
export interface Eviction {
  readonly maxCircuits: number
  /** `Infinity`: no idle timeout. */
  readonly idleMillis: number
}

/** The eviction options, checked. @internal */
export const evictionOf = (domain: string, options: CB.Options): Effect.Effect<Eviction, CircuitBreakerConfigError> =>
  Effect.gen(function* () {
    const check = new Validate(domain)
    const max = options.maxCircuits ?? DEFAULT_MAX_CIRCUITS
    const maxCircuits =
      max === Number.POSITIVE_INFINITY || (typeof max === "number" && Number.isSafeInteger(max) && max >= 1)
        ? max
        : yield* check.fail("maxCircuits", max, "an integer >= 1, or Infinity (no cap)")
    const idleMillis =
      options.idleTimeout === undefined
        ? Number.POSITIVE_INFINITY
        : yield* check.positiveDuration("idleTimeout", options.idleTimeout, IDLE_EXPECTED)
    return idleMillis < MIN_IDLE_MILLIS
      ? yield* check.fail("idleTimeout", options.idleTimeout, IDLE_EXPECTED)
      : { maxCircuits, idleMillis }
  })

const IDLE_EXPECTED = "a duration of at least 1 second, or Infinity (no idle timeout)"

/**
 * A circuit the breaker may drop (it comes back Closed), once the store agrees: in the policy's mode, not forced, and
 * Closed or Open with its opening over (its next call would have been a trial: an abandoned circuit of a failing id
 * must not be kept for ever). HalfOpen and forced circuits, circuits still Open and those switched to another mode
 * are kept until that ends.
 *
 * @internal
 */
export const droppable = (circuit: Circuit, now: number): boolean =>
  !circuit.forced && circuit.mode === circuit.policy.mode && (circuit.state === "Closed" || openingOver(circuit, now))

/** Open, not forced, and past the end of its opening (which only its next touch would turn into HalfOpen). */
const openingOver = (circuit: Circuit, now: number): boolean =>
  circuit.state === "Open" && !circuit.forced && now >= circuit.openUntil

/**
 * Droppable with nothing counted: no failure streak, an empty rate window (once expired to `now`), no backoff to
 * remember. Dropping it changes nothing but its totals (`successes`, ...).
 *
 * @internal
 */
export const idle = (circuit: Circuit, now: number): boolean => {
  if (circuit.state !== "Closed" || !droppable(circuit, now) || circuit.consecutiveFailures !== 0) return false
  const window = circuit.window
  if (window !== undefined) {
    window.expire(now)
    if (window.calls !== 0) return false
  }
  return circuit.nextOpenings(now) === 1
}

/**
 * Makes room for one more circuit: drops the first idle circuit the hand of the clock finds among the next
 * `ROOM_SCAN` entries (entries used since they were placed get a second chance: they move to the end of the map);
 * failing that, the least recently used droppable one among them, counts and all. When every entry looked at must
 * be kept, nothing is dropped and the map grows past the cap.
 *
 * The hand is a map iterator kept from one call to the next (it goes on over deletions and insertions) for the
 * rest of its round: a new iterator would walk again over the slots the drops at the head of the map left empty.
 *
 * @internal
 */
export const makeRoom = (core: BreakerCore, now: number): void => {
  let fallback: Entry | undefined
  for (let steps = 0; steps < ROOM_SCAN; steps++) {
    const entry = handNext(core)
    if (entry === undefined) break
    const circuit = entry.circuit
    if (entry.stamp > entry.placed || !droppable(circuit, now) || !core.store.evictable(circuit)) {
      core.requeue(entry)
    } else if (idle(circuit, now)) {
      return core.drop(entry)
    } else if (fallback === undefined || entry.stamp < fallback.stamp) {
      fallback = entry
    }
  }
  if (fallback !== undefined) core.drop(fallback)
}

/**
 * The next entry under the hand. A round covers the entries placed before it began: past them (the end of the map,
 * or an entry placed since, such as one the hand itself moved to the end), the hand starts a new round from the
 * head. Otherwise entries it keeps moving to the end would hold it among the newest for ever, and the oldest would
 * never be looked at again.
 */
const handNext = (core: BreakerCore): Entry | undefined => {
  if (core.hand === undefined) startRound(core)
  let next = core.hand!.next()
  if (next.done === true || next.value.placed > core.round) {
    startRound(core)
    next = core.hand!.next()
  }
  return next.done === true ? undefined : next.value
}

const startRound = (core: BreakerCore): void => {
  core.hand = core.entries.values()
  core.round = core.clock
}

/** A checkpoint of the idle sweep: the clock's reading at a time. @internal */
export interface Checkpoint {
  clock: number
  readonly at: number
}

/**
 * The clock stays a small integer (a V8 Smi, so that `stamp` and `placed` need no boxed number): past this, it is
 * moved back (`rebase`).
 *
 * @internal
 */
export const CLOCK_LIMIT = 2 ** 30

/** What `rebase` keeps of the clock's history: order among the last this many ticks. */
const KEPT_TICKS = 2 ** 28

/**
 * Moves the clock back by the same amount everywhere (entries, checkpoints), so that every comparison among the
 * last `KEPT_TICKS` ticks holds; older readings all become 1, the oldest possible. Once in about a billion ticks.
 *
 * @internal
 */
export const rebase = (core: BreakerCore): void => {
  const shift = core.clock - KEPT_TICKS
  const back = (tick: number) => Math.max(1, tick - shift)
  for (const entry of core.entries.values()) {
    entry.placed = back(entry.placed)
    entry.stamp = back(entry.stamp)
  }
  for (const checkpoint of core.checkpoints) checkpoint.clock = back(checkpoint.clock)
  core.clock = KEPT_TICKS
  // The hand's round was measured on the old clock: the next room made starts a new one.
  core.hand = undefined
  core.rebases++
}

/**
 * The idle sweep, for the life of the breaker's scope: every quarter of `idleMillis`, a checkpoint notes the clock,
 * and every circuit is looked at (in chunks, yielding to the event loop in between): an idle one (or an Open one whose
 * opening is over) not used since the last checkpoint at least `idleMillis` old is dropped. So a circuit goes between one and 1.25 idle timeouts after
 * its last use.
 *
 * @internal
 */
export const startSweep = (core: BreakerCore, idleMillis: number): Effect.Effect<void, never, Scope.Scope> => {
  if (!Number.isFinite(idleMillis)) return Effect.void
  const checkpoints = core.checkpoints
  const sweep = Effect.suspend(() => {
    const now = core.now()
    const started = core.tick()
    checkpoints.push({ clock: started, at: now })
    let cutoff = 0
    while (checkpoints.length > 0 && checkpoints[0]!.at <= now - idleMillis) cutoff = checkpoints.shift()!.clock
    return cutoff === 0 ? Effect.void : sweepChunk(core, core.entries.values(), cutoff, started, core.rebases)
  })
  const period = Duration.millis(idleMillis / SWEEPS_PER_TIMEOUT)
  return Effect.asVoid(Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(period))))
}

/**
 * Drops the idle entries last used before `cutoff`, `SWEEP_CHUNK` at a time, up to the first entry placed after the
 * sweep started (the map is in `placed` order: the rest are newer still). A map iterator goes on over deletions and
 * insertions, so it is kept across chunks.
 */
const sweepChunk = (
  core: BreakerCore,
  entries: Iterator<Entry>,
  cutoff: number,
  started: number,
  rebases: number
): Effect.Effect<void> => {
  // The clock was moved back since the sweep began: its readings mean nothing now; the next sweep starts afresh.
  if (core.rebases !== rebases) return Effect.void
  const now = core.now()
  for (let handled = 0; handled < SWEEP_CHUNK; handled++) {
    const next = entries.next()
    if (next.done === true || next.value.placed > started) {
      // `makeRoom` starts again from the head, with a hand that holds on to no table the map has outgrown.
      core.hand = undefined
      return Effect.void
    }
    const entry = next.value
    if (
      entry.stamp < cutoff &&
      entry.stamp !== DROPPED &&
      (idle(entry.circuit, now) || openingOver(entry.circuit, now)) &&
      core.store.evictable(entry.circuit)
    ) {
      core.drop(entry)
    }
  }
  return Effect.andThen(
    Effect.yieldNow,
    Effect.suspend(() => sweepChunk(core, entries, cutoff, started, rebases))
  )
}
