// Serves a domain breaker's metrics in Prometheus text format on 127.0.0.1, scrapes them, and checks the series.
//
// Run with: node examples/prometheus-metrics.ts
//
// The exposition text is Effect's own (`PrometheusMetrics.layerHttp()` renders the current `Metric.MetricRegistry`);
// the breaker only registers its series there when its layer is built.
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Data, Effect, Layer } from "effect"
import { HttpClient, HttpRouter, HttpServer } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { CircuitBreaker } from "effect-fallback"

class WarehouseDown extends Data.TaggedError("WarehouseDown")<{}> {}

/** One breaker for the inventory service; each handler below is one circuit (and one `circuit` label value). */
class Inventory extends CircuitBreaker.Service<Inventory>()("shop/Inventory") {}

const InventoryBreaker = CircuitBreaker.layer(Inventory, {
  failureThreshold: 2,
  resetTimeout: "30 seconds",
  failureRate: { threshold: 0.5, minimumCalls: 4, window: 20 },
  slowCall: { duration: "100 millis", rateThreshold: 0.8 }
})

const MetricsServer = HttpRouter.serve(PrometheusMetrics.layerHttp(), {
  disableListenLog: true,
  disableLogger: true
}).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

const succeed = Effect.succeed("in stock")
const fail = Effect.fail(new WarehouseDown())
const slow = Effect.sleep("150 millis").pipe(Effect.as("in stock, eventually"))

const traffic = Effect.gen(function* () {
  const inventory = yield* Inventory
  // GetStock: three quick successes, one slow success (counted as `success` and as `slow`), one failure.
  for (let i = 0; i < 3; i++) yield* succeed.pipe(inventory.protect("GetStock"))
  yield* slow.pipe(inventory.protect("GetStock"))
  yield* Effect.exit(fail.pipe(inventory.protect("GetStock")))
  // ReserveStock: two failures in a row open the circuit; the next two calls are rejected without running.
  for (let i = 0; i < 4; i++) yield* Effect.exit(fail.pipe(inventory.protect("ReserveStock")))
})

const scrape = HttpServer.addressFormattedWith((base) =>
  HttpClient.get(`${base}/metrics`).pipe(Effect.flatMap((response) => response.text))
)

const expected = [
  // Domain-level series, whatever the number of circuits: 4 + 1 + 2 failures, 2 rejections.
  `circuit_breaker_calls_total{domain="shop/Inventory",outcome="success"} 4`,
  `circuit_breaker_calls_total{domain="shop/Inventory",outcome="failure"} 3`,
  `circuit_breaker_calls_total{domain="shop/Inventory",outcome="rejected"} 2`,
  `circuit_breaker_calls_total{domain="shop/Inventory",outcome="slow"} 1`,
  `circuit_breaker_transitions_total{domain="shop/Inventory",from="Closed",to="Open"} 1`,
  `circuit_breaker_circuits{domain="shop/Inventory",state="Closed"} 1`,
  `circuit_breaker_circuits{domain="shop/Inventory",state="Open"} 1`,
  // Every admitted call is timed because slowCall is configured; rejections are not.
  `circuit_breaker_call_duration_seconds_count{domain="shop/Inventory"} 7`,
  // Per-circuit series, for the first 100 circuits created (Options.metrics.circuitSeries).
  `circuit_breaker_circuit_calls_total{domain="shop/Inventory",circuit="GetStock",outcome="success"} 4`,
  `circuit_breaker_circuit_calls_total{domain="shop/Inventory",circuit="GetStock",outcome="failure"} 1`,
  `circuit_breaker_circuit_calls_total{domain="shop/Inventory",circuit="GetStock",outcome="slow"} 1`,
  `circuit_breaker_circuit_calls_total{domain="shop/Inventory",circuit="ReserveStock",outcome="failure"} 2`,
  `circuit_breaker_circuit_calls_total{domain="shop/Inventory",circuit="ReserveStock",outcome="rejected"} 2`,
  `circuit_breaker_circuit_transitions_total{domain="shop/Inventory",circuit="ReserveStock",from="Closed",to="Open"} 1`,
  `circuit_breaker_state{domain="shop/Inventory",circuit="GetStock"} 0`,
  `circuit_breaker_state{domain="shop/Inventory",circuit="ReserveStock"} 2`,
  // 1 failure in 5 outcomes; ReserveStock's window was cleared when it opened, so its rate reads NaN.
  `circuit_breaker_failure_rate{domain="shop/Inventory",circuit="GetStock"} 0.2`,
  `circuit_breaker_failure_rate{domain="shop/Inventory",circuit="ReserveStock"} NaN`,
  `circuit_breaker_slow_call_rate{domain="shop/Inventory",circuit="GetStock"} 0.2`
]

const program = Effect.gen(function* () {
  yield* traffic
  const body = yield* scrape
  const breakerLines = body.split("\n").filter((line) => line.includes("circuit_breaker_"))
  console.log(breakerLines.join("\n"))
  const missing = expected.filter((line) => !breakerLines.includes(line))
  if (missing.length > 0) {
    console.error(`\nmissing from /metrics:\n${missing.join("\n")}`)
    process.exitCode = 1
  }
}).pipe(Effect.provide(Layer.mergeAll(InventoryBreaker, MetricsServer, NodeHttpClient.layerUndici)))

Effect.runPromise(program).then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
