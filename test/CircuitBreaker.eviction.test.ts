import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Data, Deferred, Duration, Effect, Exit, Fiber, Layer, Metric, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}
class Tenants extends CircuitBreaker.Service<Tenants>()("test/Tenants") {}

const ok = Effect.succeed("ok")
const fail = Effect.fail(new Boom())

const withBreaker = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(Tenants, options))

/** One successful call through circuit `id`. */
const use = (breaker: CircuitBreaker.CircuitBreaker, id: string) => ok.pipe(breaker.protect(id))

const failures = (breaker: CircuitBreaker.CircuitBreaker, id: string, n: number) =>
  Effect.repeat(Effect.exit(fail.pipe(breaker.protect(id))), { times: n - 1 })

/** The ids of the circuits the breaker holds, sorted. */
const ids = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.circuits, (all) => all.map((stats) => stats.id).sort())

/** Calls `n` circuits never used before, `prefix-0` to `prefix-(n-1)`. */
const stream = (breaker: CircuitBreaker.CircuitBreaker, prefix: string, n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* use(breaker, `${prefix}-${i}`)
  })

describe("CircuitBreaker eviction", () => {
  describe("maxCircuits", () => {
    it.effect("a new circuit beyond the cap drops the least recently used idle one", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* use(breaker, "a")
        yield* use(breaker, "b")
        yield* use(breaker, "c")
        yield* use(breaker, "a")
        yield* use(breaker, "d")
        assert.deepStrictEqual(yield* ids(breaker), ["a", "c", "d"])
        yield* use(breaker, "e")
        assert.deepStrictEqual(yield* ids(breaker), ["a", "d", "e"])
      }).pipe(withBreaker({ maxCircuits: 3 }))
    )

    it.effect(
      "a circuit used between every new one stays while 200,000 distinct ids stream through a cap of 1,000",
      () =>
        Effect.gen(function* () {
          const breaker = yield* Tenants
          yield* failures(breaker, "hot", 2)
          for (let i = 0; i < 200_000; i++) {
            yield* use(breaker, `user-${i}`)
            yield* Effect.exit(fail.pipe(breaker.protect("hot")))
            yield* use(breaker, "hot")
          }
          const all = yield* breaker.circuits
          assert.strictEqual(all.length, 1_000)
          const hot = yield* breaker.stats("hot")
          // Never dropped: its totals were never reset.
          assert.strictEqual(hot.failures, 200_002)
          assert.strictEqual(hot.successes, 200_000)
        }).pipe(withBreaker({ maxCircuits: 1_000, failureThreshold: 1_000_000 }))
    )

    it.effect("an idle circuit goes before a Closed one with counts; with no idle one left, the counts go too", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* failures(breaker, "partial", 2)
        yield* use(breaker, "idle")
        yield* use(breaker, "new")
        assert.deepStrictEqual(yield* ids(breaker), ["new", "partial"])
        yield* failures(breaker, "new", 1)
        yield* use(breaker, "newer")
        assert.deepStrictEqual(yield* ids(breaker), ["new", "newer"])
        // A dropped circuit comes back Closed with empty counts.
        const back = yield* breaker.stats("partial")
        assert.strictEqual(back.state, "Closed")
        assert.strictEqual(back.consecutiveFailures, 0)
        assert.strictEqual(back.failures, 0)
      }).pipe(withBreaker({ maxCircuits: 2, failureThreshold: 5 }))
    )

    it.effect("Open, HalfOpen, forced and other-mode circuits are never dropped, however many ids come after", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* failures(breaker, "halfOpen", 1)
        yield* breaker.open("forced")
        yield* breaker.setMode("disabled", "disabled")
        yield* TestClock.adjust("50 seconds")
        assert.strictEqual(yield* breaker.state("halfOpen"), "HalfOpen")
        yield* failures(breaker, "open", 1)
        yield* stream(breaker, "user", 500)
        const all = yield* breaker.circuits
        // The four it must keep count in the cap; only they could take the breaker past it.
        assert.strictEqual(all.length, 10)
        assert.strictEqual(yield* breaker.state("open"), "Open")
        assert.strictEqual(yield* breaker.state("halfOpen"), "HalfOpen")
        assert.strictEqual(yield* breaker.state("forced"), "Open")
        assert.strictEqual((yield* breaker.stats("disabled")).mode, "disabled")
        // The domain's gauge of circuits per state follows the drops.
        const held = (state: string) =>
          Metric.value(Metric.withAttributes(CircuitBreaker.metrics.circuits, { domain: "test/Tenants", state })).pipe(
            Effect.map((gauge) => gauge.value)
          )
        assert.strictEqual(yield* held("Closed"), 10 - 3)
        assert.strictEqual(yield* held("Open"), 2)
        assert.strictEqual(yield* held("HalfOpen"), 1)
      }).pipe(withBreaker({ maxCircuits: 10, failureThreshold: 1, resetTimeout: "45 seconds" }))
    )
    it.effect("circuits of failing ids kept Open past the cap make way once their openings are over", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        for (let i = 0; i < 30; i++) yield* failures(breaker, `failing-${i}`, 1)
        // Every one of them is Open: all kept, past the cap.
        assert.strictEqual((yield* breaker.circuits).length, 30)
        yield* TestClock.adjust("10 seconds")
        // Each new circuit drops up to two: the breaker goes back to its cap.
        yield* stream(breaker, "user", 40)
        const held = yield* ids(breaker)
        assert.strictEqual(held.length, 10)
        const gone = Array.from({ length: 30 }, (_, i) => `failing-${i}`).filter((id) => !held.includes(id))
        assert.isAtLeast(gone.length, 20)
        // A dropped one comes back Closed, with no memory of its openings.
        const back = yield* breaker.stats(gone[0]!)
        assert.strictEqual(back.state, "Closed")
        assert.strictEqual(back.openings, 0)
      }).pipe(withBreaker({ maxCircuits: 10, failureThreshold: 1, resetTimeout: "10 seconds" }))
    )
  })

  describe("idleTimeout", () => {
    it.effect("a circuit left idle is dropped after idleTimeout, within a quarter of it more", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* use(breaker, "a")
        yield* use(breaker, "b")
        yield* TestClock.adjust("30 seconds")
        yield* use(breaker, "b")
        yield* TestClock.adjust("29 seconds")
        assert.deepStrictEqual(yield* ids(breaker), ["a", "b"])
        yield* TestClock.adjust("16 seconds")
        assert.deepStrictEqual(yield* ids(breaker), ["b"])
        yield* TestClock.adjust("45 seconds")
        assert.deepStrictEqual(yield* ids(breaker), [])
      }).pipe(withBreaker({ idleTimeout: "1 minute" }))
    )

    it.effect("circuits with counts, Open or forced ones stay however long they are left alone", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* failures(breaker, "partial", 1)
        yield* failures(breaker, "open", 2)
        yield* breaker.open("forced")
        yield* use(breaker, "idle")
        yield* TestClock.adjust("10 minutes")
        assert.deepStrictEqual(yield* ids(breaker), ["forced", "open", "partial"])
        assert.strictEqual((yield* breaker.stats("partial")).consecutiveFailures, 1)
      }).pipe(withBreaker({ idleTimeout: "1 minute", failureThreshold: 2, resetTimeout: "1 hour" }))
    )

    it.effect("an Open circuit left alone is dropped once its opening is over and the idle timeout has passed", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* failures(breaker, "open", 1)
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* ids(breaker), ["open"])
        yield* TestClock.adjust("2 minutes")
        assert.deepStrictEqual(yield* ids(breaker), [])
      }).pipe(withBreaker({ idleTimeout: "1 minute", failureThreshold: 1, resetTimeout: "2 minutes" }))
    )

    it.effect("a sweep over 25,000 idle circuits drops them all, a chunk at a time", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* stream(breaker, "user", 25_000)
        yield* TestClock.adjust("2 minutes")
        assert.strictEqual((yield* breaker.circuits).length, 0)
      }).pipe(withBreaker({ idleTimeout: "1 minute" }))
    )
  })

  describe("reading and holding circuits", () => {
    it.effect("state and stats of an unknown id read a fresh Closed circuit and create nothing", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        assert.strictEqual(yield* breaker.state("nobody"), "Closed")
        const stats = yield* breaker.stats("nobody")
        assert.strictEqual(stats.id, "nobody")
        assert.strictEqual(stats.mode, "metricsOnly")
        assert.strictEqual(stats.windowCalls, 0)
        assert.strictEqual(stats.failureRate, undefined)
        assert.deepStrictEqual(yield* breaker.circuits, [])
      }).pipe(withBreaker({ mode: "metricsOnly", failureRate: { threshold: 0.5, window: 10 } }))
    )

    it.effect("manual operations create the circuit they act on", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        yield* breaker.reset("r")
        yield* breaker.setMode("m", "disabled")
        assert.deepStrictEqual(yield* ids(breaker), ["m", "r"])
      }).pipe(withBreaker({}))
    )

    it.effect("the function protect handed out keeps working after its circuit was dropped", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        const protectA = breaker.protect("a")
        yield* ok.pipe(protectA)
        yield* use(breaker, "b")
        assert.deepStrictEqual(yield* ids(breaker), ["b"])
        yield* Effect.exit(fail.pipe(protectA))
        yield* Effect.exit(fail.pipe(protectA))
        assert.deepStrictEqual(yield* ids(breaker), ["a"])
        assert.strictEqual(yield* breaker.state("a"), "Open")
        assert.strictEqual(breaker.protect("a"), protectA)
      }).pipe(withBreaker({ maxCircuits: 1, failureThreshold: 2 }))
    )

    it.effect("a stream protected before its circuit was dropped runs through the live circuit of its id", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        const failing = Stream.fail(new Boom()).pipe(breaker.protectStream("a"))
        yield* use(breaker, "b")
        assert.deepStrictEqual(yield* ids(breaker), ["b"])
        yield* Effect.exit(Stream.runDrain(failing))
        assert.deepStrictEqual(yield* ids(breaker), ["a"])
        assert.strictEqual((yield* breaker.stats("a")).failures, 1)
      }).pipe(withBreaker({ maxCircuits: 1, failureThreshold: 2 }))
    )

    it.effect("the outcome of a call in flight when its circuit was dropped goes to the live circuit of its id", () =>
      Effect.gen(function* () {
        const breaker = yield* Tenants
        const release = yield* Deferred.make<void>()
        const call = yield* Deferred.await(release).pipe(Effect.andThen(fail), breaker.protect("a"), Effect.forkChild)
        yield* Effect.yieldNow
        yield* use(breaker, "b")
        assert.deepStrictEqual(yield* ids(breaker), ["b"])
        yield* Deferred.succeed(release, undefined)
        assert.isTrue(Exit.isFailure(yield* Fiber.await(call)))
        const stats = yield* breaker.stats("a")
        assert.strictEqual(stats.failures, 1)
        assert.strictEqual(stats.consecutiveFailures, 1)
        assert.deepStrictEqual(yield* ids(breaker), ["a"])
      }).pipe(withBreaker({ maxCircuits: 1, failureThreshold: 2 }))
    )
  })

  describe("options", () => {
    const refused = (options: CircuitBreaker.Options) =>
      Effect.flip(Effect.provide(Tenants.use(Effect.succeed), CircuitBreaker.layer(Tenants, options)))

    it.effect(
      "maxCircuits and idleTimeout out of range fail the layer with CircuitBreakerConfigError naming the field",
      () =>
        Effect.gen(function* () {
          for (const maxCircuits of [0, -1, 1.5, Number.NaN, "10" as unknown as number]) {
            const error = yield* refused({ maxCircuits })
            assert.strictEqual(error._tag, "CircuitBreakerConfigError")
            assert.strictEqual(error.field, "maxCircuits")
            assert.include(error.message, "an integer >= 1, or Infinity")
          }
          for (const idleTimeout of ["500 millis", "0 seconds", "soon", Number.NaN, -5] as Array<Duration.Input>) {
            const error = yield* refused({ idleTimeout })
            assert.strictEqual(error.field, "idleTimeout")
            assert.include(error.message, "at least 1 second")
          }
        })
    )

    it.effect("layerConfig reads MAX_CIRCUITS and IDLE_TIMEOUT, and names the variable of a bad one", () =>
      Effect.gen(function* () {
        const fromEnv = (env: Record<string, string>) =>
          CircuitBreaker.layerConfig(Tenants, { prefix: "TENANTS" }).pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
          )
        const circuits = yield* Effect.gen(function* () {
          const breaker = yield* Tenants
          yield* stream(breaker, "user", 5)
          return (yield* breaker.circuits).length
        }).pipe(Effect.provide(fromEnv({ TENANTS_MAX_CIRCUITS: "2", TENANTS_IDLE_TIMEOUT: "5 minutes" })))
        assert.strictEqual(circuits, 2)
        const error = yield* Effect.flip(
          Effect.provide(Tenants.use(Effect.succeed), fromEnv({ TENANTS_MAX_CIRCUITS: "0" }))
        )
        assert.strictEqual(error.field, "TENANTS_MAX_CIRCUITS (maxCircuits)")
        const idle = yield* Effect.flip(
          Effect.provide(Tenants.use(Effect.succeed), fromEnv({ TENANTS_IDLE_TIMEOUT: "1 millis" }))
        )
        assert.strictEqual(idle.field, "TENANTS_IDLE_TIMEOUT (idleTimeout)")
      })
    )
  })
})
