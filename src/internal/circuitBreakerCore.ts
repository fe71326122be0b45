/**
 * What the parts of one breaker share: its circuits (created through the store), its metrics and the publication
 * of what happens to them (the `transitions` and `events` streams, span attributes, logs).
 *
 * One layer build holds one `Ref` of circuits: its value is a `Map` from circuit id to the circuit (with its own
 * metric series, if any), to which a circuit is added on first use; the map is changed in place and the `Ref` is
 * never set again. Each circuit is a synchronous state machine changed in place by each operation: a JavaScript
 * turn runs one operation at a time, so each decision is atomic. Transitions wait in `outbox` until the operation
 * that caused them is done; `flush` then publishes them and returns the logging to run.
 */
import { Clock, Effect, PubSub, Ref } from "effect"
import type { Fiber } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import type { CallbackFailure, Circuit, Pending, Policy } from "./circuit.ts"
import { type CircuitOpenError, rejection } from "./circuitBreakerErrors.ts"
import type { BreakerMetrics } from "./circuitBreakerMetrics.ts"
import type { CircuitSeries } from "./circuitSeries.ts"
import type { CircuitStore } from "./circuitStore.ts"

/** One circuit with what reports on it. @internal */
export class Entry {
  readonly circuit: Circuit
  /** The circuit's own metric series, for the few circuits that have them (see `BreakerMetrics.added`). */
  series: CircuitSeries | undefined = undefined
  private lastRejection: CircuitOpenError | undefined = undefined
  private lastRejectionGeneration = -1
  private lastRetryAfterMillis = 0

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
      this.lastRejectionGeneration === circuit.generation &&
      this.lastRetryAfterMillis === retryAfterMillis &&
      last.state === state
    ) {
      return last
    }
    const error = rejection(domain, circuit.id, state, retryAfterMillis)
    this.lastRejection = error
    this.lastRejectionGeneration = circuit.generation
    this.lastRetryAfterMillis = retryAfterMillis
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
  /** The circuits by id: created on first use and never removed, so `protect(id)` may hold on to one. */
  readonly circuits: Ref.Ref<Map<string, Entry>>
  /** Subscribers of `events`: without any, no call event is built. */
  callSubscribers = 0
  private readonly outbox: Array<Pending> = []
  /** Publications that found a subscriber's buffer full: `publishUnsafe` refuses them, the sliding strategy does not. */
  private readonly backlog: Array<Effect.Effect<boolean>> = []

  constructor(
    circuits: Ref.Ref<Map<string, Entry>>,
    store: CircuitStore,
    transitions: PubSub.PubSub<CB.Transition>,
    calls: PubSub.PubSub<CB.CallEvent>,
    metrics: BreakerMetrics
  ) {
    this.circuits = circuits
    this.domain = store.policy.domain
    this.policy = store.policy
    this.store = store
    this.transitions = transitions
    this.calls = calls
    this.metrics = metrics
  }

  entry(id: string): Entry {
    const entries = Ref.getUnsafe(this.circuits)
    let entry = entries.get(id)
    if (entry === undefined) {
      const circuit = this.store.create(id, this.outbox)
      entry = new Entry(circuit)
      entries.set(id, entry)
      this.metrics.added(entry)
    }
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
