/**
 * The saga metrics. Series are labelled by `saga` and `step` names, a set fixed by the code, so cardinality stays
 * bounded. Step failures, compensations and fallbacks are counted inside the step's activity, so a replayed
 * execution (whose completed activities return their stored result) does not count them twice.
 */
import { Metric } from "effect"

/** @internal */
export const metrics = {
  sagas: Metric.counter("saga_executions_total", {
    description: "Saga executions that finished, by outcome (completed, failed, compensation_failed)",
    incremental: true
  }),
  stepFailures: Metric.counter("saga_step_failures_total", {
    description: "Step runs that failed (a primary replaced by its fallback included)",
    incremental: true
  }),
  compensations: Metric.counter("saga_compensations_total", {
    description: "Compensations run, by outcome (compensated, failed after the retry schedule)",
    incremental: true
  }),
  fallbacks: Metric.counter("saga_fallbacks_total", {
    description: "Step fallbacks that ran in place of their primary and succeeded",
    incremental: true
  })
}

/** @internal */
export const count = (metric: Metric.Counter<number>, attributes: Record<string, string>) =>
  Metric.update(Metric.withAttributes(metric, attributes), 1)
