import { assert, describe, it } from "@effect/vitest"
import { Data, Duration, Effect, Exit, Fiber, Logger, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}
class RateLimited extends Data.TaggedError("RateLimited")<{ readonly retryAfterSeconds: number }> {}

class Api extends CircuitBreaker.Service<Api>()("test/Api") {}

const withBreaker = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(Api, options))

const succeed = (breaker: CircuitBreaker.CircuitBreaker, id = "x") =>
  Effect.exit(Effect.succeed(1).pipe(breaker.protect(id)))
const failOnce = (breaker: CircuitBreaker.CircuitBreaker, id = "x") =>
  Effect.exit(Effect.fail(new Boom()).pipe(breaker.protect(id)))
const sleepy = (breaker: CircuitBreaker.CircuitBreaker, duration: Duration.Input, id = "x") =>
  Effect.sleep(duration).pipe(Effect.as("slow"), breaker.protect(id), Effect.forkChild({ startImmediately: true }))

const repeat = (n: number, effect: Effect.Effect<unknown>) => Effect.repeat(effect, { times: n - 1 })

describe("CircuitBreaker policies", () => {
  describe("failureRate over a count window", () => {
    it.effect("the rate is undefined until minimumCalls outcomes are in the window", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(4, failOnce(breaker))
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.failureRate, undefined)
        assert.strictEqual(stats.state, "Closed")
      }).pipe(withBreaker({ failureThreshold: 100, failureRate: { threshold: 0.5, minimumCalls: 5, window: 10 } }))
    )

    it.effect("trips when the failure rate reaches the threshold (>=), even with successes in between", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        for (let i = 0; i < 4; i++) {
          yield* succeed(breaker)
          yield* failOnce(breaker)
        }
        yield* succeed(breaker)
        assert.strictEqual((yield* breaker.stats("x")).failureRate, undefined, "9 outcomes: below minimumCalls")
        yield* failOnce(breaker)
        assert.strictEqual(yield* breaker.state("x"), "Open", "5 failures in 10: a rate of 0.5 trips at 0.5")
        const opened = yield* breaker.stats("x")
        assert.strictEqual(opened.openings, 1)
      }).pipe(withBreaker({ failureThreshold: 100, failureRate: { threshold: 0.5, minimumCalls: 10, window: 10 } }))
    )

    it.effect("only the last N outcomes count: old failures leave the ring", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(3, failOnce(breaker))
        yield* repeat(5, succeed(breaker))
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.windowCalls, 5)
        assert.strictEqual(stats.failureRate, 0)
      }).pipe(withBreaker({ failureThreshold: 100, failureRate: { threshold: 0.7, minimumCalls: 5, window: 5 } }))
    )

    it.effect("works beside failureThreshold: either trips", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(3, failOnce(breaker))
        assert.strictEqual(yield* breaker.state("x"), "Open")
      }).pipe(withBreaker({ failureThreshold: 3, failureRate: { threshold: 0.9, minimumCalls: 50, window: 100 } }))
    )
  })

  describe("failureRate over a time window", () => {
    it.effect("outcomes older than the window no longer count", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(3, failOnce(breaker))
        yield* TestClock.adjust("61 seconds")
        yield* repeat(3, succeed(breaker))
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.windowCalls, 3)
        assert.strictEqual(stats.failureRate, undefined)
        yield* succeed(breaker)
        assert.strictEqual((yield* breaker.stats("x")).failureRate, 0)
      }).pipe(
        withBreaker({ failureThreshold: 100, failureRate: { threshold: 0.5, minimumCalls: 4, window: "1 minute" } })
      )
    )

    it.effect("an idle gap longer than the window expires every bucket", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(3, failOnce(breaker))
        // A gap of one window plus a bucket lands on the same ring slots the failures used.
        yield* TestClock.adjust("63 seconds")
        yield* repeat(2, failOnce(breaker))
        yield* repeat(2, succeed(breaker))
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.windowCalls, 4)
        assert.strictEqual(stats.failureRate, 0.5)
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual((yield* breaker.stats("x")).windowCalls, 0)
      }).pipe(
        withBreaker({ failureThreshold: 100, failureRate: { threshold: 0.75, minimumCalls: 4, window: "1 minute" } })
      )
    )

    it.effect("outcomes within the window are kept across buckets", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* failOnce(breaker)
        yield* TestClock.adjust("20 seconds")
        yield* failOnce(breaker)
        yield* TestClock.adjust("20 seconds")
        yield* failOnce(breaker)
        assert.strictEqual(yield* breaker.state("x"), "Open")
      }).pipe(
        withBreaker({ failureThreshold: 100, failureRate: { threshold: 1, minimumCalls: 3, window: "1 minute" } })
      )
    )
  })

  describe("slowCall", () => {
    it.effect("a call slower than the duration is slow; slow successes still return their value", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        const fiber = yield* sleepy(breaker, "3 seconds")
        yield* TestClock.adjust("3 seconds")
        assert.strictEqual(yield* Fiber.join(fiber), "slow")
        const stats = yield* breaker.stats("x")
        assert.deepStrictEqual([stats.slow, stats.successes, stats.slowCallRate], [1, 1, undefined])
      }).pipe(withBreaker({ slowCall: { duration: "2 seconds", rateThreshold: 0.5, minimumCalls: 2 } }))
    )

    it.effect("a call of exactly the duration is not slow", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        const fiber = yield* sleepy(breaker, "2 seconds")
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual((yield* breaker.stats("x")).slow, 0)
      }).pipe(withBreaker({ slowCall: { duration: "2 seconds", rateThreshold: 0.5 } }))
    )

    it.effect("trips when the slow-call rate reaches the threshold", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* succeed(breaker)
        const fiber = yield* sleepy(breaker, "5 seconds")
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(yield* breaker.state("x"), "Open")
        const reasons = (yield* breaker.stats("x")).slowCallRate
        assert.strictEqual(reasons, undefined, "the window is cleared when the circuit opens")
      }).pipe(withBreaker({ slowCall: { duration: "1 second", rateThreshold: 0.5, minimumCalls: 2 } }))
    )

    it.effect("a slow trial call reopens a HalfOpen circuit", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* failOnce(breaker)
        yield* TestClock.adjust("1 minute")
        const fiber = yield* sleepy(breaker, "5 seconds")
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(yield* breaker.state("x"), "Open")
      }).pipe(withBreaker({ failureThreshold: 1, slowCall: { duration: "1 second", rateThreshold: 1 } }))
    )
  })

  describe("isFailure", () => {
    it.effect("a success value can count as a failure while the value is still returned", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        const response = { status: 503 }
        const value = yield* Effect.succeed(response).pipe(breaker.protect("http"))
        assert.strictEqual(value, response)
        assert.strictEqual(yield* breaker.state("http"), "Open")
      }).pipe(
        withBreaker({
          failureThreshold: 1,
          isFailure: (value) => (value as { status?: number }).status === 503
        })
      )
    )
  })

  describe("user callbacks that throw", () => {
    const thrower = () => {
      throw new Error("callback bug")
    }
    const captured = (lines: Array<string>) =>
      Logger.layer([
        Logger.make(({ message }) => lines.push(Array.isArray(message) ? String(message[0]) : String(message)))
      ])

    it.effect("a throwing exclude counts the call as a failure and loses no HalfOpen permit", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* failOnce(breaker)
        yield* TestClock.adjust("1 second")
        const trial = yield* failOnce(breaker)
        assert.isTrue(Exit.hasFails(trial), "the caller still sees its own failure")
        assert.strictEqual(yield* breaker.state("x"), "Open", "the failed trial reopened the circuit")
        yield* TestClock.adjust("1 second")
        yield* succeed(breaker)
        assert.strictEqual(yield* breaker.state("x"), "Closed", "the next trial got the permit")
      }).pipe(withBreaker({ failureThreshold: 1, resetTimeout: "1 second", exclude: thrower }))
    )

    it.effect("a throwing isFailure counts the call as a failure; the value is still returned", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        assert.strictEqual(yield* Effect.succeed(7).pipe(breaker.protect("x")), 7)
        assert.strictEqual(yield* breaker.state("x"), "Open")
      }).pipe(withBreaker({ failureThreshold: 1, isFailure: thrower }))
    )

    it.effect(
      "a throwing retryAfter leaves the opening at resetTimeout, and the throw is logged with the circuit",
      () => {
        const lines: Array<string> = []
        return Effect.gen(function* () {
          const breaker = yield* Api
          yield* repeat(2, failOnce(breaker))
          const stats = yield* breaker.stats("x")
          assert.strictEqual(stats.state, "Open")
          assert.strictEqual(Duration.toMillis(stats.retryAfter!), 30_000)
          assert.isTrue(
            lines.some((line) => line.includes("retryAfter") && line.includes(`"x"`)),
            lines.join("\n")
          )
        }).pipe(
          withBreaker({ failureThreshold: 2, resetTimeout: "30 seconds", retryAfter: thrower }),
          Effect.provide(captured(lines))
        )
      }
    )
  })

  describe("resetTimeout as a Schedule", () => {
    it.effect("the n-th consecutive opening lasts the n-th delay, capped by maxResetTimeout", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        const openings: Array<number> = []
        for (let i = 0; i < 5; i++) {
          yield* failOnce(breaker)
          const stats = yield* breaker.stats("x")
          openings.push(Duration.toMillis(stats.retryAfter!))
          yield* TestClock.adjust(stats.retryAfter!)
          assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
        }
        assert.deepStrictEqual(openings, [1000, 2000, 4000, 8000, 10_000])
      }).pipe(
        withBreaker({
          failureThreshold: 1,
          resetTimeout: Schedule.exponential("1 second"),
          maxResetTimeout: "10 seconds"
        })
      )
    )

    it.effect("the count of openings resets after the circuit stayed closed for backoffResetAfter", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        const openingMillis = Effect.map(breaker.stats("x"), (s) => Duration.toMillis(s.retryAfter!))
        const openAndRecover = Effect.gen(function* () {
          yield* failOnce(breaker)
          const millis = yield* openingMillis
          yield* TestClock.adjust(millis)
          yield* succeed(breaker)
          return millis
        })
        assert.strictEqual(yield* openAndRecover, 1000)
        assert.strictEqual(yield* openAndRecover, 2000)
        yield* TestClock.adjust("29 seconds")
        assert.strictEqual(yield* openAndRecover, 4000, "closed for less than 30 s: the backoff goes on")
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(yield* openAndRecover, 1000, "closed for 30 s: the backoff starts over")
      }).pipe(
        withBreaker({
          failureThreshold: 1,
          resetTimeout: Schedule.exponential("1 second"),
          backoffResetAfter: "30 seconds"
        })
      )
    )

    it.effect("by default the backoff resets after staying closed as long as the last opening", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* failOnce(breaker)
        yield* TestClock.adjust("1 second")
        yield* succeed(breaker)
        yield* TestClock.adjust("999 millis")
        yield* failOnce(breaker)
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 2000)
        yield* TestClock.adjust("2 seconds")
        yield* succeed(breaker)
        yield* TestClock.adjust("2 seconds")
        yield* failOnce(breaker)
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 1000)
      }).pipe(withBreaker({ failureThreshold: 1, resetTimeout: Schedule.exponential("1 second") }))
    )

    it.effect("an infinite retry-after hint without maxResetTimeout is ignored: every opening ends by itself", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* Effect.exit(Effect.fail(new RateLimited({ retryAfterSeconds: Infinity })).pipe(breaker.protect("x")))
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 60_000)
      }).pipe(
        withBreaker({
          failureThreshold: 1,
          resetTimeout: "1 minute",
          retryAfter: (error) => (error instanceof RateLimited ? Duration.seconds(error.retryAfterSeconds) : undefined)
        })
      )
    )

    it.effect("a failure's retry-after hint lengthens the opening, capped by maxResetTimeout", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* Effect.exit(Effect.fail(new RateLimited({ retryAfterSeconds: 90 })).pipe(breaker.protect("x")))
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 90_000)
        yield* breaker.reset("x")
        yield* Effect.exit(Effect.fail(new RateLimited({ retryAfterSeconds: 900 })).pipe(breaker.protect("x")))
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 300_000)
        yield* breaker.reset("x")
        yield* Effect.exit(Effect.fail(new RateLimited({ retryAfterSeconds: 1 })).pipe(breaker.protect("x")))
        assert.strictEqual(Duration.toMillis((yield* breaker.stats("x")).retryAfter!), 60_000, "a hint never shortens")
      }).pipe(
        withBreaker({
          failureThreshold: 1,
          resetTimeout: "1 minute",
          maxResetTimeout: "5 minutes",
          retryAfter: (error) => (error instanceof RateLimited ? Duration.seconds(error.retryAfterSeconds) : undefined)
        })
      )
    )
  })

  describe("halfOpenTimeout", () => {
    it.effect("a hung trial no longer keeps the circuit half open: it goes back to Open", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* failOnce(breaker)
        yield* TestClock.adjust("1 minute")
        const hung = yield* Effect.never.pipe(breaker.protect("x"), Effect.forkChild({ startImmediately: true }))
        yield* TestClock.adjust("9 seconds")
        assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* breaker.state("x"), "Open")
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* Effect.succeed("recovered").pipe(breaker.protect("x")), "recovered")
        assert.strictEqual(yield* breaker.state("x"), "Closed")
        yield* Fiber.interrupt(hung)
        assert.strictEqual(yield* breaker.state("x"), "Closed", "the hung call's interruption is fenced off")
      }).pipe(withBreaker({ failureThreshold: 1, halfOpenTimeout: "10 seconds" }))
    )

    it.effect(
      "with onTimeout: interrupt, the trial is interrupted, counted as a failure, and the caller is rejected",
      () =>
        Effect.gen(function* () {
          const breaker = yield* Api
          yield* failOnce(breaker)
          yield* TestClock.adjust("1 minute")
          const hung = yield* Effect.never.pipe(
            breaker.protect("x"),
            Effect.flip,
            Effect.forkChild({ startImmediately: true })
          )
          yield* TestClock.adjust("10 seconds")
          const error = yield* Fiber.join(hung)
          assert.strictEqual(error._tag, "CircuitOpenError")
          const stats = yield* breaker.stats("x")
          assert.deepStrictEqual([stats.state, stats.failures, stats.openings], ["Open", 2, 2])
        }).pipe(
          withBreaker({ failureThreshold: 1, halfOpenTimeout: { duration: "10 seconds", onTimeout: "interrupt" } })
        )
    )
  })

  describe("modes", () => {
    it.effect("disabled admits every call and records nothing", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* breaker.setMode("x", "disabled")
        yield* repeat(5, failOnce(breaker))
        const stats = yield* breaker.stats("x")
        assert.deepStrictEqual([stats.state, stats.failures, stats.mode], ["Closed", 0, "disabled"])
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("metricsOnly records and transitions but never rejects; switching to normal enforces", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* breaker.setMode("x", "metricsOnly")
        yield* failOnce(breaker)
        assert.strictEqual(yield* breaker.state("x"), "Open")
        const ran = yield* Effect.succeed("ran").pipe(breaker.protect("x"))
        assert.strictEqual(ran, "ran")
        const stats = yield* breaker.stats("x")
        assert.deepStrictEqual([stats.rejected, stats.successes, stats.state], [1, 0, "Open"])
        yield* breaker.setMode("x", "normal")
        const error = yield* Effect.flip(Effect.succeed("x").pipe(breaker.protect("x")))
        assert.strictEqual(error._tag, "CircuitOpenError")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("the mode option sets the mode circuits start in", () =>
      Effect.gen(function* () {
        const breaker = yield* Api
        yield* repeat(3, failOnce(breaker, "y"))
        assert.strictEqual((yield* breaker.stats("y")).mode, "disabled")
      }).pipe(withBreaker({ failureThreshold: 1, mode: "disabled" }))
    )
  })
})
