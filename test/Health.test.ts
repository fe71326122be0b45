import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Layer } from "effect"
import { HttpClient, HttpRouter, HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import { createServer } from "node:http"
import { CircuitBreaker, Health } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}
class Payments extends CircuitBreaker.Service<Payments>()("test/Payments") {}
class Search extends CircuitBreaker.Service<Search>()("test/Search") {}

const Breakers = Layer.mergeAll(
  CircuitBreaker.layer(Payments, { failureThreshold: 1, resetTimeout: "30 seconds" }),
  CircuitBreaker.layer(Search, { failureThreshold: 1, failureRate: { threshold: 0.9, minimumCalls: 2, window: 10 } })
)

const serve = (options: Omit<Health.HttpOptions<[typeof Payments, typeof Search]>, "breakers"> = {}) =>
  HttpRouter.serve(Health.layerHttp({ breakers: [Payments, Search], ...options }), {
    disableListenLog: true,
    disableLogger: true
  }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(Breakers),
    Layer.provideMerge(NodeHttpClient.layerNodeHttp)
  )

const get = (path: string) =>
  HttpServer.addressFormattedWith((base) =>
    Effect.gen(function* () {
      const response = yield* HttpClient.get(`${base}${path}`)
      const retryAfter: string | undefined = response.headers["retry-after"]
      return { status: response.status, retryAfter, body: yield* response.json }
    })
  )

const trip = (breaker: CircuitBreaker.CircuitBreaker, id: string) =>
  Effect.exit(Effect.fail(new Boom()).pipe(breaker.protect(id)))

describe("Health", () => {
  it.effect("/health reports every circuit of the given domains as JSON", () =>
    Effect.gen(function* () {
      const search = yield* Search
      yield* Effect.succeed(1).pipe(search.protect("Query"))
      yield* trip(yield* Payments, "Charge")
      const { status, body } = yield* get("/health")
      assert.strictEqual(status, 200)
      const report = body as unknown as Health.Report
      assert.strictEqual(report.status, "degraded")
      assert.strictEqual(report.ready, true)
      assert.deepStrictEqual(report.circuits, [
        {
          domain: "test/Payments",
          id: "Charge",
          state: "Open",
          mode: "normal",
          forced: false,
          critical: false,
          retryAfterMillis: 30_000,
          failureRate: null,
          slowCallRate: null,
          successes: 0,
          failures: 1,
          rejected: 0
        },
        {
          domain: "test/Search",
          id: "Query",
          state: "Closed",
          mode: "normal",
          forced: false,
          critical: false,
          retryAfterMillis: null,
          failureRate: null,
          slowCallRate: null,
          successes: 1,
          failures: 0,
          rejected: 0
        }
      ])
    }).pipe(Effect.provide(serve()))
  )

  it.effect("/ready answers 503 while a critical circuit is Open, with the time left as Retry-After", () =>
    Effect.gen(function* () {
      const ready = yield* get("/ready")
      assert.deepStrictEqual([ready.status, ready.retryAfter, ready.body], [200, undefined, { ready: true }])
      yield* trip(yield* Search, "Query")
      assert.strictEqual((yield* get("/ready")).status, 200, "a non-critical circuit does not matter")
      yield* trip(yield* Payments, "Charge")
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* get("/ready"), {
        status: 503,
        retryAfter: "20",
        body: { ready: false, open: ["test/Payments/Charge"] }
      })
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual((yield* get("/ready")).status, 200, "HalfOpen admits trials again")
    }).pipe(Effect.provide(serve({ critical: ["Charge"] })))
  )

  it.effect("critical may be a predicate; a forced opening is not ready, without Retry-After", () =>
    Effect.gen(function* () {
      const payments = yield* Payments
      yield* payments.open("Refund")
      const ready = yield* get("/readyz")
      assert.deepStrictEqual([ready.status, ready.retryAfter], [503, undefined])
      assert.deepStrictEqual(ready.body, { ready: false, open: ["test/Payments/Refund"] })
      const health = (yield* get("/healthz")).body as unknown as Health.Report
      assert.deepStrictEqual(
        health.circuits.map((circuit) => [circuit.id, circuit.forced, circuit.critical, circuit.retryAfterMillis]),
        [["Refund", true, true, null]]
      )
    }).pipe(
      Effect.provide(
        serve({ critical: (circuit) => circuit.domain === "test/Payments", path: "/healthz", readinessPath: "/readyz" })
      )
    )
  )

  it.effect("report reads breakers directly; a critical predicate that throws counts the circuit as critical", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make("adhoc", { failureThreshold: 1 })
      yield* Effect.exit(Effect.fail(new Boom()).pipe(breaker.protect("Dep")))
      const report = yield* Health.report([breaker], {
        critical: () => {
          throw new Error("bug")
        }
      })
      assert.deepStrictEqual([report.ready, report.circuits[0]?.critical], [false, true])
    })
  )
  it.effect("options of the wrong type from untyped code die with HealthConfigError naming the field", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make("adhoc")
      const defectOf = (exit: Exit.Exit<unknown, unknown>) =>
        Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      const critical = defectOf(yield* Effect.exit(Health.report([breaker], { critical: "Dep" as any })))
      assert.instanceOf(critical, Health.HealthConfigError)
      assert.strictEqual((critical as Health.HealthConfigError).field, "critical")
      const breakers = defectOf(yield* Effect.exit(Health.report(breaker as any)))
      assert.strictEqual((breakers as Health.HealthConfigError).field, "breakers")
      const layer = Health.layerHttp({ breakers: [Payments], path: "health" as any })
      const path = defectOf(
        yield* Effect.exit(
          Layer.build(layer).pipe(Effect.provide(Layer.merge(HttpRouter.layer, Breakers)), Effect.scoped)
        )
      )
      assert.strictEqual((path as Health.HealthConfigError).field, "path")
    })
  )
})
