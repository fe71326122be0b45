// The fallback-chain article's FastAPI endpoint (seed 003) with Effect's HTTP server: answers come from a fallback
// chain, and an answer given by a fallback says so in its headers (`X-Fallback-Source`, `X-Data-Freshness:
// degraded`), so a frontend can show "showing cached results". `/metrics` serves the chain's metrics in Prometheus
// format. The program starts the server on 127.0.0.1 (a free port), calls itself, checks the headers and exits; run
// with `node examples/http-headers.ts` (exit 1 on a mismatch). test/HttpHeaders.test.ts drives the same server.
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { Context, Data, Duration, Effect, Layer, Logger, Ref } from "effect"
import { HttpClient, HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { FallbackChain } from "effect-fallback"
import { createServer } from "node:http"

class RecommenderDown extends Data.TaggedError("RecommenderDown")<{}> {}

/** The ML recommendation service, with a switch so the program (and the test) can take it down. */
export class Recommender extends Context.Service<
  Recommender,
  {
    readonly recommend: (userId: string) => Effect.Effect<ReadonlyArray<string>, RecommenderDown>
    readonly setHealthy: (healthy: boolean) => Effect.Effect<void>
  }
>()("app/Recommender") {
  static readonly layer = Layer.effect(
    Recommender,
    Effect.map(Ref.make(true), (healthy) => ({
      recommend: (userId: string) =>
        Effect.flatMap(Ref.get(healthy), (up) =>
          up ? Effect.succeed([`ML-${userId}-1`, `ML-${userId}-2`]) : Effect.fail(new RecommenderDown())
        ),
      setHealthy: (up: boolean) => Ref.set(healthy, up)
    }))
  )
}

const bestsellers: ReadonlyArray<string> = ["BST001", "BST002"]

export const recommendations = FallbackChain.make<string>("recommendations", { budget: "2 seconds" }).pipe(
  FallbackChain.add("ml_service", (userId) => Recommender.use((service) => service.recommend(userId))),
  FallbackChain.lastKnownGood({ name: "cache", maxStaleness: "10 minutes", capacity: 10_000 }),
  FallbackChain.add("static_bestsellers", () => Effect.succeed(bestsellers))
)

/** The degradation headers of the article: only present when a fallback answered. */
export const degradationHeaders = (result: FallbackChain.FallbackResult<unknown>): Record<string, string> =>
  result.isFallback ? { "X-Fallback-Source": result.source, "X-Data-Freshness": "degraded" } : {}

const RecommendationsRoute = HttpRouter.add(
  "GET",
  "/api/recommendations/:userId",
  Effect.gen(function* () {
    const { userId = "" } = yield* HttpRouter.params
    const result = yield* FallbackChain.execute(recommendations, userId)
    return yield* HttpServerResponse.json(
      { items: result.value, source: result.source, latency_ms: Number(Duration.toMillis(result.latency).toFixed(2)) },
      { headers: degradationHeaders(result) }
    )
  }).pipe(
    Effect.catchTag("AllFallbacksExhausted", (error) =>
      HttpServerResponse.json({ error: error.message }, { status: 503, headers: { "Retry-After": "5" } })
    )
  )
)

/** The server on 127.0.0.1 with a free port: the recommendations route and `/metrics`; and an `HttpClient` to call it. */
export const ServerLive = HttpRouter.serve(Layer.mergeAll(RecommendationsRoute, PrometheusMetrics.layerHttp()), {
  disableListenLog: true,
  disableLogger: true
}).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(Recommender.layer),
  Layer.provideMerge(NodeHttpClient.layerUndici)
)

/** GETs a path of the running server: status, the two degradation headers and the JSON body. */
export const get = (path: string) =>
  HttpServer.addressFormattedWith((base) =>
    Effect.gen(function* () {
      const response = yield* HttpClient.get(`${base}${path}`)
      return {
        status: response.status,
        fallbackSource: response.headers["x-fallback-source"] ?? null,
        freshness: response.headers["x-data-freshness"] ?? null,
        body: yield* response.text
      }
    })
  )

const program = Effect.gen(function* () {
  const mismatches: Array<string> = []
  const check = (label: string, actual: unknown, expected: unknown) => {
    const same = JSON.stringify(actual) === JSON.stringify(expected)
    if (!same) mismatches.push(`${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
    console.log(`${same ? "ok  " : "FAIL"} ${label}: ${JSON.stringify(actual)}`)
  }
  const recommender = yield* Recommender

  const live = yield* get("/api/recommendations/user-1")
  check("healthy: status", live.status, 200)
  check("healthy: no X-Fallback-Source", live.fallbackSource, null)
  check("healthy: no X-Data-Freshness", live.freshness, null)

  yield* recommender.setHealthy(false)
  const cached = yield* get("/api/recommendations/user-1")
  check("ml down: the cache answers user-1", JSON.parse(cached.body).items, ["ML-user-1-1", "ML-user-1-2"])
  check("ml down: X-Fallback-Source", cached.fallbackSource, "cache")
  check("ml down: X-Data-Freshness", cached.freshness, "degraded")

  const fresh = yield* get("/api/recommendations/user-2")
  check("ml down, nothing cached: X-Fallback-Source", fresh.fallbackSource, "static_bestsellers")
  check("ml down, nothing cached: body source", JSON.parse(fresh.body).source, "static_bestsellers")

  const metrics = yield* get("/metrics")
  const line = `fallback_activations_total{chain="recommendations",source="static_bestsellers"} 1`
  check("/metrics counts the activation", metrics.body.split("\n").includes(line), true)

  if (mismatches.length > 0) return yield* Effect.fail(new Error(mismatches.join("\n")))
}).pipe(Effect.provide(ServerLive), Effect.provide(Logger.layer([Logger.consoleLogFmt])))

if (import.meta.main) {
  Effect.runPromise(program).then(
    () => {
      console.log("\nhttp-headers example: all outcomes as expected")
      process.exit(0)
    },
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
