/**
 * The breaker's metric families, and what a set of its series (a domain's or one circuit's) shares: call counts by
 * outcome and transition counts by `from`/`to`, plain numbers read by hooks when metrics are collected.
 *
 * A family is either domain-level (labels `domain` and its own) or per-circuit (labels `domain`, `circuit` and its
 * own), never both, so summing a family by `domain` never counts a call twice.
 */
import { Metric } from "effect"
import type { Context } from "effect"
import type { State } from "../CircuitBreaker.ts"
import { HookedSeries } from "./metricSeries.ts"

const LATENCY_BOUNDARIES = Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })

interface Family {
  readonly id: string
  readonly description: string
}

const family = (id: string, description: string): Family => ({ id: `circuit_breaker_${id}`, description })
const RATE_NAN = "(NaN until minimumCalls outcomes are in it)"

/** @internal */
export const families = {
  calls: family(
    "calls_total",
    "Calls through the domain's circuits by outcome (slow calls are also counted as success or failure)"
  ),
  transitions: family("transitions_total", "State transitions of the domain's circuits"),
  circuits: family("circuits", "Circuits of the domain in each state"),
  latency: family(
    "call_duration_seconds",
    "Duration of calls through the domain's circuits, for policies that time calls"
  ),
  circuitCalls: family(
    "circuit_calls_total",
    "Calls through one circuit by outcome (slow calls are also counted as success or failure)"
  ),
  circuitTransitions: family("circuit_transitions_total", "State transitions of one circuit"),
  state: family("state", "Circuit state: 0 Closed, 1 HalfOpen, 2 Open"),
  failureRate: family("failure_rate", `Failure rate in the window ${RATE_NAN}`),
  slowCallRate: family("slow_call_rate", `Slow-call rate in the window ${RATE_NAN}`)
}

const counter = (of: Family, attributes?: Record<string, string>) =>
  Metric.counter(of.id, { description: of.description, attributes, incremental: true })

/** @internal */
export const gauge = (of: Family, attributes?: Record<string, string>) =>
  Metric.gauge(of.id, { description: of.description, attributes })

/** @internal */
export const latency = (attributes?: Record<string, string>) =>
  Metric.histogram(families.latency.id, {
    description: families.latency.description,
    boundaries: LATENCY_BOUNDARIES,
    attributes
  })

/**
 * The breaker's metrics without attributes: read one series with `Metric.withAttributes(metric, attributes)`.
 *
 * @internal
 */
export const metrics = {
  calls: counter(families.calls),
  transitions: counter(families.transitions),
  circuits: gauge(families.circuits),
  callDuration: latency(),
  circuitCalls: counter(families.circuitCalls),
  circuitTransitions: counter(families.circuitTransitions),
  state: gauge(families.state),
  failureRate: gauge(families.failureRate),
  slowCallRate: gauge(families.slowCallRate)
}

/**
 * Indices into `SeriesSet.calls`: a `Verdict` (success 0, failure 1, ignored 2) is its own index.
 *
 * @internal
 */
export const REJECTED = 3
/** @internal */
export const SLOW = 4
const OUTCOMES = ["success", "failure", "ignored", "rejected", "slow"] as const

/**
 * Series of one label set (`domain`, or `domain` and `circuit`): the five call counters, registered at once, and a
 * transition counter per `from`/`to` pair, registered with the first such transition.
 *
 * @internal
 */
export class SeriesSet {
  /** Monotonic call counts by outcome index (unlike `Stats`, never cleared by `reset`). */
  readonly calls = [0, 0, 0, 0, 0]
  protected readonly context: Context.Context<never>
  protected readonly attributes: Readonly<Record<string, string>>
  private readonly series: Array<HookedSeries> = []
  private readonly transitionFamily: Family
  private transitionCounts: Map<string, { count: number }> | undefined = undefined

  constructor(
    context: Context.Context<never>,
    attributes: Readonly<Record<string, string>>,
    callFamily: Family,
    transitionFamily: Family
  ) {
    this.context = context
    this.attributes = attributes
    this.transitionFamily = transitionFamily
    OUTCOMES.forEach((outcome, index) =>
      this.register(counter(callFamily, { ...attributes, outcome }), () => ({
        count: this.calls[index],
        incremental: true
      }))
    )
  }

  transition(from: State, to: State): void {
    const key = `${from}->${to}`
    const counts = (this.transitionCounts ??= new Map())
    let tally = counts.get(key)
    if (tally === undefined) {
      const created = { count: 0 }
      tally = created
      counts.set(key, created)
      this.register(counter(this.transitionFamily, { ...this.attributes, from, to }), () => ({
        count: created.count,
        incremental: true
      }))
    }
    tally.count++
  }

  /** Every series keeps its last value from now on, without holding what it read. */
  freeze(): void {
    for (const series of this.series) series.freeze(this.context)
  }

  /** Every series leaves the registry. */
  remove(): void {
    for (const series of this.series) series.remove()
  }

  protected register(metric: Metric.Metric<any, any>, read: (collector: Context.Context<never>) => unknown): void {
    this.series.push(new HookedSeries(metric, this.context, read))
  }
}
