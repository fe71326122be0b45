// OpenTelemetry end to end: traces, metrics and logs of a breaker and a fallback exported with effect/observability's
// OTLP exporters, in the usual layer order (the breaker inside, the exporter outside, so the exporter's final flush at
// shutdown runs after the breaker's scope has closed). Set OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318) to
// send to a collector; without it, the program starts a small OTLP/HTTP receiver on 127.0.0.1, exports to it, and
// checks what arrived. Run with `node examples/opentelemetry.ts`; exits 1 when something is missing.
import { NodeHttpClient } from "@effect/platform-node"
import { Data, Effect, Layer } from "effect"
import { Otlp } from "effect/observability"
import { CircuitBreaker, Fallback } from "effect-fallback"
import { startReceiver } from "../test/support/otlpReceiver.ts"
import { runExample } from "./_check.ts"

class WarehouseDown extends Data.TaggedError("WarehouseDown")<{}> {}

class InventoryBreaker extends CircuitBreaker.Service<InventoryBreaker>()("shop/Inventory") {}

const InventoryBreakerLive = CircuitBreaker.layer(InventoryBreaker, { failureThreshold: 2, resetTimeout: "30 seconds" })

/** The warehouse is down: every call fails, the circuit opens after two, the cache answers each time. */
const getStock = (sku: string) =>
  Effect.fail(new WarehouseDown()).pipe(
    Fallback.orElse(Effect.succeed(3), { breaker: InventoryBreaker, id: "GetStock" }),
    Effect.withSpan("GetStock", { attributes: { sku } })
  )

export const program = Effect.gen(function* () {
  for (const sku of ["A1", "A2", "A3"]) yield* getStock(sku)
  yield* Effect.logInfo("stock read through the cache")
})

/** The exporters: long intervals, so what arrives is what the final flush at shutdown sends. */
export const TelemetryLive = (baseUrl: string) =>
  Otlp.layerJson({
    baseUrl,
    resource: { serviceName: "shop" },
    metricsExportInterval: "1 hour",
    tracerExportInterval: "1 hour",
    loggerExportInterval: "1 hour",
    shutdownTimeout: "5 seconds"
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** The usual order: the breaker inside, the exporter outside. */
export const main = (baseUrl: string) =>
  program.pipe(Effect.provide(InventoryBreakerLive), Effect.provide(TelemetryLive(baseUrl)))

if (import.meta.main) {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint !== undefined) {
    runExample(main(endpoint))
  } else {
    const receiver = await startReceiver()
    await Effect.runPromise(main(receiver.url))
    const spans = receiver.spans().filter((span) => span.name === "GetStock")
    const metrics = new Set(receiver.metricExports().flat())
    const checks: Array<[string, boolean]> = [
      ["3 GetStock spans", spans.length === 3],
      ["spans carry circuit_breaker.*", spans.every((span) => span.attributes["circuit_breaker.id"] === "GetStock")],
      ["spans carry fallback.*", spans.every((span) => span.attributes["fallback.activated"] === true)],
      ["circuit_breaker_calls_total arrived", metrics.has("circuit_breaker_calls_total")],
      ["circuit_breaker_state arrived", metrics.has("circuit_breaker_state")],
      ["the log line arrived", receiver.logLines().includes("stock read through the cache")]
    ]
    await receiver.close()
    for (const [label, ok] of checks) console.log(`${ok ? "ok  " : "FAIL"} ${label}`)
    process.exit(checks.every(([, ok]) => ok) ? 0 : 1)
  }
}
