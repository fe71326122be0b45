// examples/opentelemetry.ts against a small OTLP/HTTP receiver on 127.0.0.1: the exporters' intervals are an hour,
// so everything asserted here arrived in the final flush at shutdown, after the breaker's scope had closed.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../examples/opentelemetry.ts"
import { startReceiver } from "./support/otlpReceiver.ts"

const exported = Effect.acquireRelease(
  Effect.promise(() => startReceiver()),
  (receiver) => Effect.promise(() => receiver.close())
).pipe(Effect.tap((receiver) => main(receiver.url)))

describe("OpenTelemetry", () => {
  it.live("spans carry the circuit_breaker.* and fallback.* attributes", () =>
    Effect.gen(function* () {
      const receiver = yield* exported
      const spans = receiver.spans().filter((span) => span.name === "GetStock")
      assert.strictEqual(spans.length, 3)
      const pick = (attributes: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(attributes).filter(
            ([key]) => key.startsWith("circuit_breaker.") || key === "fallback.activated"
          )
        )
      assert.deepStrictEqual(
        spans.map((span) => pick(span.attributes)),
        [
          { state: "Closed", outcome: "failure" },
          { state: "Open", outcome: "failure" },
          { state: "Open", outcome: "rejected" }
        ].map(({ state, outcome }) => ({
          "circuit_breaker.domain": "shop/Inventory",
          "circuit_breaker.id": "GetStock",
          "circuit_breaker.state": state,
          "circuit_breaker.outcome": outcome,
          "fallback.activated": true
        }))
      )
    }).pipe(Effect.scoped)
  )

  it.live(
    "the circuit_breaker_* series arrive in the final flush, with the breaker inside and the exporter outside",
    () =>
      Effect.gen(function* () {
        const receiver = yield* exported
        const exports = receiver.metricExports()
        assert.strictEqual(exports.length, 1, "one export: the final flush")
        for (const name of [
          "circuit_breaker_calls_total",
          "circuit_breaker_state",
          "circuit_breaker_transitions_total"
        ]) {
          assert.include(exports[0], name)
        }
        const calls = receiver.bodies.metrics[0].resourceMetrics[0].scopeMetrics[0].metrics.find(
          (metric: any) => metric.name === "circuit_breaker_calls_total"
        )
        const points = calls.sum.dataPoints.map((point: any) => [
          Object.fromEntries(point.attributes.map((kv: any) => [kv.key, kv.value.stringValue])).outcome,
          point.asDouble ?? Number(point.asInt)
        ])
        assert.includeDeepMembers(points, [
          ["failure", 2],
          ["rejected", 1]
        ])
        assert.include(receiver.logLines(), "stock read through the cache")
      }).pipe(Effect.scoped)
  )
})
