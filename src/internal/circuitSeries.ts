/**
 * The series of one circuit, for the few circuits a breaker gives series of their own (`metrics.circuitSeries`):
 * call counts by outcome, transitions, the state gauge and, for policies with a rate window, the rate gauges. All
 * are read by hooks when metrics are collected.
 */
import { Clock, Context } from "effect"
import type { State } from "../CircuitBreaker.ts"
import type { Circuit } from "./circuit.ts"
import { families, gauge, SeriesSet } from "./circuitBreakerInstruments.ts"

const STATE_VALUE: Record<State, number> = { Closed: 0, HalfOpen: 1, Open: 2 }

/** @internal */
export class CircuitSeries extends SeriesSet {
  constructor(domain: string, circuit: Circuit, context: Context.Context<never>) {
    const attributes = { domain, circuit: String(circuit.id) }
    super(context, attributes, families.circuitCalls, families.circuitTransitions)
    this.register(gauge(families.state, attributes), () => ({ value: STATE_VALUE[circuit.state] }))
    if (circuit.policy.window !== undefined) {
      // Read through the circuit so a time window is expired up to the collector's clock first.
      const rate = (read: (now: number) => number | undefined) => (collector: Context.Context<never>) => ({
        value: read(Context.get(collector, Clock.Clock).currentTimeMillisUnsafe()) ?? Number.NaN
      })
      this.register(
        gauge(families.failureRate, attributes),
        rate((now) => circuit.failureRate(now))
      )
      this.register(
        gauge(families.slowCallRate, attributes),
        rate((now) => circuit.slowCallRate(now))
      )
    }
  }
}
