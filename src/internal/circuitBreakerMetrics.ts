/**
 * The breaker's metrics. Series are labelled by `domain` and `circuit` (the circuit id): ids name handlers and
 * dependencies, a set fixed by the code, so cardinality stays bounded as long as ids are not built from request data.
 *
 * Counters, the state gauge and the rate gauges are registered once per circuit with hooks that read the circuit's
 * own tallies when metrics are collected, so a call pays nothing for them. They live in the `MetricRegistry` that was
 * current when the breaker was built. When the breaker's scope closes they are frozen at their last values, not
 * removed: with the usual layer order (breaker inside, exporter outside) an exporter's final flush at shutdown runs
 * after that, and must still see them. A breaker built later with the same domain and circuit replaces them.
 */
import { Clock, Context, Metric } from "effect"
import type { Outcome, State } from "../CircuitBreaker.ts"
import type { Circuit } from "./circuit.ts"

const LATENCY_BOUNDARIES = Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })

const CALLS = {
  id: "circuit_breaker_calls_total",
  description: "Calls through a circuit by outcome (slow calls are also counted as success or failure)"
}
const TRANSITIONS = { id: "circuit_breaker_transitions_total", description: "Circuit state transitions" }
const STATE = { id: "circuit_breaker_state", description: "Circuit state: 0 Closed, 1 HalfOpen, 2 Open" }
const FAILURE_RATE = {
  id: "circuit_breaker_failure_rate",
  description: "Failure rate in the window (NaN until minimumCalls outcomes are in it)"
}
const SLOW_CALL_RATE = {
  id: "circuit_breaker_slow_call_rate",
  description: "Slow-call rate in the window (NaN until minimumCalls outcomes are in it)"
}
const LATENCY = {
  id: "circuit_breaker_call_duration_seconds",
  description: "Duration of calls through a circuit, for circuits whose policy times calls"
}

/**
 * The breaker's metrics without attributes: read one series with `Metric.withAttributes(metric, attributes)`.
 *
 * @internal
 */
export const metrics = {
  calls: Metric.counter(CALLS.id, { description: CALLS.description, incremental: true }),
  transitions: Metric.counter(TRANSITIONS.id, { description: TRANSITIONS.description, incremental: true }),
  state: Metric.gauge(STATE.id, { description: STATE.description }),
  failureRate: Metric.gauge(FAILURE_RATE.id, { description: FAILURE_RATE.description }),
  slowCallRate: Metric.gauge(SLOW_CALL_RATE.id, { description: SLOW_CALL_RATE.description }),
  callDuration: Metric.histogram(LATENCY.id, { description: LATENCY.description, boundaries: LATENCY_BOUNDARIES })
}

const STATE_VALUE: Record<State, number> = { Closed: 0, HalfOpen: 1, Open: 2 }

/** Monotonic per-circuit call counts (unlike `Stats`, never cleared by `reset`). @internal */
export interface Tallies {
  success: number
  failure: number
  ignored: number
  rejected: number
  slow: number
}

const OUTCOMES: ReadonlyArray<keyof Tallies> = ["success", "failure", "ignored", "rejected", "slow"]

/** @internal */
export class CircuitInstruments {
  readonly tallies: Tallies = { success: 0, failure: 0, ignored: 0, rejected: 0, slow: 0 }
  private readonly context: Context.Context<never>
  private readonly attributes: { readonly domain: string; readonly circuit: string }
  private readonly latency: Metric.Metric<number, unknown>
  private readonly transitions = new Map<string, Metric.Metric<number, unknown>>()
  /** What the hook-backed series read: the circuit while the breaker lives, its last values after. */
  private readonly sources: Array<{ read: (collector: Context.Context<never>) => unknown }> = []

  constructor(domain: string, circuit: Circuit, context: Context.Context<never>) {
    this.context = context
    const attributes = { domain, circuit: circuit.id }
    this.attributes = attributes
    for (const outcome of OUTCOMES) {
      const metric = Metric.counter(CALLS.id, {
        description: CALLS.description,
        attributes: { ...attributes, outcome },
        incremental: true
      })
      this.register(metric, () => ({ count: this.tallies[outcome], incremental: true }))
    }
    this.register(Metric.gauge(STATE.id, { description: STATE.description, attributes }), () => ({
      value: STATE_VALUE[circuit.state]
    }))
    if (circuit.window !== undefined) {
      // Read through the circuit so a time window is expired up to the collector's clock first.
      const rate = (read: (now: number) => number | undefined) => (collector: Context.Context<never>) => ({
        value: read(Context.get(collector, Clock.Clock).currentTimeMillisUnsafe()) ?? Number.NaN
      })
      this.register(
        Metric.gauge(FAILURE_RATE.id, { description: FAILURE_RATE.description, attributes }),
        rate((now) => circuit.failureRate(now))
      )
      this.register(
        Metric.gauge(SLOW_CALL_RATE.id, { description: SLOW_CALL_RATE.description, attributes }),
        rate((now) => circuit.slowCallRate(now))
      )
    }
    this.latency = Metric.histogram(LATENCY.id, {
      description: LATENCY.description,
      boundaries: LATENCY_BOUNDARIES,
      attributes
    })
  }

  outcome(outcome: Outcome, slow: boolean): void {
    this.tallies[outcome]++
    if (slow) this.tallies.slow++
  }

  duration(millis: number): void {
    this.latency.updateUnsafe(millis / 1000, this.context)
  }

  transition(from: State, to: State): void {
    const key = `${from}->${to}`
    let counter = this.transitions.get(key)
    if (counter === undefined) {
      counter = Metric.counter(TRANSITIONS.id, {
        description: TRANSITIONS.description,
        attributes: { ...this.attributes, from, to },
        incremental: true
      })
      this.transitions.set(key, counter)
    }
    counter.updateUnsafe(1, this.context)
  }

  /**
   * Freezes the hook-backed series of this circuit at their last values, so the registry no longer holds the circuit.
   * A series a newer breaker registered under the same name keeps reading that breaker. Series written with updates
   * (call durations, transitions) keep their values as they are.
   */
  remove(): void {
    for (const source of this.sources) {
      const last = source.read(this.context)
      source.read = () => last
    }
    this.sources.length = 0
  }

  private register<S>(metric: Metric.Metric<number, S>, get: (collector: Context.Context<never>) => S): void {
    const source = { read: get as (collector: Context.Context<never>) => unknown }
    this.sources.push(source)
    Metric.registerUnsafe(metric, this.context, {
      get: (collector) => source.read(collector) as S,
      update: noop,
      modify: noop
    })
  }
}

const noop = (): void => {}
