// Recipe: timeout + bulkhead + circuit breaker + retry + fallback on one HTTP call, in the order resilience4j
// recommends: Retry(CircuitBreaker(TimeLimiter(Bulkhead(call)))), with the fallback outermost (docs/Recipes.md).
//   - the bulkhead is innermost: it bounds the calls actually in progress against the prices service;
//   - the timeout wraps it, so a call that hangs (or waits too long for a slot) is cut off;
//   - the breaker sees timeouts and 5xx as failures; a full bulkhead is excluded: it says nothing about the service;
//   - the retry is outside the breaker and stops at an open circuit or a full bulkhead;
//   - the fallback answers with the last known price when anything above gives up.
// Run with `node examples/resilience-stack.ts`; exits 1 when an outcome differs from the expected.
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Fiber, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { Bulkhead, CircuitBreaker, Fallback, HttpResilience } from "effect-fallback"
import { testServer } from "../test/support/httpServer.ts"
import { makeChecker, runExample } from "./_check.ts"

const Price = Schema.Struct({ sku: Schema.String, cents: Schema.Number })

/** Stops retrying when retrying cannot help now. */
const worthRetrying = (error: unknown) => !CircuitBreaker.isCircuitOpenError(error) && !Bulkhead.isBulkheadFull(error)

/** The prices client: bulkhead, then timeout, then breaker, then retry (innermost first). */
export const pricesClient = (
  client: HttpClient.HttpClient,
  bulkhead: Bulkhead.Bulkhead,
  breaker: CircuitBreaker.CircuitBreaker
) =>
  client.pipe(
    HttpClient.transformResponse((response) => response.pipe(bulkhead.protect, Effect.timeout("1 second"))),
    HttpResilience.protect(breaker),
    HttpClient.filterStatusOk,
    HttpClient.retry({ times: 1, while: worthRetrying })
  )

/** One price: live when the service answers, the last known one otherwise. */
export const getPrice = (client: ReturnType<typeof pricesClient>, base: string, sku: string) =>
  client.get(`${base}/prices/${sku}`).pipe(
    Effect.flatMap(HttpClientResponse.schemaBodyJson(Price)),
    Effect.map((price) => ({ cents: price.cents, source: "live" })),
    Fallback.orElse((error) => Effect.succeed({ cents: 999, source: `last known (${error._tag})` }))
  )

export const pricesBreakerOptions = HttpResilience.breakerOptions({
  failureThreshold: 2,
  resetTimeout: "30 seconds",
  exclude: ["BulkheadFull"]
})

const program = Effect.gen(function* () {
  const { check, finish } = makeChecker()
  const prices = yield* testServer((request, response) => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end(JSON.stringify({ sku: request.url?.split("/").pop(), cents: 1250 }))
  })
  const answer = prices.handle
  const bulkhead = yield* Bulkhead.make({ name: "prices", maxConcurrent: 2 })
  const breaker = yield* CircuitBreaker.make("shop/Prices", pricesBreakerOptions)
  const client = pricesClient(yield* HttpClient.HttpClient, bulkhead, breaker)
  const circuit = `127.0.0.1:${prices.port}`

  yield* check("healthy", yield* getPrice(client, prices.url, "A1"), { cents: 1250, source: "live" })

  // Busy: two calls take both slots (the service holds their answers), a third one finds the bulkhead full and falls
  // back at once; the circuit does not count it. Then the service answers the two.
  const held: Array<() => void> = []
  prices.handle = (request, response) => held.push(() => answer(request, response))
  const two = yield* Effect.forkChild(
    Effect.all(
      [1, 2].map((n) => getPrice(client, prices.url, `B${n}`)),
      { concurrency: 2 }
    )
  )
  while (held.length < 2) yield* Effect.sleep("5 millis")
  const third = yield* getPrice(client, prices.url, "B3")
  for (const release of held) release()
  yield* check(
    "bulkhead: sources",
    [...(yield* Fiber.join(two)), third].map((price) => price.source),
    ["live", "live", "last known (BulkheadFull)"]
  )
  yield* check("bulkhead: circuit failures", (yield* breaker.stats(circuit)).failures, 0)

  // Hanging: the call times out, its retry times out too and opens the circuit; the fallback answers.
  prices.handle = () => {}
  yield* check("hanging: fallback", (yield* getPrice(client, prices.url, "C1")).source, "last known (TimeoutError)")
  yield* check("hanging: requests sent", prices.hitsOf("/prices/C1"), 2)
  yield* check("hanging: circuit", yield* breaker.state(circuit), "Open")

  // Open: rejected at once without a request, not retried, and the fallback answers.
  yield* check("open: fallback", (yield* getPrice(client, prices.url, "D1")).source, "last known (CircuitOpenError)")
  yield* check("open: requests sent", prices.hitsOf("/prices/D1"), 0)
  finish("resilience-stack example")
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.main) runExample(program)
