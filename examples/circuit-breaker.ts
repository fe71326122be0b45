// The circuit-breaker how-to of hiveframe (seed 004) in Effect: open after 5 failures, stay open for a while, close
// after 3 successful trial calls; watch the state changes, control the circuit by hand, and answer from a fallback
// while it is open. Durations are short so the program runs in about a second. Run with
// `node examples/circuit-breaker.ts`; exits 1 when an outcome differs from the expected.
import { Console, Data, Effect, Fiber, Stream } from "effect"
import { CircuitBreaker, Fallback } from "effect-fallback"
import { makeChecker } from "./_check.ts"

class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
class ValidationError extends Data.TaggedError("ValidationError")<{ readonly field: string }> {}

class ExternalApi extends CircuitBreaker.Service<ExternalApi>()("app/ExternalApi") {}

const ExternalApiLive = CircuitBreaker.layer(ExternalApi, {
  failureThreshold: 5, //       open after 5 failures in a row
  failureRate: { threshold: 0.5, minimumCalls: 10, window: 20 }, // or a 50% failure rate over the last 20 calls
  successThreshold: 3, //       close after 3 successful trial calls
  halfOpenMaxCalls: 3,
  resetTimeout: "200 millis", // stay open this long (30 seconds in the how-to)
  exclude: ["ValidationError"] // a bad request says nothing about the service's health
})

let serviceUp = false
const callExternalService = Effect.suspend(() =>
  serviceUp ? Effect.succeed({ status: "live", data: [1, 2, 3] }) : Effect.fail(new ConnectionError())
)

const { check, finish } = makeChecker()

const program = Effect.gen(function* () {
  const breaker = yield* ExternalApi
  const protectedCall = callExternalService.pipe(breaker.protect("external-api"))

  // State change callbacks: a subscriber to the transitions stream.
  const seen: Array<string> = []
  const watcher = yield* breaker.transitions.pipe(
    Stream.runForEach((t) =>
      Effect.sync(() => seen.push(`${t.from} -> ${t.to}`)).pipe(
        Effect.andThen(Console.log(`  [transition] ${t.id}: ${t.from} -> ${t.to} (${t.reason})`))
      )
    ),
    Effect.forkChild({ startImmediately: true })
  )
  yield* Effect.yieldNow

  yield* Console.log("1. a validation error is excluded: it never counts toward opening")
  for (let i = 0; i < 6; i++) {
    yield* Effect.exit(Effect.fail(new ValidationError({ field: "email" })).pipe(breaker.protect("external-api")))
  }
  yield* check("state after 6 validation errors", yield* breaker.state("external-api"), "Closed")

  yield* Console.log("2. the service is down: 5 failures in a row open the circuit")
  for (let i = 0; i < 5; i++) yield* Effect.exit(protectedCall)
  const stats = yield* breaker.stats("external-api")
  yield* check("state", stats.state, "Open")
  yield* check("failures counted", stats.failures, 5)

  yield* Console.log("3. open: calls fail immediately, without reaching the service")
  const rejected = yield* Effect.flip(protectedCall)
  yield* check(
    "rejection",
    [rejected._tag, CircuitBreaker.isCircuitOpenError(rejected) && rejected.state],
    ["CircuitOpenError", "Open"]
  )

  yield* Console.log("4. with a fallback, callers get cached data instead of an error")
  const withFallback = callExternalService.pipe(
    Fallback.orElse(Effect.succeed({ status: "cached", data: [1, 2] }), { breaker: ExternalApi, id: "external-api" })
  )
  yield* check("answer while open", (yield* withFallback).status, "cached")

  yield* Console.log("5. the service recovers; after the reset timeout, 3 trial successes close the circuit")
  serviceUp = true
  yield* Effect.sleep("250 millis")
  yield* check("state after the timeout", yield* breaker.state("external-api"), "HalfOpen")
  for (let i = 0; i < 3; i++) yield* protectedCall
  yield* check("state after 3 successes", yield* breaker.state("external-api"), "Closed")
  yield* check("answer when closed", (yield* withFallback).status, "live")

  yield* Console.log("6. manual control: force open for maintenance, close after the fix, reset the counters")
  yield* breaker.open("external-api")
  yield* check("forced open", (yield* breaker.stats("external-api")).forced, true)
  yield* breaker.close("external-api")
  yield* breaker.reset("external-api")
  const fresh = yield* breaker.stats("external-api")
  yield* check("after reset", [fresh.state, fresh.failures, fresh.successes], ["Closed", 0, 0])

  yield* Effect.yieldNow
  yield* Fiber.interrupt(watcher)
  yield* check("transitions seen", seen, [
    "Closed -> Open",
    "Open -> HalfOpen",
    "HalfOpen -> Closed",
    "Closed -> Open",
    "Open -> Closed"
  ])
})

Effect.runPromise(program.pipe(Effect.provide(ExternalApiLive))).then(() => finish("circuit-breaker example"))
