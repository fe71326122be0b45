// The fallback-chain article's product recommendations (seed 003) in Effect: ml service -> cache -> popular items ->
// static bestsellers, under one time budget. The ml service answers, fails and hangs by turns; the cache is the
// chain's last-known-good memory of the ml service (never older than 10 minutes); the popular-items catalog sits
// behind a circuit breaker and a concurrency limit (no fallback storm). Every degradation is visible: warnings,
// metrics, the source of each answer. Run with `node examples/recommendations.ts`; exits 1 when an outcome differs
// from the expected.
import { Console, Data, Duration, Effect, Logger, Metric } from "effect"
import { CircuitBreaker, FallbackChain } from "effect-fallback"
import { makeChecker } from "./_check.ts"

class MlServiceDown extends Data.TaggedError("MlServiceDown")<{ readonly status: number }> {}
class CatalogDown extends Data.TaggedError("CatalogDown")<{}> {}

interface Item {
  readonly id: string
  readonly name: string
  readonly score: number
}

// --- the providers ---------------------------------------------------------------------------------------------

type MlMode = "healthy" | "failing" | "slow"
let mlMode: MlMode = "healthy"

/** The ML recommendation service: personalised items, when it is up. */
const liveRecommendations = (userId: string): Effect.Effect<Array<Item>, MlServiceDown> =>
  Effect.suspend(() => {
    switch (mlMode) {
      case "healthy":
        return Effect.as(Effect.sleep("10 millis"), [{ id: `ML-${userId}`, name: `Picked for ${userId}`, score: 0.97 }])
      case "failing":
        return Effect.fail(new MlServiceDown({ status: 503 }))
      case "slow":
        return Effect.as(Effect.sleep("5 seconds"), [])
    }
  })

let catalogUp = true

/** Popular items of the catalog: no personalisation, but fresh. */
const popularInCategory = (_userId: string): Effect.Effect<Array<Item>, CatalogDown> =>
  Effect.suspend(() =>
    catalogUp ? Effect.succeed([{ id: "POP001", name: "Trending Gizmo", score: 0.9 }]) : Effect.fail(new CatalogDown())
  )

/** Hard-coded bestsellers, updated daily: the provider that cannot fail. */
const staticBestsellers = (_userId: string) =>
  Effect.succeed<Array<Item>>([
    { id: "BST001", name: "Universal Widget", score: 0.99 },
    { id: "BST002", name: "Premium Gadget", score: 0.95 }
  ])

class CatalogBreaker extends CircuitBreaker.Service<CatalogBreaker>()("app/CatalogBreaker") {}

// --- the chain -------------------------------------------------------------------------------------------------

const recommendations = FallbackChain.make<string>("recommendations", { budget: "400 millis" }).pipe(
  FallbackChain.add("ml_service", liveRecommendations),
  FallbackChain.lastKnownGood({
    name: "redis_cache",
    key: (userId) => userId,
    maxStaleness: "10 minutes",
    capacity: 10_000
  }),
  FallbackChain.add("popular_items", popularInCategory, {
    breaker: CatalogBreaker,
    id: "popular_items",
    concurrency: 100
  }),
  FallbackChain.add("static_bestsellers", staticBestsellers)
)

// --- the scenario ----------------------------------------------------------------------------------------------

const { check, finish } = makeChecker()

const turn = (description: string, userId: string, expectedSource: string) =>
  Effect.gen(function* () {
    yield* Console.log(`\n${description}`)
    const result = yield* FallbackChain.execute(recommendations, userId)
    const failures = result.failures.map((f) => `${f.source}: ${f.reason}`)
    yield* Console.log(
      `  ${userId} <- ${result.source}${result.isFallback ? " (fallback)" : ""}: ${result.value
        .map((item) => item.id)
        .join(
          ", "
        )} in ${Duration.toMillis(result.elapsed).toFixed(1)} ms${failures.length > 0 ? `; before it: ${failures.join(", ")}` : ""}`
    )
    yield* check(`${userId} answered by`, result.source, expectedSource)
    return result
  })

const counter = (metric: Metric.Counter<number>, attributes: Record<string, string>) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (state) => state.count)

const program = Effect.gen(function* () {
  mlMode = "healthy"
  yield* turn("1. the ml service is healthy: personalised items", "user-1", "ml_service")

  mlMode = "failing"
  const cached = yield* turn("2. the ml service fails: the cache serves user-1's last answer", "user-1", "redis_cache")
  yield* check("cached answer is user-1's ml answer", cached.value[0].id, "ML-user-1")
  yield* check("it says how stale it is", cached.staleness !== undefined, true)

  mlMode = "slow"
  const slow = yield* turn(
    "3. the ml service hangs: cut at its share of the budget (400 ms / 4); nothing cached for user-2",
    "user-2",
    "popular_items"
  )
  yield* check("the ml service timed out", slow.failures[0].reason, "timedOut")
  yield* check("the cache had nothing for user-2", slow.failures[1].reason, "failed")

  mlMode = "failing"
  catalogUp = false
  yield* turn("4. ml service and catalog both down: static bestsellers", "user-3", "static_bestsellers")

  const breaker = yield* CatalogBreaker
  yield* breaker.open("popular_items")
  const rejected = yield* turn(
    "5. the catalog's circuit is open: it is skipped at once",
    "user-3",
    "static_bestsellers"
  )
  yield* check("the catalog was rejected by its circuit", rejected.failures[2].reason, "rejected")

  yield* Console.log("\nmetrics: fallback activations per source (alert on a sustained rate, not on one)")
  const { activations, exhausted, latency } = FallbackChain.metrics
  const chain = "recommendations"
  yield* check("activations of redis_cache", yield* counter(activations, { chain, source: "redis_cache" }), 1)
  yield* check("activations of popular_items", yield* counter(activations, { chain, source: "popular_items" }), 1)
  yield* check(
    "activations of static_bestsellers",
    yield* counter(activations, { chain, source: "static_bestsellers" }),
    2
  )
  yield* check("exhausted calls", yield* counter(exhausted, { chain }), 0)
  const mlLatency = yield* Metric.value(Metric.withAttributes(latency, { chain, source: "ml_service" }))
  yield* check("ml_service answers timed", mlLatency.count, 1)
})

Effect.runPromise(
  program.pipe(
    Effect.provide(CircuitBreaker.layer(CatalogBreaker, { failureThreshold: 3, resetTimeout: "30 seconds" })),
    // one line per warning: the chain's failures and activations, as an operator would see them
    Effect.provide(Logger.layer([Logger.consoleLogFmt]))
  )
).then(() => finish("recommendations example"))
