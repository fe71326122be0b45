// A child process of the multi-process Redis tests: one Redis-backed breaker, driven by JSON commands on stdin, one
// JSON reply per command on stdout. Usage: node test/support/breakerWorker.ts <redis url> <prefix>
//   {"op":"call","fail":true}  runs a call through circuit "shared":
//                              {"result":"primary"|"failed"|"fallback"} (fallback: the circuit rejected it)
//   {"op":"hold"}              starts a call that runs until "release": {"result":"holding"} or {"result":"fallback"}
//   {"op":"release","fail":false} ends the held call: {"result":"released"}
//   {"op":"state"}             {"result":"Closed"|"Open"|"HalfOpen"}
import { NodeRedis } from "@effect/platform-node"
import { Cause, Data, Deferred, Effect, Fiber, Layer, Logger, Queue } from "effect"
import * as CircuitBreaker from "effect-fallback/CircuitBreaker"
import { createInterface } from "node:readline"

class Shared extends CircuitBreaker.Service<Shared>()("test/SharedBreaker") {}
class Boom extends Data.TaggedError("Boom")<{}> {}

const [url, prefix] = process.argv.slice(2)
if (url === undefined || prefix === undefined) {
  console.error("usage: breakerWorker.ts <redis url> <prefix>")
  process.exit(2)
}

interface Command {
  readonly op: "call" | "hold" | "release" | "state"
  readonly fail?: boolean
}

const BreakerLive = CircuitBreaker.layerRedis(
  Shared,
  { failureThreshold: 3, resetTimeout: "300 millis" },
  {
    prefix,
    flushInterval: "50 millis",
    syncInterval: "1 second",
    trialLease: "800 millis"
  }
).pipe(Layer.provide(NodeRedis.layer({ url, disableOfflineQueue: true })))

const reply = (value: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(value)}\n`))

const program = Effect.gen(function* () {
  const breaker = yield* Shared
  let held: Deferred.Deferred<boolean> | undefined
  const through = <A>(effect: Effect.Effect<A, Boom>) =>
    effect.pipe(
      breaker.protect("shared"),
      Effect.catchTags({
        Boom: () => Effect.succeed("failed" as const),
        CircuitOpenError: () => Effect.succeed("fallback" as const)
      })
    )

  const handle = (command: Command): Effect.Effect<void> => {
    switch (command.op) {
      case "call":
        return Effect.flatMap(
          through(command.fail === true ? Effect.fail(new Boom()) : Effect.succeed("primary" as const)),
          (result) => reply({ result })
        )
      case "hold":
        return Effect.gen(function* () {
          const gate = yield* Deferred.make<boolean>()
          const started = yield* Deferred.make<void>()
          held = gate
          const call = Effect.andThen(
            Deferred.succeed(started, undefined),
            Effect.flatMap(Deferred.await(gate), (fails) =>
              fails ? Effect.fail(new Boom()) : Effect.succeed("primary" as const)
            )
          )
          const fiber = yield* Effect.forkDetach(through(call))
          const first = yield* Effect.raceFirst(Effect.as(Deferred.await(started), "holding"), Fiber.join(fiber))
          yield* reply({ result: first })
        })
      case "release":
        return Effect.gen(function* () {
          if (held !== undefined) yield* Deferred.succeed(held, command.fail === true)
          held = undefined
          yield* Effect.sleep("20 millis")
          yield* reply({ result: "released" })
        })
      case "state":
        return Effect.flatMap(breaker.state("shared"), (result) => reply({ result }))
    }
  }

  const commands = yield* Queue.unbounded<string, Cause.Done>()
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => Queue.offerUnsafe(commands, line))
  lines.on("close", () => Queue.endUnsafe(commands))
  yield* reply({ ready: true })
  yield* Effect.forever(Effect.flatMap(Queue.take(commands), (line) => handle(JSON.parse(line) as Command))).pipe(
    Effect.catchTag("Done", () => Effect.void)
  )
}).pipe(Effect.provide(BreakerLive), Effect.provide(Logger.layer([])))

Effect.runPromise(program).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
