import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { get, Recommender, ServerLive } from "../examples/http-headers.ts"

// The article's endpoint over real HTTP on 127.0.0.1: a fallback answer says so in its headers, a primary one does
// not. Each test builds its own server (and Recommender); user ids differ per test because the chain's
// last-known-good memory belongs to the chain, not to the server.
const quiet = Effect.provide(Logger.layer([]))

describe("HTTP endpoint answering from a FallbackChain", () => {
  it.live("an answer of the primary carries no degradation headers", () =>
    Effect.gen(function* () {
      const response = yield* get("/api/recommendations/alice")
      assert.strictEqual(response.status, 200)
      assert.isNull(response.fallbackSource)
      assert.isNull(response.freshness)
      assert.deepStrictEqual(JSON.parse(response.body).items, ["ML-alice-1", "ML-alice-2"])
      assert.strictEqual(JSON.parse(response.body).source, "ml_service")
    }).pipe(Effect.provide(ServerLive), quiet)
  )

  it.live("an answer of a fallback sets X-Fallback-Source to it and X-Data-Freshness to degraded", () =>
    Effect.gen(function* () {
      const recommender = yield* Recommender
      yield* get("/api/recommendations/bob")
      yield* recommender.setHealthy(false)
      const remembered = yield* get("/api/recommendations/bob")
      assert.strictEqual(remembered.status, 200)
      assert.strictEqual(remembered.fallbackSource, "cache")
      assert.strictEqual(remembered.freshness, "degraded")
      assert.deepStrictEqual(JSON.parse(remembered.body).items, ["ML-bob-1", "ML-bob-2"])

      const unknown = yield* get("/api/recommendations/carol")
      assert.strictEqual(unknown.fallbackSource, "static_bestsellers")
      assert.strictEqual(unknown.freshness, "degraded")
      assert.deepStrictEqual(JSON.parse(unknown.body).items, ["BST001", "BST002"])
    }).pipe(Effect.provide(ServerLive), quiet)
  )

  it.live("the primary answering again removes the headers", () =>
    Effect.gen(function* () {
      const recommender = yield* Recommender
      yield* recommender.setHealthy(false)
      const degraded = yield* get("/api/recommendations/dave")
      yield* recommender.setHealthy(true)
      const recovered = yield* get("/api/recommendations/dave")
      assert.strictEqual(degraded.freshness, "degraded")
      assert.isNull(recovered.fallbackSource)
      assert.isNull(recovered.freshness)
    }).pipe(Effect.provide(ServerLive), quiet)
  )

  it.live("/metrics serves the chain's activations in Prometheus format", () =>
    Effect.gen(function* () {
      const recommender = yield* Recommender
      yield* recommender.setHealthy(false)
      yield* get("/api/recommendations/erin")
      const metrics = yield* get("/metrics")
      const lines = metrics.body.split("\n")
      assert.isTrue(
        lines.some((line) =>
          line.startsWith(`fallback_activations_total{chain="recommendations",source="static_bestsellers"}`)
        )
      )
      assert.isTrue(
        lines.some((line) =>
          line.startsWith(`fallback_latency_seconds_count{chain="recommendations",source="static_bestsellers"}`)
        )
      )
    }).pipe(Effect.provide(ServerLive), quiet)
  )
})
