/**
 * The bulkhead's metrics, labelled by `bulkhead` (its name). The series are registered with hooks that read the
 * bulkhead's own counts when metrics are collected, so a call pays nothing for them. They stay in the
 * `MetricRegistry` that was current when the bulkhead was made, with their last values, until a bulkhead of the same
 * name replaces them: an exporter's final flush at shutdown still sees them.
 */
import { Context, Metric } from "effect"

const IN_FLIGHT = { id: "bulkhead_calls_in_flight", description: "Calls running inside the bulkhead" }
const QUEUED = { id: "bulkhead_calls_queued", description: "Calls waiting for a slot of the bulkhead" }
const REJECTED = { id: "bulkhead_rejections_total", description: "Calls rejected by a full bulkhead" }

/** @internal */
export const metrics = {
  inFlight: Metric.gauge(IN_FLIGHT.id, { description: IN_FLIGHT.description }),
  queued: Metric.gauge(QUEUED.id, { description: QUEUED.description }),
  rejected: Metric.counter(REJECTED.id, { description: REJECTED.description, incremental: true })
}

/** What the hooks read. @internal */
export interface Counts {
  readonly admitted: number
  readonly inFlight: number
  readonly rejected: number
}

const noop = (): void => {}

/** Registers the three series of one bulkhead in the registry of `context`. @internal */
export const register = (name: string, counts: Counts, context: Context.Context<never>): void => {
  const attributes = { bulkhead: name }
  const hooks = <S>(get: () => S) => ({ get, update: noop, modify: noop })
  Metric.registerUnsafe(
    Metric.gauge(IN_FLIGHT.id, { description: IN_FLIGHT.description, attributes }),
    context,
    hooks(() => ({ value: counts.inFlight }))
  )
  Metric.registerUnsafe(
    Metric.gauge(QUEUED.id, { description: QUEUED.description, attributes }),
    context,
    hooks(() => ({ value: counts.admitted - counts.inFlight }))
  )
  Metric.registerUnsafe(
    Metric.counter(REJECTED.id, { description: REJECTED.description, attributes, incremental: true }),
    context,
    hooks(() => ({ count: counts.rejected, incremental: true }))
  )
}
