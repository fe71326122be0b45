// What the mediator's tests share: a mediator built from options, with its logs and event-handler failures observed.
import { Effect, type Layer, Metric } from "effect"
import { Mediator } from "effect-fallback"
import { type CapturedLog, captureLogs } from "./capture.ts"

/** The failed runs counted for `handler` of `event` (in the registry `withMediator` provides). */
export const failures = (event: string, handler: string) =>
  Effect.map(
    Metric.value(Metric.withAttributes(Mediator.eventHandlerFailures, { event, handler })),
    (state) => state.count
  )

/** Runs `effect` with a fresh metric registry, captured logs and the mediator built from `options`. */
export const withMediator = <A, E, R>(
  options: Parameters<typeof Mediator.layer>[0],
  effect: (logs: ReadonlyArray<CapturedLog>) => Effect.Effect<A, E, R>
) => {
  const { layer, logs } = captureLogs()
  return effect(logs).pipe(
    Effect.provide(
      Mediator.layer(options) as Layer.Layer<Mediator.Mediator, Mediator.DuplicateBinding | Mediator.InvalidBinding>
    ),
    Effect.provide(layer),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )
}
