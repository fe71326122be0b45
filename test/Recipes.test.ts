// The compositions of docs/Recipes.md, on an in-memory dependency and the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Fiber, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Bulkhead, CircuitBreaker, Fallback } from "effect-fallback"
import { waitOutOpenCircuits } from "../examples/retry.ts"

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}

/** A dependency that fails its first `failures` calls (all of them by default), counting calls. */
const dependency = (failures = Number.POSITIVE_INFINITY) => {
  const state = { calls: 0 }
  const call = Effect.suspend(() => {
    state.calls++
    return state.calls <= failures ? Effect.fail(new Unavailable()) : Effect.succeed("answer")
  })
  return { state, call }
}

const breaker = (options: CircuitBreaker.Options = {}) =>
  CircuitBreaker.make("test/Recipes", { failureThreshold: 2, resetTimeout: "10 seconds", ...options })

describe("Recipes", () => {
  describe("retry and the breaker", () => {
    it.effect("retry outside the protection (recommended): the circuit sees every attempt", () =>
      Effect.gen(function* () {
        const cb = yield* breaker({ failureThreshold: 5 })
        const { call } = dependency(2)
        assert.strictEqual(yield* call.pipe(cb.protect("Dep"), Effect.retry({ times: 3 })), "answer")
        const stats = yield* cb.stats("Dep")
        assert.deepStrictEqual([stats.failures, stats.successes], [2, 1])
      })
    )

    it.effect("retry inside the protection: the circuit sees one outcome per logical call", () =>
      Effect.gen(function* () {
        const cb = yield* breaker({ failureThreshold: 5 })
        const { call } = dependency(2)
        assert.strictEqual(yield* call.pipe(Effect.retry({ times: 3 }), cb.protect("Dep")), "answer")
        const stats = yield* cb.stats("Dep")
        assert.deepStrictEqual([stats.failures, stats.successes], [0, 1])
      })
    )

    it.effect("retry outside stops calling an open circuit and waits its retryAfter for the trial", () =>
      Effect.gen(function* () {
        const cb = yield* breaker()
        const { state, call } = dependency()
        const schedule = waitOutOpenCircuits(Schedule.spaced("1 second"))
        const fiber = yield* call.pipe(
          cb.protect("Dep"),
          Effect.retry({ schedule, times: 4 }),
          Effect.flip,
          Effect.forkChild
        )
        // t=0 call 1 fails; t=1 call 2 fails and opens until t=11; t=2 rejected, waits 9 s; t=11 the trial (call 3)
        // fails and reopens; t=12 rejected: retries exhausted.
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual(state.calls, 2)
        yield* TestClock.adjust("8 seconds")
        assert.strictEqual(state.calls, 2)
        yield* TestClock.adjust("2 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(state.calls, 3)
        assert.isTrue(CircuitBreaker.isCircuitOpenError(error))
      })
    )

    it.effect("retry outside that gives up on an open circuit hands over to the fallback at once", () =>
      Effect.gen(function* () {
        const cb = yield* breaker()
        const { state, call } = dependency()
        const answer = yield* call.pipe(
          cb.protect("Dep"),
          Effect.retry({ times: 10, while: (error) => !CircuitBreaker.isCircuitOpenError(error) }),
          Fallback.orElse(Effect.succeed("cached"))
        )
        assert.strictEqual(answer, "cached")
        assert.strictEqual(state.calls, 2)
      })
    )
  })

  describe("timeout, bulkhead, breaker, fallback", () => {
    it.effect("a timeout inside the breaker counts; a full bulkhead excluded from it does not", () =>
      Effect.gen(function* () {
        const cb = yield* breaker({ failureThreshold: 1, exclude: ["BulkheadFull"] })
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
        const guarded = <A>(call: Effect.Effect<A>) =>
          call.pipe(
            bulkhead.protect,
            Effect.timeout("1 second"),
            cb.protect("Dep"),
            Fallback.orElse((error) => Effect.succeed(`fallback after ${error._tag}`))
          )
        const hanging = yield* Effect.forkChild(guarded(Effect.never), { startImmediately: true })
        assert.strictEqual(yield* guarded(Effect.succeed("live")), "fallback after BulkheadFull")
        assert.strictEqual(yield* cb.state("Dep"), "Closed")
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* Fiber.join(hanging), "fallback after TimeoutError")
        assert.strictEqual(yield* cb.state("Dep"), "Open")
        assert.strictEqual(yield* guarded(Effect.succeed("live")), "fallback after CircuitOpenError")
      })
    )
  })
})
