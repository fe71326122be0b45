import { Context, Metric } from "effect"
import type { Effect, Fiber } from "effect"
import type * as M from "../Mediator.ts"

/** @internal */
export const Mediator: Context.Service<M.Mediator, M.Mediator> = Context.Service<M.Mediator>("effect-fallback/Mediator")

/** @internal */
export const eventHandlerFailures: Metric.Counter<number> = Metric.counter("mediator_event_handler_failures_total", {
  description: "Event handler runs that failed (after their fallback, if any)",
  incremental: true
})

/** The key of a mediator's send on a fiber it is given. @internal */
export const SendOn: unique symbol = Symbol.for("effect-fallback/Mediator/sendOn")

/**
 * What a mediator built by `Mediator.layer` offers beside the service interface: `send` on the caller's fiber, which
 * the module-level `Mediator.send` (already on that fiber) calls directly, saving the step a second
 * `Effect.withFiber` would cost. Another implementation of the service (a test double) lacks it and is called
 * through its `send`.
 *
 * @internal
 */
export interface SendsOnFiber {
  readonly [SendOn]: (fiber: Fiber.Fiber<unknown, unknown>, request: M.AnyRequest) => Effect.Effect<any, any>
}
