import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Data, Duration, Effect, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}
class CardDeclined extends Data.TaggedError("CardDeclined")<{}> {}
class Payments extends CircuitBreaker.Service<Payments>()("test/Payments") {}

const fromEnv = (env: Record<string, string>, defaults?: CircuitBreaker.Options) =>
  CircuitBreaker.layerConfig(Payments, { prefix: "PAYMENTS_BREAKER", defaults }).pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

const failures = (breaker: CircuitBreaker.CircuitBreaker, n: number, error: Boom | CardDeclined = new Boom()) =>
  Effect.repeat(Effect.exit(Effect.fail(error).pipe(breaker.protect("charge"))), { times: n - 1 })

describe("CircuitBreaker.layerConfig", () => {
  it.effect("reads settings from environment variables named <PREFIX>_<SETTING>", () =>
    Effect.gen(function* () {
      const breaker = yield* Payments
      yield* failures(breaker, 3)
      const stats = yield* breaker.stats("charge")
      assert.strictEqual(stats.state, "Open")
      assert.strictEqual(Duration.toMillis(stats.retryAfter!), 30_000)
    }).pipe(
      Effect.provide(
        fromEnv({
          PAYMENTS_BREAKER_FAILURE_THRESHOLD: "3",
          PAYMENTS_BREAKER_RESET_TIMEOUT: "30 seconds"
        })
      )
    )
  )

  it.effect("unset variables keep the defaults given in code, then the built-in defaults", () =>
    Effect.gen(function* () {
      const breaker = yield* Payments
      yield* failures(breaker, 4, new CardDeclined())
      yield* failures(breaker, 1)
      assert.strictEqual(yield* breaker.state("charge"), "Closed")
      yield* failures(breaker, 1)
      const stats = yield* breaker.stats("charge")
      assert.strictEqual(stats.state, "Open")
      assert.strictEqual(Duration.toMillis(stats.retryAfter!), 60_000)
    }).pipe(Effect.provide(fromEnv({}, { failureThreshold: 2, exclude: ["CardDeclined"] })))
  )

  it.effect("nested settings (failure rate window, half-open timeout) come from their own variables", () =>
    Effect.gen(function* () {
      const breaker = yield* Payments
      yield* Effect.exit(Effect.succeed(1).pipe(breaker.protect("charge")))
      yield* failures(breaker, 1)
      assert.strictEqual(yield* breaker.state("charge"), "Open")
      yield* TestClock.adjust("1 minute")
      yield* Effect.never.pipe(breaker.protect("charge"), Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* breaker.state("charge"), "Open")
    }).pipe(
      Effect.provide(
        fromEnv({
          PAYMENTS_BREAKER_FAILURE_RATE_THRESHOLD: "0.5",
          PAYMENTS_BREAKER_FAILURE_RATE_MINIMUM_CALLS: "2",
          PAYMENTS_BREAKER_FAILURE_RATE_WINDOW: "10",
          PAYMENTS_BREAKER_HALF_OPEN_TIMEOUT: "5 seconds",
          PAYMENTS_BREAKER_EXCLUDE: "CardDeclined, NotFound"
        })
      )
    )
  )

  it.effect(
    "METRICS_CIRCUIT_SERIES sets how many circuits get series of their own; out of range it names the variable",
    () =>
      Effect.gen(function* () {
        const labelled = yield* Effect.gen(function* () {
          const breaker = yield* Payments
          for (const id of ["a", "b", "c"]) yield* Effect.succeed(1).pipe(breaker.protect(id))
          const text = yield* PrometheusMetrics.format()
          return text.split("\n").filter((line) => line.startsWith("circuit_breaker_state{")).length
        }).pipe(
          Effect.provide(fromEnv({ PAYMENTS_BREAKER_METRICS_CIRCUIT_SERIES: "2" })),
          Effect.provideService(Metric.MetricRegistry, new Map())
        )
        assert.strictEqual(labelled, 2)
        const error = yield* Effect.flip(
          Layer.build(fromEnv({ PAYMENTS_BREAKER_METRICS_CIRCUIT_SERIES: "20000" })).pipe(Effect.scoped)
        )
        assert.strictEqual(error.field, "PAYMENTS_BREAKER_METRICS_CIRCUIT_SERIES (metrics.circuitSeries)")
        assert.include(error.message, "an integer >= 0 and <= 10000")
      })
  )

  it.effect.each([
    [{ PAYMENTS_BREAKER_FAILURE_THRESHOLD: "three" }, "PAYMENTS_BREAKER_FAILURE_THRESHOLD", "an integer >= 1"],
    [
      { PAYMENTS_BREAKER_FAILURE_THRESHOLD: "0" },
      "PAYMENTS_BREAKER_FAILURE_THRESHOLD (failureThreshold)",
      "an integer >= 1"
    ],
    [
      { PAYMENTS_BREAKER_RESET_TIMEOUT: "soon" },
      "PAYMENTS_BREAKER_RESET_TIMEOUT (resetTimeout)",
      "a positive duration"
    ],
    [
      { PAYMENTS_BREAKER_FAILURE_RATE_THRESHOLD: "1.5", PAYMENTS_BREAKER_FAILURE_RATE_WINDOW: "10" },
      "PAYMENTS_BREAKER_FAILURE_RATE_THRESHOLD (failureRate.threshold)",
      "a rate in (0, 1]"
    ],
    [
      { PAYMENTS_BREAKER_FAILURE_RATE_THRESHOLD: "0.5" },
      "PAYMENTS_BREAKER_FAILURE_RATE_WINDOW (failureRate.window)",
      "a positive finite duration or an integer >= 1"
    ],
    [{ PAYMENTS_BREAKER_MODE: "off" }, "PAYMENTS_BREAKER_MODE (mode)", `"normal", "disabled" or "metricsOnly"`],
    [
      { PAYMENTS_BREAKER_HALF_OPEN_TIMEOUT_ACTION: "interrupt" },
      "PAYMENTS_BREAKER_HALF_OPEN_TIMEOUT (halfOpenTimeout.duration)",
      "a positive duration"
    ],
    [
      { PAYMENTS_BREAKER_HALF_OPEN_TIMEOUT: "-1 seconds" },
      "PAYMENTS_BREAKER_HALF_OPEN_TIMEOUT (halfOpenTimeout.duration)",
      "a positive duration"
    ],
    [
      { PAYMENTS_BREAKER_FAILURE_RATE_THRESHOLD: "0.5", PAYMENTS_BREAKER_FAILURE_RATE_WINDOW: "99999999999" },
      "PAYMENTS_BREAKER_FAILURE_RATE_WINDOW (failureRate.window)",
      "at most 100000"
    ]
  ] as const)("an invalid %j fails the layer naming the variable and the allowed range", ([env, field, expected]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.provide(Payments.use(Effect.succeed), fromEnv(env)))
      assert.strictEqual(error._tag, "CircuitBreakerConfigError")
      assert.strictEqual(error.field, field)
      assert.include(error.message, expected)
    })
  )
})
