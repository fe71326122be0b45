// One worker process of examples/distributed-breaker.ts: serves "recommendations" from a dependency behind a
// Redis-backed circuit breaker, falling back to bestsellers. Reads commands on stdin, answers one JSON line each:
//   request  -> {"source":"primary"|"fallback","items":[...]}
//   break    -> this worker's dependency starts failing: {"ok":true}
//   state    -> {"state":"Closed"|"Open"|"HalfOpen"}
// Usage: node examples/_distributed-worker.ts <redis url> <prefix>
import { NodeRedis } from "@effect/platform-node"
import { Data, Effect, Layer, Logger, Queue, Ref } from "effect"
import { CircuitBreaker, Fallback } from "effect-fallback"
import { createInterface } from "node:readline"

class RecommendationsBreaker extends CircuitBreaker.Service<RecommendationsBreaker>()("shop/RecommendationsBreaker") {}
class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<{}> {}

const [url = "", prefix = ""] = process.argv.slice(2)

// Every worker builds the same layer: processes that share the prefix share the circuit.
const BreakerLive = CircuitBreaker.layerRedis(
  RecommendationsBreaker,
  { failureThreshold: 3, resetTimeout: "30 seconds" },
  { prefix, flushInterval: "100 millis" }
).pipe(Layer.provide(NodeRedis.layer({ url, disableOfflineQueue: true })))

const bestsellers = ["The Pragmatic Programmer", "Refactoring"]

const program = Effect.gen(function* () {
  const healthy = yield* Ref.make(true)
  const recommend = Ref.get(healthy).pipe(
    Effect.flatMap((ok) =>
      ok ? Effect.succeed({ source: "primary", items: ["Effect in Action"] }) : new ServiceUnavailable()
    ),
    Fallback.orElse(Effect.succeed({ source: "fallback", items: bestsellers }), {
      breaker: RecommendationsBreaker,
      id: "ml_service"
    })
  )
  const breaker = yield* RecommendationsBreaker
  const answer = (value: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(value)}\n`))

  const commands = yield* Queue.unbounded<string>()
  createInterface({ input: process.stdin }).on("line", (line) => Queue.offerUnsafe(commands, line))
  yield* answer({ ready: true })
  while (true) {
    const command = yield* Queue.take(commands)
    if (command === "request") yield* Effect.flatMap(recommend, answer)
    else if (command === "break") yield* Effect.andThen(Ref.set(healthy, false), answer({ ok: true }))
    else if (command === "state") yield* Effect.flatMap(breaker.state("ml_service"), (state) => answer({ state }))
    else if (command === "exit") return
  }
}).pipe(Effect.provide(BreakerLive), Effect.provide(Logger.layer([])))

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
