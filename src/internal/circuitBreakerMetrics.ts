/**
 * The metrics of one breaker: one set of series for the domain, whatever the number of circuits (calls by outcome,
 * transitions, circuits per state, call durations), and series of their own for at most `metrics.circuitSeries`
 * circuits, the first ones created (a dropped circuit gives its place back). So the number of series a breaker
 * exports is capped, however many circuit ids it sees.
 *
 * Counters and gauges read plain numbers when metrics are collected: a call pays a field increment (two when its
 * circuit has its own series). They live in the `MetricRegistry` that was current when the breaker was built. When
 * the breaker's scope closes they are frozen at their last values, not removed: with the usual layer order (breaker
 * inside, exporter outside) an exporter's final flush at shutdown runs after that, and must still see them. A breaker
 * built later with the same domain (and circuit) replaces them. The series of a circuit dropped while the breaker
 * runs are removed, so that another circuit can take its place.
 */
import { Effect } from "effect"
import type { Context, Metric } from "effect"
import type { Options, State } from "../CircuitBreaker.ts"
import type { Circuit, Verdict } from "./circuit.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { families, gauge, latency, REJECTED, SeriesSet, SLOW } from "./circuitBreakerInstruments.ts"
import { Validate } from "./circuitBreakerValidate.ts"
import { CircuitSeries } from "./circuitSeries.ts"

export { metrics } from "./circuitBreakerInstruments.ts"

/** Circuits with series of their own when `metrics.circuitSeries` is not set. @internal */
export const DEFAULT_CIRCUIT_SERIES = 100
/** The most circuits `metrics.circuitSeries` may give series of their own. @internal */
export const MAX_CIRCUIT_SERIES = 10_000

/** What the metrics keep on a circuit's entry: its own series, if it has any. @internal */
export interface Metered {
  readonly circuit: Circuit
  series: CircuitSeries | undefined
}

const STATES: ReadonlyArray<State> = ["Closed", "HalfOpen", "Open"]

/** The domain's series: the call and transition counters, and a gauge of the circuits in each state. */
class DomainSeries extends SeriesSet {
  /** Circuits in each state, kept up to date as circuits are added, change state and are dropped. */
  readonly states: Record<State, number> = { Closed: 0, HalfOpen: 0, Open: 0 }

  constructor(domain: string, context: Context.Context<never>) {
    super(context, { domain }, families.calls, families.transitions)
    for (const state of STATES) {
      this.register(gauge(families.circuits, { domain, state }), () => ({ value: this.states[state] }))
    }
  }
}

/**
 * The metrics of one breaker. The core calls `added` when it creates a circuit's entry and `dropped` when it drops
 * one, `transitioned` for each published transition; outcome reporting calls `record`, `rejected` and `duration`.
 *
 * @internal
 */
export class BreakerMetrics {
  /** The label value of `domain`: a string, whatever untyped code passed as the domain. */
  readonly domain: string
  /** At most this many circuits have series of their own. */
  readonly circuitSeries: number
  private readonly context: Context.Context<never>
  private readonly totals: DomainSeries
  private readonly latency: Metric.Metric<number, unknown>
  /** The circuits' own series, at most `circuitSeries`. */
  private readonly own = new Set<CircuitSeries>()
  private closed = false

  constructor(domain: unknown, context: Context.Context<never>, circuitSeries: number = DEFAULT_CIRCUIT_SERIES) {
    this.domain = String(domain)
    this.circuitSeries = circuitSeries
    this.context = context
    this.totals = new DomainSeries(this.domain, context)
    this.latency = latency({ domain: this.domain })
  }

  /** Circuits in each state. */
  get states(): Readonly<Record<State, number>> {
    return this.totals.states
  }

  /** How many circuits have series of their own. */
  get circuitsWithSeries(): number {
    return this.own.size
  }

  /** A circuit was created: counted in its state; it gets series of its own while places are left. */
  added(entry: Metered): void {
    this.totals.states[entry.circuit.state]++
    if (this.closed || this.own.size >= this.circuitSeries) return
    const series = new CircuitSeries(this.domain, entry.circuit, this.context)
    this.own.add(series)
    entry.series = series
  }

  /**
   * A circuit was dropped: it leaves the count of its state, and its own series, if it had any, leave the registry
   * (its calls stay counted in the domain's series), which gives its place to the next circuit created.
   */
  dropped(entry: Metered): void {
    this.totals.states[entry.circuit.state]--
    const series = entry.series
    if (series === undefined) return
    entry.series = undefined
    this.own.delete(series)
    if (!this.closed) series.remove()
  }

  /** The outcome of an admitted call. */
  record(entry: Metered, verdict: Verdict, slow: boolean): void {
    const calls = this.totals.calls
    calls[verdict]!++
    if (slow) calls[SLOW]!++
    const own = entry.series
    if (own !== undefined) {
      own.calls[verdict]!++
      if (slow) own.calls[SLOW]!++
    }
  }

  /** A call the circuit refused (or, in `metricsOnly`, would have). */
  rejected(entry: Metered): void {
    this.totals.calls[REJECTED]!++
    if (entry.series !== undefined) entry.series.calls[REJECTED]!++
  }

  /** How long an admitted call ran, for policies that time calls. */
  duration(millis: number): void {
    this.latency.updateUnsafe(millis / 1000, this.context)
  }

  /** A published state change of the entry's circuit. */
  transitioned(entry: Metered, from: State, to: State): void {
    const states = this.totals.states
    states[from]--
    states[to]++
    this.totals.transition(from, to)
    entry.series?.transition(from, to)
  }

  /** The breaker's scope closed: every series keeps its last value, for an exporter's final flush. */
  close(): void {
    this.closed = true
    this.totals.freeze()
    for (const series of this.own) series.freeze()
  }
}

/**
 * The metrics of a breaker built with `options` (`metrics.circuitSeries` checked), in the registry of `context`.
 *
 * @internal
 */
export const makeMetrics = (
  domain: string,
  options: Options,
  context: Context.Context<never>
): Effect.Effect<BreakerMetrics, CircuitBreakerConfigError> => {
  const check = new Validate(domain)
  return check.group("metrics", options.metrics, "an object { circuitSeries?: number }").pipe(
    Effect.flatMap((group) =>
      check.integer("metrics.circuitSeries", group?.circuitSeries ?? DEFAULT_CIRCUIT_SERIES, 0, MAX_CIRCUIT_SERIES)
    ),
    Effect.map((circuitSeries) => new BreakerMetrics(domain, context, circuitSeries))
  )
}
