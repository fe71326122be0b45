// What a breaker pays per call while a dashboard follows it. The dashboard reads the stats of the circuits it shows
// once per interval and follows `transitions`; it does not subscribe to `events`, because a breaker with an `events`
// subscriber publishes every call (a breaker without one skips that): the third row shows what that would cost.
// Three breakers built side by side; the dashboard's routes go to a bare HttpRouter (no HTTP server).
import { Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import { HttpRouter } from "effect/http"
import { CircuitBreaker, Dashboard } from "effect-fallback"
import { effectLoop, type Suite } from "./harness.ts"

class Plain extends CircuitBreaker.Service<Plain>()("bench/Plain") {}
class Watched extends CircuitBreaker.Service<Watched>()("bench/Watched") {}
class Subscribed extends CircuitBreaker.Service<Subscribed>()("bench/Subscribed") {}

export const names = {
  plain: "breaker.protect, Closed, no dashboard (baseline)",
  watched: "breaker.protect, Closed, followed by a dashboard",
  subscribed: "reference: breaker.protect, Closed, with an `events` subscriber"
} as const

export const suite = async (): Promise<Suite> => {
  const scope = Effect.runSync(Scope.make())
  const layer = Dashboard.layer([Watched]).pipe(
    Layer.provideMerge(
      Layer.mergeAll(CircuitBreaker.layer(Plain), CircuitBreaker.layer(Watched), CircuitBreaker.layer(Subscribed))
    ),
    Layer.provide(HttpRouter.layer)
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const subscribed = Context.get(context, Subscribed)
  Effect.runFork(Stream.runDrain(subscribed.events).pipe(Effect.forkIn(scope)))
  const ok = Effect.succeed(1)
  return {
    name: "dashboard: the cost of being watched",
    description: "one Closed call per step, in one Effect.gen loop",
    unit: "call",
    baseline: names.plain,
    cases: [
      effectLoop(names.plain, ok.pipe(Context.get(context, Plain).protect("GetUser"))),
      effectLoop(names.watched, ok.pipe(Context.get(context, Watched).protect("GetUser"))),
      effectLoop(names.subscribed, ok.pipe(subscribed.protect("GetUser")))
    ],
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
