/**
 * The breaker's metrics. Series are labelled by `domain` and `circuit` (the circuit id): ids name handlers and
 * dependencies, a set fixed by the code, so cardinality stays bounded as long as ids are not built from request data.
 *
 * Each circuit gets its own metric objects with fixed attributes, created once: updating a metric built with fixed
 * attributes reuses its cached series key, where `Metric.withAttributes` would rebuild it on every update.
 */
import { Metric } from "effect"
import type { Context } from "effect"
import type { Outcome, State } from "../CircuitBreaker.ts"

const LATENCY_BOUNDARIES = Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })

const STATE_VALUE: Record<State, number> = { Closed: 0, HalfOpen: 1, Open: 2 }

/** @internal */
export class CircuitInstruments {
  private readonly calls: Record<Outcome | "slow", Metric.Metric<number, unknown>>
  private readonly state: Metric.Metric<number, unknown>
  private readonly failureRate: Metric.Metric<number, unknown>
  private readonly slowCallRate: Metric.Metric<number, unknown>
  private readonly latency: Metric.Metric<number, unknown>
  private readonly domain: string
  private readonly circuit: string
  constructor(domain: string, circuit: string) {
    this.domain = domain
    this.circuit = circuit
    const attributes = { domain, circuit }
    const calls = (outcome: string) =>
      Metric.counter("circuit_breaker_calls_total", {
        description: "Calls through a circuit by outcome (slow calls are also counted as success or failure)",
        attributes: { ...attributes, outcome },
        incremental: true
      })
    this.calls = {
      success: calls("success"),
      failure: calls("failure"),
      ignored: calls("ignored"),
      rejected: calls("rejected"),
      slow: calls("slow")
    }
    this.state = Metric.gauge("circuit_breaker_state", {
      description: "Circuit state: 0 Closed, 1 HalfOpen, 2 Open",
      attributes
    })
    this.failureRate = Metric.gauge("circuit_breaker_failure_rate", {
      description: "Failure rate in the window (absent until minimumCalls outcomes are in it)",
      attributes
    })
    this.slowCallRate = Metric.gauge("circuit_breaker_slow_call_rate", {
      description: "Slow-call rate in the window (absent until minimumCalls outcomes are in it)",
      attributes
    })
    this.latency = Metric.histogram("circuit_breaker_call_duration_seconds", {
      description: "Duration of calls through a circuit, for circuits whose policy times calls",
      boundaries: LATENCY_BOUNDARIES,
      attributes
    })
  }

  outcome(outcome: Outcome, slow: boolean, context: Context.Context<never>): void {
    this.calls[outcome].updateUnsafe(1, context)
    if (slow) this.calls.slow.updateUnsafe(1, context)
  }

  duration(millis: number, context: Context.Context<never>): void {
    this.latency.updateUnsafe(millis / 1000, context)
  }

  rates(failureRate: number | undefined, slowCallRate: number | undefined, context: Context.Context<never>): void {
    if (failureRate !== undefined) this.failureRate.updateUnsafe(failureRate, context)
    if (slowCallRate !== undefined) this.slowCallRate.updateUnsafe(slowCallRate, context)
  }

  transition(from: State, to: State, context: Context.Context<never>): void {
    this.state.updateUnsafe(STATE_VALUE[to], context)
    Metric.counter("circuit_breaker_transitions_total", {
      description: "Circuit state transitions",
      attributes: { domain: this.domain, circuit: this.circuit, from, to },
      incremental: true
    }).updateUnsafe(1, context)
  }
}
