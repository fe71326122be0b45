import { Context, Metric } from "effect"
import type * as M from "../Mediator.ts"

/** @internal */
export const Mediator: Context.Service<M.Mediator, M.Mediator> = Context.Service<M.Mediator>("effect-fallback/Mediator")

/** @internal */
export const eventHandlerFailures: Metric.Counter<number> = Metric.counter("mediator_event_handler_failures_total", {
  description: "Event handler runs that failed (after their fallback, if any)",
  incremental: true
})
