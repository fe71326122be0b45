/**
 * What the parts of one breaker share: its circuits (created through the store), its metrics and the publication
 * of what happens to them (the `transitions` and `events` streams, span attributes, logs).
 *
 * One layer build holds one `Ref` of circuits: its value is a `Map` from circuit id to the circuit (with its own
 * metric series, if any), to which a circuit is added on first use and from which idle circuits are dropped
 * (`circuitEviction.ts`); the map is changed in place and the `Ref` is never set again. Each circuit is a synchronous
 * state machine changed in place by each operation: a JavaScript turn runs one operation at a time, so each decision
 * is atomic. Transitions wait in `outbox` until the operation that caused them is done; `flush` then publishes them
 * and returns the logging to run.
 */
import { Clock, Context, Effect, PubSub, Ref } from "effect"
import type { Fiber } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import type { CallbackFailure, Circuit, Pending, Policy } from "./circuit.ts"
import { type CircuitOpenError, rejection } from "./circuitBreakerErrors.ts"
import type { Protect } from "./circuitBreakerAdmission.ts"
import type { BreakerMetrics } from "./circuitBreakerMetrics.ts"
import { type Checkpoint, CLOCK_LIMIT, DROPPED, type Eviction, makeRoom, rebase } from "./circuitEviction.ts"
import type { CircuitSeries } from "./circuitSeries.ts"
import type { CircuitStore } from "./circuitStore.ts"

/** The last rejection of a circuit, shared by the calls refused alike. */
interface LastRejection {
  readonly error: CircuitOpenError
  readonly generation: number
  readonly retryAfterMillis: number
}

/** One circuit with what reports on it. @internal */
export class Entry {
  readonly circuit: Circuit
  /** The circuit's own metric series, for the few circuits that have them (see `BreakerMetrics.added`). */
  series: CircuitSeries | undefined = undefined
  /** The breaker's clock at the last use of the circuit (see `circuitEviction.ts`); `DROPPED` once dropped. */
  stamp = 0
  /** The breaker's clock when the entry was placed at the end of the map of circuits. */
  placed = 0
  /** The function `protect(id)` hands out for the circuit, once asked for. */
  protect: Protect | undefined = undefined
  private lastRejection: LastRejection | undefined = undefined

  constructor(circuit: Circuit) {
    this.circuit = circuit
  }

  /**
   * The `CircuitOpenError` of a call refused at `now`. An error is a value: calls refused in the same state and
   * generation with the same time left share one, so that an open circuit under load builds about one error per
   * millisecond rather than one per call (building one costs about a microsecond, even without a stack).
   */
  rejection(domain: string, now: number): CircuitOpenError {
    const circuit = this.circuit
    const state = circuit.state === "HalfOpen" ? "HalfOpen" : "Open"
    const retryAfterMillis = circuit.retryAfterMillis(now)
    const last = this.lastRejection
    if (
      last !== undefined &&
      last.generation === circuit.generation &&
      last.retryAfterMillis === retryAfterMillis &&
      last.error.state === state
    ) {
      return last.error
    }
    const error = rejection(domain, circuit.id, state, retryAfterMillis)
    this.lastRejection = { error, generation: circuit.generation, retryAfterMillis }
    return error
  }
}

const CONSEQUENCE: Record<CallbackFailure["callback"], string> = {
  exclude: "the call counts as a failure",
  isFailure: "the call counts as a failure",
  retryAfter: "the opening ignores the hint"
}

/** The error log of a user callback that threw. */
const callbackLog = (domain: string, failure: CallbackFailure): Effect.Effect<void> =>
  Effect.annotateLogs(
    Effect.logError(
      `circuit breaker ${domain}, circuit "${failure.id}": the ${failure.callback} callback threw; ${CONSEQUENCE[failure.callback]}`,
      failure.thrown
    ),
    { "circuit.domain": domain, "circuit.id": failure.id }
  )

/** @internal */
export const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number =>
  fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/** @internal */
export class BreakerCore {
  readonly domain: string
  readonly policy: Policy
  readonly store: CircuitStore
  readonly transitions: PubSub.PubSub<CB.Transition>
  readonly calls: PubSub.PubSub<CB.CallEvent>
  readonly metrics: BreakerMetrics
  /**
   * The circuits by id, in the order they were placed: created on first use, dropped when idle (see
   * `circuitEviction.ts`). `protect(id)` hands out a function that finds the live circuit of its id again.
   */
  readonly circuits: Ref.Ref<Map<string, Entry>>
  /** The value of `circuits`, which is never set again. */
  readonly entries: Map<string, Entry>
  /** The logical clock of recency: ticks when an entry is placed and at each idle sweep. */
  clock = 0
  /**
   * The hand of the clock: where `makeRoom` looks next; made when first needed. A map iterator that stands still
   * keeps the tables the map has outgrown since, so the idle sweep lets it go.
   */
  hand: Iterator<Entry> | undefined = undefined
  /** The clock when the hand's round began: entries placed later are for the next round. */
  round = 0
  /** The idle sweep's checkpoints, oldest first. */
  readonly checkpoints: Array<Checkpoint> = []
  /** How many times the clock was moved back (`rebase`): a sweep under way then stops. */
  rebases = 0
  /** Subscribers of `events`: without any, no call event is built. */
  callSubscribers = 0
  private readonly eviction: Eviction
  private readonly context: Context.Context<never>
  private readonly outbox: Array<Pending> = []
  /** Publications that found a subscriber's buffer full: `publishUnsafe` refuses them, the sliding strategy does not. */
  private readonly backlog: Array<Effect.Effect<boolean>> = []

  constructor(
    circuits: Ref.Ref<Map<string, Entry>>,
    store: CircuitStore,
    context: Context.Context<never>,
    transitions: PubSub.PubSub<CB.Transition>,
    calls: PubSub.PubSub<CB.CallEvent>,
    metrics: BreakerMetrics,
    eviction: Eviction
  ) {
    this.circuits = circuits
    this.entries = Ref.getUnsafe(circuits)
    this.domain = store.policy.domain
    this.policy = store.policy
    this.store = store
    this.context = context
    this.transitions = transitions
    this.calls = calls
    this.metrics = metrics
    this.eviction = eviction
  }

  /** The time of the breaker's `Clock`, for work no fiber asked for (eviction). */
  now(): number {
    return Context.get(this.context, Clock.Clock).currentTimeMillisUnsafe()
  }

  /** Circuit `id`, created if the breaker has none (dropping one first when the breaker is at `maxCircuits`). */
  entry(id: string): Entry {
    const entry = this.entries.get(id)
    return entry === undefined ? this.create(id) : entry
  }

  /** Circuit `id` if the breaker has it; nothing is created. */
  peek(id: string): Entry | undefined {
    return this.entries.get(id)
  }

  /** Notes a use of `entry`: the live entry of its circuit (created again if it was dropped), stamped. */
  touch(entry: Entry): Entry {
    const live = entry.stamp === DROPPED ? this.revive(entry) : entry
    live.stamp = this.clock
    return live
  }

  /** The live entry of a dropped entry's id, which takes over the function `protect` handed out. */
  revive(dropped: Entry): Entry {
    const live = this.entry(dropped.circuit.id)
    live.protect ??= dropped.protect
    return live
  }

  /**
   * The generation under which the outcome of a call admitted under `generation` by a dropped entry counts in the
   * live circuit: the live one's while it is Closed and the call was not fenced already, none (-1) otherwise.
   */
  liveGeneration(dropped: Entry, live: Entry, generation: number): number {
    return generation === dropped.circuit.generation && live.circuit.state === "Closed" ? live.circuit.generation : -1
  }

  /** The clock, ticked; moved back first when it would leave the small-integer range. */
  tick(): number {
    if (this.clock >= CLOCK_LIMIT) rebase(this)
    return ++this.clock
  }

  /** Moves `entry` to the end of the map: it is now the most recently placed. */
  requeue(entry: Entry): void {
    this.entries.delete(entry.circuit.id)
    entry.placed = this.tick()
    this.entries.set(entry.circuit.id, entry)
  }

  /** Drops `entry` (the caller checked that it may): its calls in flight report to the live circuit of its id. */
  drop(entry: Entry): void {
    this.entries.delete(entry.circuit.id)
    entry.stamp = DROPPED
    this.metrics.dropped(entry)
    this.store.dropped(entry.circuit)
  }

  private create(id: string): Entry {
    const max = this.eviction.maxCircuits
    if (this.entries.size >= max) {
      const now = this.now()
      makeRoom(this, now)
      // Past the cap (circuits that had to be kept, and have since ended): one more, back towards the cap.
      if (this.entries.size >= max) makeRoom(this, now)
    }
    const circuit = this.store.create(id, this.outbox)
    const entry = new Entry(circuit)
    entry.placed = entry.stamp = this.tick()
    this.entries.set(id, entry)
    this.metrics.added(entry)
    return entry
  }

  /** Publishes what the last operation changed; returns the logging to run, if any. */
  flush(adopted = false): Effect.Effect<void> | undefined {
    if (this.outbox.length === 0 && this.backlog.length === 0) return undefined
    const domain = this.domain
    const logs: Array<Effect.Effect<unknown>> = []
    for (const pending of this.outbox.splice(0, this.outbox.length)) {
      if ("thrown" in pending) {
        logs.push(callbackLog(domain, pending))
        continue
      }
      const { from, id, reason, to, at } = pending
      this.publish(this.transitions, { domain, id, from, to, at, reason })
      const changed = this.entry(id)
      this.metrics.transitioned(changed, from, to)
      this.store.transitioned(changed.circuit, pending, adopted)
      const message = `circuit ${domain}/${id}: ${from} -> ${to} (${reason})`
      const annotations = { "circuit.domain": domain, "circuit.id": id, "circuit.from": from, "circuit.to": to }
      logs.push(Effect.annotateLogs(to === "Open" ? Effect.logWarning(message) : Effect.logInfo(message), annotations))
    }
    for (const publication of this.backlog.splice(0, this.backlog.length)) logs.push(publication)
    return logs.length === 1 ? Effect.asVoid(logs[0]!) : Effect.all(logs, { discard: true })
  }

  /** `effect`, after the logging `flush` returns, if any. */
  flushThen<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const logs = this.flush()
    return logs === undefined ? effect : Effect.andThen(logs, effect)
  }

  /** One call outcome (or rejection) on the `events` stream, when anyone listens. */
  publishCall(circuit: Circuit, outcome: CB.Outcome, slow: boolean, durationMillis: number, at: number): void {
    if (this.callSubscribers === 0) return
    this.publish(this.calls, {
      domain: this.domain,
      id: circuit.id,
      outcome,
      slow,
      durationMillis,
      at,
      state: circuit.state
    })
  }

  /** Marks the current span, if any, with the circuit and the outcome; calls outside any span pay one read. */
  annotate(fiber: Fiber.Fiber<unknown, unknown>, circuit: Circuit, outcome: CB.Outcome): void {
    const span = fiber.cache.span
    if (span === undefined || span._tag !== "Span" || span.status._tag === "Ended") return
    span.attribute("circuit_breaker.domain", this.domain)
    span.attribute("circuit_breaker.id", circuit.id)
    span.attribute("circuit_breaker.state", circuit.state)
    span.attribute("circuit_breaker.outcome", outcome)
  }

  /** Freezes the metric series at their last values. */
  close(): void {
    this.metrics.close()
  }

  private publish<A>(hub: PubSub.PubSub<A>, value: A): void {
    if (!PubSub.publishUnsafe(hub, value)) this.backlog.push(PubSub.publish(hub, value))
  }
}
