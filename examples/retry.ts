// Recipe: retry outside the circuit breaker (docs/Recipes.md). Each attempt is one call of the circuit, so a dependency
// that keeps failing opens it after `failureThreshold` attempts; from then on an attempt is rejected without sending
// anything, and the retry schedule waits the rejection's `retryAfter` (the server's Retry-After here) before the next
// attempt, which is the HalfOpen trial. A transient failure is absorbed by the retry; the circuit still counts it.
// Run with `node examples/retry.ts`; exits 1 when an outcome differs from the expected.
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Schedule } from "effect"
import { HttpClient } from "effect/http"
import { CircuitBreaker, HttpResilience } from "effect-fallback"
import { reply, testServer } from "../test/support/httpServer.ts"
import { makeChecker, runExample } from "./_check.ts"

/**
 * A retry schedule that never runs into an open circuit: after a `CircuitOpenError` the next attempt waits at least
 * the rejection's `retryAfter`, when the circuit admits a trial again.
 */
export const waitOutOpenCircuits = <O, E>(schedule: Schedule.Schedule<O, E>): Schedule.Schedule<O, E> =>
  schedule.pipe(
    Schedule.modifyDelay(({ input, duration }) =>
      Effect.succeed(CircuitBreaker.isCircuitOpenError(input) ? Duration.max(duration, input.retryAfter) : duration)
    )
  )

/** The order: the breaker around the request, `filterStatusOk` to make a 5xx an error, the retry outermost. */
export const resilientClient = (client: HttpClient.HttpClient, breaker: CircuitBreaker.CircuitBreaker) =>
  client.pipe(
    HttpResilience.protect(breaker),
    HttpClient.filterStatusOk,
    HttpClient.retry({ schedule: waitOutOpenCircuits(Schedule.exponential("20 millis")), times: 5 })
  )

/** failureThreshold 3, resetTimeout 300 ms; a Retry-After on 429/503 lengthens an opening (breakerOptions). */
export const inventoryBreaker = CircuitBreaker.make(
  "shop/Inventory",
  HttpResilience.breakerOptions({ failureThreshold: 3, resetTimeout: "300 millis" })
)

const program = Effect.gen(function* () {
  const { check, finish } = makeChecker()
  let failuresLeft = 2
  const inventory = yield* testServer((request, response) => {
    if (failuresLeft > 0) {
      failuresLeft--
      return reply(503)(request, response)
    }
    reply(200)(request, response)
  })
  const breaker = yield* inventoryBreaker
  const client = resilientClient(yield* HttpClient.HttpClient, breaker)
  const circuit = `127.0.0.1:${inventory.port}`

  // Two 503s, then an answer: the caller sees the answer, the circuit saw three calls.
  const answer = yield* client.get(`${inventory.url}/stock/42`)
  yield* check("transient: answered", answer.status, 200)
  yield* check("transient: requests sent", inventory.hitsOf("/stock/42"), 3)
  const transient = yield* breaker.stats(circuit)
  yield* check("transient: circuit", [transient.state, transient.failures, transient.successes], ["Closed", 2, 1])

  // Down for good, asking to come back in 1 second: three attempts open the circuit; the fourth is rejected without
  // a request; the fifth waits the Retry-After and is the HalfOpen trial; the sixth is rejected again.
  inventory.handle = reply(503, { "retry-after": "1" })
  const started = Date.now()
  const error = yield* Effect.flip(client.get(`${inventory.url}/stock/7`))
  yield* check("down: the last attempt was rejected", error._tag, "CircuitOpenError")
  yield* check("down: requests sent (3 attempts + 1 trial)", inventory.hitsOf("/stock/7"), 4)
  yield* check("down: waited the Retry-After before the trial", Date.now() - started >= 1000, true)
  finish("retry example")
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.main) runExample(program)
