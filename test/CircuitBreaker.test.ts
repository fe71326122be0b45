import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Data, Deferred, Duration, Effect, Exit, Fiber, Layer, Metric, Ref, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}
class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: string }> {}

class Users extends CircuitBreaker.Service<Users>()("test/Users") {}

const fail = Effect.fail(new Boom())
const ok = Effect.succeed("ok")
/** A call that is not already finished, so the breaker takes its general path. */
const later = <A>(value: A) => Effect.yieldNow.pipe(Effect.as(value))
const failLater = Effect.yieldNow.pipe(Effect.andThen(Effect.fail(new Boom())))

const withBreaker = (options: CircuitBreaker.Options) => Effect.provide(CircuitBreaker.layer(Users, options))

const failures = (breaker: CircuitBreaker.CircuitBreaker, id: string, n: number) =>
  Effect.repeat(Effect.exit(fail.pipe(breaker.protect(id))), { times: n - 1 })

describe("CircuitBreaker", () => {
  describe("Closed", () => {
    it.effect("opens after failureThreshold consecutive counted failures", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "GetUser", 2)
        assert.strictEqual(yield* breaker.state("GetUser"), "Closed")
        yield* failures(breaker, "GetUser", 1)
        assert.strictEqual(yield* breaker.state("GetUser"), "Open")
      }).pipe(withBreaker({ failureThreshold: 3 }))
    )

    it.effect("a success resets the consecutive failure count", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "GetUser", 2)
        yield* ok.pipe(breaker.protect("GetUser"))
        yield* failures(breaker, "GetUser", 2)
        const stats = yield* breaker.stats("GetUser")
        assert.strictEqual(stats.state, "Closed")
        assert.strictEqual(stats.consecutiveFailures, 2)
      }).pipe(withBreaker({ failureThreshold: 3 }))
    )

    it.effect("defaults follow python-cqrs: 5 failures, 60 seconds", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "x", 4)
        assert.strictEqual(yield* breaker.state("x"), "Closed")
        yield* failures(breaker, "x", 1)
        assert.strictEqual(yield* breaker.state("x"), "Open")
        yield* TestClock.adjust("59999 millis")
        assert.strictEqual(yield* breaker.state("x"), "Open")
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
      }).pipe(withBreaker({}))
    )

    it.effect("the exclude example: a UserNotFound never opens the circuit and does not reset the count", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const notFound = Effect.fail(new UserNotFound({ id: "u1" })).pipe(breaker.protect("GetUserProfile"))
        for (let i = 0; i < 10; i++) {
          const error = yield* Effect.flip(notFound)
          assert.strictEqual(error._tag, "UserNotFound")
        }
        assert.strictEqual(yield* breaker.state("GetUserProfile"), "Closed")
        yield* failures(breaker, "GetUserProfile", 1)
        yield* Effect.flip(notFound)
        yield* failures(breaker, "GetUserProfile", 1)
        const stats = yield* breaker.stats("GetUserProfile")
        assert.strictEqual(stats.state, "Open")
        assert.strictEqual(stats.ignored, 11)
      }).pipe(withBreaker({ failureThreshold: 2, exclude: ["UserNotFound"] }))
    )

    it.effect("exclude also takes a predicate", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "x", 5)
        assert.strictEqual(yield* breaker.state("x"), "Closed")
      }).pipe(withBreaker({ failureThreshold: 1, exclude: (e) => e instanceof Boom }))
    )

    it.effect("defects count as failures; interruption records nothing", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* Effect.exit(Effect.die("bug").pipe(breaker.protect("x")))
        assert.strictEqual((yield* breaker.stats("x")).consecutiveFailures, 1)
        const fiber = yield* Effect.never.pipe(breaker.protect("x"), Effect.forkChild({ startImmediately: true }))
        yield* Fiber.interrupt(fiber)
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.consecutiveFailures, 1)
        assert.strictEqual(stats.successes + stats.failures + stats.ignored, 1)
      }).pipe(withBreaker({ failureThreshold: 3 }))
    )

    it.effect(
      "a protected effect built once is decided at each run: every run counts, and an Open circuit refuses",
      () =>
        Effect.gen(function* () {
          const breaker = yield* Users
          const finished = ok.pipe(breaker.protect("x"))
          const running = later("ok").pipe(breaker.protect("x"))
          const failing = failLater.pipe(breaker.protect("x"))
          for (let i = 0; i < 3; i++) {
            assert.strictEqual(yield* finished, "ok")
            assert.strictEqual(yield* running, "ok")
          }
          yield* Effect.exit(failing)
          const stats = yield* breaker.stats("x")
          assert.deepStrictEqual([stats.successes, stats.failures, stats.state], [6, 1, "Open"])
          for (const effect of [finished, running, failing]) {
            const exit = yield* Effect.exit(effect)
            assert.isTrue(Exit.isFailure(exit) && CircuitBreaker.isCircuitOpenError(Cause.squash(exit.cause)))
          }
          assert.strictEqual((yield* breaker.stats("x")).rejected, 3)
        }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("a finished call is classified and counted exactly like one that runs", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const calls = (finished: boolean): ReadonlyArray<Effect.Effect<string, Boom | UserNotFound>> => {
          const at = (effect: Effect.Effect<string, Boom | UserNotFound>) =>
            finished ? effect : Effect.andThen(Effect.yieldNow, effect)
          return [
            at(Effect.succeed("ok")),
            at(Effect.succeed("bad")),
            at(Effect.fail(new Boom())),
            at(Effect.fail(new UserNotFound({ id: "u" }))),
            at(Effect.die("bug")),
            at(Effect.succeed("ok"))
          ]
        }
        for (const id of ["finished", "running"]) {
          for (const call of calls(id === "finished")) yield* Effect.exit(call.pipe(breaker.protect(id)))
        }
        const { id: _a, ...finished } = yield* breaker.stats("finished")
        const { id: _b, ...running } = yield* breaker.stats("running")
        assert.deepStrictEqual(finished, running)
        assert.deepStrictEqual([running.successes, running.failures, running.ignored], [2, 3, 1])
        assert.strictEqual(running.windowCalls, 5)
      }).pipe(
        withBreaker({
          failureThreshold: 100,
          failureRate: { threshold: 0.9, minimumCalls: 100, window: 10 },
          isFailure: (value) => value === "bad",
          exclude: (error) => error instanceof UserNotFound
        })
      )
    )

    it.effect("circuits are isolated per id", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "a", 2)
        assert.strictEqual(yield* breaker.state("a"), "Open")
        assert.strictEqual(yield* breaker.state("b"), "Closed")
        assert.strictEqual(yield* ok.pipe(breaker.protect("b")), "ok")
      }).pipe(withBreaker({ failureThreshold: 2 }))
    )

    it.effect("one layer build is one breaker: every reader of the key shares its circuits", () =>
      Effect.gen(function* () {
        yield* Users.use((b) => failures(b, "x", 2))
        assert.strictEqual(yield* Users.use((b) => b.state("x")), "Open")
      }).pipe(withBreaker({ failureThreshold: 2 }))
    )
  })

  describe("Open", () => {
    it.effect("rejects without running the call, with a CircuitOpenError naming domain, id, state and retryAfter", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "GetUser", 2)
        yield* TestClock.adjust("10 seconds")
        const runs = yield* Ref.make(0)
        const error = yield* Effect.flip(Ref.update(runs, (n) => n + 1).pipe(breaker.protect("GetUser")))
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.ok(CircuitBreaker.isCircuitOpenError(error))
        assert.strictEqual(error._tag, "CircuitOpenError")
        assert.strictEqual(error.domain, "test/Users")
        assert.strictEqual(error.id, "GetUser")
        assert.strictEqual(error.state, "Open")
        assert.strictEqual(Duration.toMillis(error.retryAfter), 20_000)
        assert.match(error.message, /circuit "GetUser" of test\/Users is Open; retry after 20000 ms/)
        assert.ok(error instanceof Error)
      }).pipe(withBreaker({ failureThreshold: 2, resetTimeout: "30 seconds" }))
    )

    it.effect("state reads HalfOpen once the reset timeout has passed (Duration.Input accepted)", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "x", 1)
        yield* TestClock.adjust(Duration.seconds(4))
        assert.strictEqual(yield* breaker.state("x"), "Open")
        yield* TestClock.adjust(1000)
        assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
      }).pipe(withBreaker({ failureThreshold: 1, resetTimeout: { seconds: 5 } }))
    )
  })

  describe("HalfOpen", () => {
    const openThenWait = (breaker: CircuitBreaker.CircuitBreaker, id: string) =>
      Effect.andThen(failures(breaker, id, 1), TestClock.adjust("1 minute"))

    it.effect("successThreshold successes close the circuit", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        yield* ok.pipe(breaker.protect("x"))
        assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
        yield* ok.pipe(breaker.protect("x"))
        assert.strictEqual(yield* breaker.state("x"), "Closed")
      }).pipe(withBreaker({ failureThreshold: 1, successThreshold: 2 }))
    )

    it.effect("any counted failure reopens it, for a new reset timeout", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        yield* ok.pipe(breaker.protect("x"))
        yield* failures(breaker, "x", 1)
        assert.strictEqual(yield* breaker.state("x"), "Open")
        yield* TestClock.adjust("59 seconds")
        assert.strictEqual(yield* breaker.state("x"), "Open")
      }).pipe(withBreaker({ failureThreshold: 1, successThreshold: 3 }))
    )

    it.effect("1,000 concurrent calls: exactly halfOpenMaxCalls run, the rest are rejected", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        const gate = yield* Deferred.make<void>()
        const running = yield* Ref.make(0)
        const call = Ref.update(running, (n) => n + 1).pipe(
          Effect.andThen(Deferred.await(gate)),
          breaker.protect("x"),
          Effect.exit
        )
        const fiber = yield* Effect.all(
          Array.from({ length: 1000 }, () => call),
          { concurrency: "unbounded" }
        ).pipe(Effect.forkChild({ startImmediately: true }))
        // Let all 1,000 fibers reach the breaker (a few scheduler turns on a busy machine).
        for (let turn = 0; turn < 100 && (yield* breaker.stats("x")).rejected < 997; turn++) yield* Effect.yieldNow
        assert.strictEqual(yield* Ref.get(running), 3)
        assert.strictEqual((yield* breaker.stats("x")).halfOpenInFlight, 3)
        yield* Deferred.succeed(gate, undefined)
        const exits = yield* Fiber.join(fiber)
        const rejected = exits.filter(
          (exit) => Exit.isFailure(exit) && CircuitBreaker.isCircuitOpenError(Cause.squash(exit.cause))
        )
        assert.strictEqual(rejected.length, 997)
        assert.strictEqual(exits.filter(Exit.isSuccess).length, 3)
        assert.strictEqual(yield* breaker.state("x"), "Closed")
      }).pipe(withBreaker({ failureThreshold: 1, halfOpenMaxCalls: 3, successThreshold: 3 }))
    )

    it.effect("rejections while the permits are taken say HalfOpen", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        yield* Effect.never.pipe(breaker.protect("x"), Effect.forkChild({ startImmediately: true }))
        const error = yield* Effect.flip(ok.pipe(breaker.protect("x")))
        assert.strictEqual(error.state, "HalfOpen")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("an interrupted trial call gives its permit back and leaves the circuit usable", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        const hung = yield* Effect.never.pipe(breaker.protect("x"), Effect.forkChild({ startImmediately: true }))
        assert.strictEqual((yield* breaker.stats("x")).halfOpenInFlight, 1)
        yield* Fiber.interrupt(hung)
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.state, "HalfOpen")
        assert.strictEqual(stats.halfOpenInFlight, 0)
        assert.strictEqual(yield* ok.pipe(breaker.protect("x")), "ok")
        assert.strictEqual(yield* breaker.state("x"), "Closed")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("an excluded failure in HalfOpen gives the permit back without deciding", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* openThenWait(breaker, "x")
        yield* Effect.flip(Effect.fail(new UserNotFound({ id: "1" })).pipe(breaker.protect("x")))
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.state, "HalfOpen")
        assert.strictEqual(stats.halfOpenInFlight, 0)
      }).pipe(withBreaker({ failureThreshold: 1, exclude: ["UserNotFound"] }))
    )
  })

  describe("fencing", () => {
    it.effect("a late success from the Closed era does not count toward closing a HalfOpen circuit", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const gate = yield* Deferred.make<void>()
        const slow = yield* Deferred.await(gate).pipe(
          Effect.as("late"),
          breaker.protect("x"),
          Effect.forkChild({ startImmediately: true })
        )
        yield* failures(breaker, "x", 1)
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* breaker.state("x"), "HalfOpen")
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(yield* Fiber.join(slow), "late")
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.state, "HalfOpen")
        assert.strictEqual(stats.halfOpenSuccesses, 0)
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("a late failure from before a manual close does not count in the new Closed era", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const gate = yield* Deferred.make<void>()
        const late = yield* Deferred.await(gate).pipe(
          Effect.andThen(failLater),
          breaker.protect("x"),
          Effect.exit,
          Effect.forkChild({ startImmediately: true })
        )
        yield* breaker.open("x")
        yield* breaker.close("x")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(late)
        assert.strictEqual((yield* breaker.stats("x")).consecutiveFailures, 0)
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )
  })

  describe("manual control", () => {
    it.effect("open forces the circuit open until close, whatever the clock says", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* breaker.open("x")
        yield* TestClock.adjust("1 day")
        const stats = yield* breaker.stats("x")
        assert.strictEqual(stats.state, "Open")
        assert.strictEqual(stats.forced, true)
        const error = yield* Effect.flip(ok.pipe(breaker.protect("x")))
        assert.ok(!Duration.isFinite(error.retryAfter))
        yield* breaker.close("x")
        assert.strictEqual(yield* ok.pipe(breaker.protect("x")), "ok")
      }).pipe(withBreaker({ resetTimeout: "1 second" }))
    )

    it.effect("reset forgets counts, stats and backoff", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "x", 2)
        yield* breaker.reset("x")
        const stats = yield* breaker.stats("x")
        assert.deepStrictEqual(
          [stats.state, stats.failures, stats.rejected, stats.openings, stats.consecutiveFailures],
          ["Closed", 0, 0, 0, 0]
        )
      }).pipe(withBreaker({ failureThreshold: 2 }))
    )

    it.effect("circuits lists every circuit of the domain", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* ok.pipe(breaker.protect("a"))
        yield* failures(breaker, "b", 1)
        const all = yield* breaker.circuits
        assert.deepStrictEqual(
          all.map((s) => [s.id, s.state]),
          [
            ["a", "Closed"],
            ["b", "Open"]
          ]
        )
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )
  })

  describe("transitions", () => {
    it.effect("are published as a Stream with domain, id, from, to, at and reason", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const collected = yield* breaker.transitions.pipe(
          Stream.take(3),
          Stream.runCollect,
          Effect.forkChild({ startImmediately: true })
        )
        yield* Effect.yieldNow
        yield* failures(breaker, "x", 1)
        yield* TestClock.adjust("1 minute")
        yield* ok.pipe(breaker.protect("x"))
        const transitions = yield* Fiber.join(collected)
        assert.deepStrictEqual(
          transitions.map((t) => [t.id, t.from, t.to, t.reason, t.at]),
          [
            ["x", "Closed", "Open", "failureThreshold", 0],
            ["x", "Open", "HalfOpen", "resetTimeout", 60_000],
            ["x", "HalfOpen", "Closed", "trialSucceeded", 60_000]
          ]
        )
        assert.ok(transitions.every((t) => t.domain === "test/Users"))
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )
  })

  describe("protectStream", () => {
    it.effect("asks the breaker once when the stream starts and records a success on completion", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const items = yield* Stream.range(1, 10).pipe(breaker.protectStream("s"), Stream.runCollect)
        assert.strictEqual(items.length, 10)
        const stats = yield* breaker.stats("s")
        assert.deepStrictEqual([stats.successes, stats.failures], [1, 0])
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("a counted failure at any item records a failure; an open circuit rejects the stream", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const failing = Stream.make(1, 2).pipe(Stream.concat(Stream.fail(new Boom())))
        const items: Array<number> = []
        const error = yield* Effect.flip(
          failing.pipe(
            breaker.protectStream("s"),
            Stream.runForEach((n) => Effect.sync(() => items.push(n)))
          )
        )
        assert.strictEqual(error._tag, "Boom")
        assert.deepStrictEqual(items, [1, 2])
        assert.strictEqual(yield* breaker.state("s"), "Open")
        const rejected = yield* Effect.flip(Stream.make(1).pipe(breaker.protectStream("s"), Stream.runCollect))
        assert.strictEqual(rejected._tag, "CircuitOpenError")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("a consumer that stops after the first item records a success", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "s", 1)
        yield* TestClock.adjust("1 minute")
        yield* Stream.iterate(1, (n) => n + 1).pipe(breaker.protectStream("s"), Stream.take(3), Stream.runCollect)
        assert.strictEqual(yield* breaker.state("s"), "Closed")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("with trialSuccess completion, a trial stream stopped after its first item decides nothing", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "s", 1)
        yield* TestClock.adjust("1 minute")
        const protect = breaker.protectStream("s", { trialSuccess: "completion" })
        yield* Stream.iterate(1, (n) => n + 1).pipe(protect, Stream.take(3), Stream.runCollect)
        const stats = yield* breaker.stats("s")
        assert.deepStrictEqual([stats.state, stats.halfOpenInFlight, stats.successes], ["HalfOpen", 0, 0])
        yield* Stream.make(1, 2, 3).pipe(protect, Stream.runCollect)
        assert.strictEqual(yield* breaker.state("s"), "Closed", "a trial stream that completes closes the circuit")
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )

    it.effect("a consumer that stops before the first item records nothing and returns the permit", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* failures(breaker, "s", 1)
        yield* TestClock.adjust("1 minute")
        const fiber = yield* Stream.never.pipe(
          breaker.protectStream("s"),
          Stream.runDrain,
          Effect.forkChild({ startImmediately: true })
        )
        yield* Effect.yieldNow
        assert.strictEqual((yield* breaker.stats("s")).halfOpenInFlight, 1)
        yield* Fiber.interrupt(fiber)
        const stats = yield* breaker.stats("s")
        assert.deepStrictEqual(
          [stats.state, stats.halfOpenInFlight, stats.successes, stats.failures],
          ["HalfOpen", 0, 0, 1]
        )
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )
  })

  describe("configuration", () => {
    const configError = (options: CircuitBreaker.Options) =>
      Effect.flip(Effect.provide(Users.use(Effect.succeed), CircuitBreaker.layer(Users, options)))

    it.effect.each([
      [{ failureThreshold: 0 }, "failureThreshold", "an integer >= 1"],
      [{ failureThreshold: 1.5 }, "failureThreshold", "an integer >= 1"],
      [{ successThreshold: 0 }, "successThreshold", "an integer >= 1"],
      [{ halfOpenMaxCalls: -1 }, "halfOpenMaxCalls", "an integer >= 1"],
      [{ resetTimeout: -5 }, "resetTimeout", "a positive duration or a Schedule"],
      [{ resetTimeout: "soon" as Duration.Input }, "resetTimeout", "a positive duration or a Schedule"],
      [{ failureRate: { threshold: 1.5, window: 10 } }, "failureRate.threshold", "a rate in (0, 1]"],
      [{ failureRate: { threshold: 0.5, window: 0 } }, "failureRate.window", "an integer >= 1"],
      [{ slowCall: { duration: "1 second", rateThreshold: 0 } }, "slowCall.rateThreshold", "a rate in (0, 1]"],
      [{ halfOpenTimeout: "-1 seconds" as Duration.Input }, "halfOpenTimeout", "a positive duration"],
      [{ resetTimeout: Infinity }, "resetTimeout", "a positive duration or a Schedule (finite"],
      [{ resetTimeout: Schedule.spaced(Duration.infinity) }, "resetTimeout", "a schedule of finite delays"]
    ] as const)("rejects %j naming the field and the allowed range", ([options, field, expected]) =>
      Effect.gen(function* () {
        const error = yield* configError(options as CircuitBreaker.Options)
        assert.strictEqual(error._tag, "CircuitBreakerConfigError")
        assert.strictEqual(error.field, field)
        assert.include(error.message, `${field} must be ${expected}`)
        assert.include(error.message, "test/Users")
      })
    )
  })

  describe("options from untyped code", () => {
    const configError = (options: unknown) =>
      Effect.flip(
        Effect.provide(Users.use(Effect.succeed), CircuitBreaker.layer(Users, options as CircuitBreaker.Options))
      )

    it.effect.each([
      [{ isFailure: "abc" }, "isFailure", "a predicate"],
      [{ retryAfter: 5 }, "retryAfter", "a function"],
      [{ failureRate: null }, "failureRate", "an object"],
      [{ slowCall: null }, "slowCall", "an object"],
      [{ failureRate: { threshold: 0.5, window: 2 ** 53 } }, "failureRate.window", "at most 100000"],
      [{ failureRate: { threshold: 0.5, window: 2e8 } }, "failureRate.window", "at most 100000"],
      [{ slowCall: { duration: "1 second", rateThreshold: 0.5, window: 2e8 } }, "slowCall.window", "at most 100000"],
      [{ eventBufferSize: 2 ** 53 }, "eventBufferSize", "<= 100000"],
      [{ backoffResetAfter: NaN }, "backoffResetAfter", "a duration >= 0"],
      [{ halfOpenTimeout: NaN }, "halfOpenTimeout", "a positive duration"],
      [{ slowCall: { duration: NaN, rateThreshold: 0.5 } }, "slowCall.duration", "a positive duration"]
    ] as const)(
      "%j fails the layer naming the field and the allowed range (not a crash or a silent 0 later)",
      ([options, field, expected]) =>
        Effect.gen(function* () {
          const error = yield* configError(options)
          assert.strictEqual(error._tag, "CircuitBreakerConfigError")
          assert.strictEqual(error.field, field)
          assert.include(error.message, expected)
        })
    )
  })

  describe("manual control from untyped code", () => {
    it.effect("setMode with a mode that does not exist is a defect naming the allowed modes; the mode is kept", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const exit = yield* Effect.exit(breaker.setMode("m", "bogus" as CircuitBreaker.Mode))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.strictEqual((defect as CircuitBreaker.CircuitBreakerConfigError).field, "mode")
        assert.include((defect as Error).message, `"normal", "disabled" or "metricsOnly"`)
        assert.strictEqual((yield* breaker.stats("m")).mode, "normal")
      }).pipe(withBreaker({}))
    )
  })

  describe("observability", () => {
    it.effect("counts calls by outcome and transitions in Effect metrics", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        yield* ok.pipe(breaker.protect("m"))
        yield* failures(breaker, "m", 1)
        yield* Effect.exit(ok.pipe(breaker.protect("m")))
        const attributes = { domain: "test/Users", circuit: "m" }
        for (const [metric, labels] of [
          [CircuitBreaker.metrics.calls, { domain: "test/Users" }],
          [CircuitBreaker.metrics.circuitCalls, attributes]
        ] as const) {
          const calls = (outcome: string) => Metric.value(Metric.withAttributes(metric, { ...labels, outcome }))
          assert.strictEqual((yield* calls("success")).count, 1)
          assert.strictEqual((yield* calls("failure")).count, 1)
          assert.strictEqual((yield* calls("rejected")).count, 1)
        }
        const opened = yield* Metric.value(
          Metric.withAttributes(CircuitBreaker.metrics.transitions, {
            domain: "test/Users",
            from: "Closed",
            to: "Open"
          })
        )
        assert.strictEqual(opened.count, 1)
        const state = yield* Metric.value(Metric.withAttributes(CircuitBreaker.metrics.state, attributes))
        assert.strictEqual(state.value, 2)
      }).pipe(withBreaker({ failureThreshold: 1 }), Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("publishes every outcome and rejection on events", () =>
      Effect.gen(function* () {
        const breaker = yield* Users
        const collected = yield* breaker.events.pipe(
          Stream.take(3),
          Stream.runCollect,
          Effect.forkChild({ startImmediately: true })
        )
        yield* Effect.yieldNow
        yield* ok.pipe(breaker.protect("e"))
        yield* failures(breaker, "e", 1)
        yield* Effect.exit(ok.pipe(breaker.protect("e")))
        const events = yield* Fiber.join(collected)
        assert.deepStrictEqual(
          events.map((e) => [e.outcome, e.state]),
          [
            ["success", "Closed"],
            ["failure", "Open"],
            ["rejected", "Open"]
          ]
        )
      }).pipe(withBreaker({ failureThreshold: 1 }))
    )
  })

  it.effect("make builds a breaker without a service key", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make("adhoc", {
        failureThreshold: 1,
        resetTimeout: Schedule.spaced("2 seconds")
      })
      yield* failures(breaker, "x", 1)
      expect((yield* breaker.stats("x")).retryAfter).toEqual(Duration.seconds(2))
    })
  )

  it.effect("layers compose: a breaker layer is provided once and shared", () =>
    Effect.gen(function* () {
      class Other extends CircuitBreaker.Service<Other>()("test/Other") {}
      const both = Layer.mergeAll(CircuitBreaker.layer(Users, { failureThreshold: 1 }), CircuitBreaker.layer(Other))
      const states = yield* Effect.gen(function* () {
        yield* failures(yield* Users, "x", 1)
        return [yield* (yield* Users).state("x"), yield* (yield* Other).state("x")]
      }).pipe(Effect.provide(both))
      assert.deepStrictEqual(states, ["Open", "Closed"])
    })
  )

  it.effect("an already finished call and a suspended call are recorded alike", () =>
    Effect.gen(function* () {
      const breaker = yield* Users
      yield* later("x").pipe(breaker.protect("a"))
      yield* ok.pipe(breaker.protect("a"))
      yield* Effect.exit(failLater.pipe(breaker.protect("a")))
      const stats = yield* breaker.stats("a")
      assert.deepStrictEqual([stats.successes, stats.failures], [2, 1])
    }).pipe(withBreaker({ failureThreshold: 5 }))
  )
})
