import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Context, Data, Duration, Effect, Exit, Fiber, Layer, Metric, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, FallbackChain } from "effect-fallback"
import { captureLogs, captureSpans } from "./support/capture.ts"
import { expectTypeOf } from "vitest"

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly reason: string }> {}
class Timeout extends Data.TaggedError("Timeout")<{}> {}
class BadRequest extends Data.TaggedError("BadRequest")<{ readonly field: string }> {}

const fail = (
  error: ConnectionError | Timeout | BadRequest
): Effect.Effect<never, ConnectionError | Timeout | BadRequest> => Effect.fail(error)
const connectionLost = new ConnectionError({ reason: "connection lost" })

/** A provider that counts its runs and its interruptions, so a test can tell what ran and what was cut short. */
const probe = <A, E>(effect: Effect.Effect<A, E>) => {
  const stats = { runs: 0, interrupted: 0 }
  const provider = (_input: string) =>
    Effect.andThen(
      Effect.sync(() => stats.runs++),
      effect
    ).pipe(Effect.onInterrupt(() => Effect.sync(() => stats.interrupted++)))
  return { stats, provider }
}

const answerAfter = <A>(duration: Duration.Input, value: A) => Effect.as(Effect.sleep(duration), value)
const failAfter = <E>(duration: Duration.Input, error: E) => Effect.andThen(Effect.sleep(duration), Effect.fail(error))

/** Runs `effect` in a fiber, moves the TestClock by `duration`, and returns the fiber's exit. */
const runFor = <A, E>(effect: Effect.Effect<A, E>, duration: Duration.Input) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust(duration)
    return yield* Fiber.await(fiber)
  })

const succeeded = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(`expected a success, got ${Cause.pretty(exit.cause)}`)
}

const failedWith = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "Some") return error.value
  }
  throw new Error(`expected a typed failure, got ${Exit.isSuccess(exit) ? "a success" : Cause.pretty(exit.cause)}`)
}

const millis = (duration: Duration.Duration) => Duration.toMillis(duration)

const withFreshMetrics = Effect.provideService(Metric.MetricRegistry, new Map())

describe("FallbackChain", () => {
  describe("providers in order: the first success answers, handled failures move on", () => {
    it.effect("a succeeding primary answers, and it is not a fallback", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("test").pipe(
          FallbackChain.add("primary", () => Effect.succeed("primary_data")),
          FallbackChain.add("fallback", () => Effect.succeed("fallback_data"))
        )
        const result = yield* FallbackChain.execute(chain, "input")
        assert.strictEqual(result.value, "primary_data")
        assert.strictEqual(result.source, "primary")
        assert.strictEqual(result.index, 0)
        assert.isFalse(result.isFallback)
        assert.deepStrictEqual(result.failures, [])
        assert.isUndefined(result.staleness)
      })
    )

    it.effect("a failing primary falls to the second provider, which is a fallback", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("test").pipe(
          FallbackChain.add("primary", () => fail(connectionLost)),
          FallbackChain.add("fallback", () => Effect.succeed("fallback_data"))
        )
        const result = yield* FallbackChain.execute(chain, "input")
        assert.strictEqual(result.value, "fallback_data")
        assert.strictEqual(result.source, "fallback")
        assert.isTrue(result.isFallback)
        assert.deepStrictEqual(
          result.failures.map(({ error, reason, source }) => ({ error, reason, source })),
          [{ source: "primary", reason: "failed", error: connectionLost }]
        )
      })
    )

    it.effect("when every provider fails, AllFallbacksExhausted lists each provider with its error", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("test").pipe(
          FallbackChain.add("a", () => fail(connectionLost)),
          FallbackChain.add("b", () => fail(new Timeout()))
        )
        const error = yield* Effect.flip(FallbackChain.execute(chain, "input"))
        assert.strictEqual(error._tag, "AllFallbacksExhausted")
        assert.strictEqual(error.chain, "test")
        assert.deepStrictEqual(
          error.failures.map((f) => [f.source, f.reason, f.error]),
          [
            ["a", "failed", connectionLost],
            ["b", "failed", new Timeout()]
          ]
        )
        assert.isFalse(error.budgetExhausted)
        expect(error.message).toMatch(
          /all providers of chain "test" failed: a failed after [\d.]+ms \(ConnectionError \{"reason":"connection lost"\}\); b failed after [\d.]+ms \(Timeout\)/
        )
      })
    )
  })

  describe("calling conventions", () => {
    it.effect("add and execute are data-first as well as data-last", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.add(FallbackChain.make<number>("double"), "times", (n) => Effect.succeed(n * 2))
        const first = yield* FallbackChain.execute(chain, 21)
        const last = yield* chain.pipe(FallbackChain.execute(21))
        assert.deepStrictEqual([first.value, last.value], [42, 42])
      })
    )

    it.effect("latency is the answering provider's time, elapsed the whole call's", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("timing").pipe(
          FallbackChain.add("slow_failure", () => failAfter("300 millis", connectionLost)),
          FallbackChain.add("answer", () => answerAfter("200 millis", "ok"))
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x"), "1 second"))
        assert.strictEqual(millis(result.latency), 200)
        assert.strictEqual(millis(result.elapsed), 500)
        assert.strictEqual(millis(result.failures[0].latency), 300)
      })
    )

    it.effect("a chain without providers fails at once with AllFallbacksExhausted saying so", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(FallbackChain.execute(FallbackChain.make<string>("empty"), "x"))
        assert.deepStrictEqual(error.failures, [])
        assert.strictEqual(error.message, `chain "empty" has no providers`)
      })
    )
  })

  describe("on: which failures move on", () => {
    it.effect("a failure outside `on` stops the chain and propagates unchanged; later providers never run", () =>
      Effect.gen(function* () {
        const next = probe(Effect.succeed("fallback"))
        const chain = FallbackChain.make<string>("strict").pipe(
          FallbackChain.add("primary", () => fail(new BadRequest({ field: "id" })), {
            on: ["ConnectionError", "Timeout"]
          }),
          FallbackChain.add("fallback", next.provider)
        )
        const error = yield* Effect.flip(FallbackChain.execute(chain, "x"))
        assert.deepStrictEqual(error, new BadRequest({ field: "id" }))
        assert.strictEqual(next.stats.runs, 0)
      })
    )

    it.effect("a refinement or a predicate selects the failures that move on", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("predicates").pipe(
          FallbackChain.add("by_refinement", () => fail(connectionLost), {
            on: (e): e is ConnectionError => e._tag === "ConnectionError"
          }),
          FallbackChain.add("by_predicate", () => fail(new Timeout()), { on: (e) => e._tag === "Timeout" }),
          FallbackChain.add("answer", () => Effect.succeed("ok"))
        )
        const result = yield* FallbackChain.execute(chain, "x")
        assert.strictEqual(result.source, "answer")
        assert.deepStrictEqual(
          result.failures.map((f) => f.source),
          ["by_refinement", "by_predicate"]
        )
      })
    )

    it.effect("a defect stops the chain unless the provider has `defects: true`", () =>
      Effect.gen(function* () {
        const bug = new Error("bug")
        const strict = FallbackChain.make<string>("strict").pipe(
          FallbackChain.add("buggy", () => Effect.die(bug)),
          FallbackChain.add("fallback", () => Effect.succeed("ok"))
        )
        const exit = yield* Effect.exit(FallbackChain.execute(strict, "x"))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))

        const lenient = FallbackChain.make<string>("lenient").pipe(
          FallbackChain.add("buggy", () => Effect.die(bug), { defects: true }),
          FallbackChain.add("fallback", () => Effect.succeed("ok"))
        )
        const result = yield* FallbackChain.execute(lenient, "x")
        assert.strictEqual(result.source, "fallback")
        assert.strictEqual(result.failures[0].error, bug)
      })
    )

    it.effect("interrupting the call interrupts the running provider and starts no other", () =>
      Effect.gen(function* () {
        const primary = probe(Effect.never)
        const next = probe(Effect.succeed("never reached"))
        const chain = FallbackChain.make<string>("interrupted").pipe(
          FallbackChain.add("primary", primary.provider),
          FallbackChain.add("fallback", next.provider)
        )
        const fiber = yield* Effect.forkChild(FallbackChain.execute(chain, "x"), { startImmediately: true })
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual([primary.stats.interrupted, next.stats.runs], [1, 0])
      })
    )
  })

  describe("timeouts and the time budget", () => {
    it.effect("a provider past its own timeout is interrupted and recorded as timedOut", () =>
      Effect.gen(function* () {
        const slow = probe(answerAfter("10 seconds", "late"))
        const chain = FallbackChain.make<string>("timeouts").pipe(
          FallbackChain.add("slow", slow.provider, { timeout: "1 second" }),
          FallbackChain.add("fast", () => Effect.succeed("fast"))
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x"), "1 second"))
        assert.strictEqual(result.source, "fast")
        assert.strictEqual(slow.stats.interrupted, 1)
        const [failure] = result.failures
        assert.strictEqual(failure.reason, "timedOut")
        assert.instanceOf(failure.error, FallbackChain.ProviderTimeout)
        assert.strictEqual((failure.error as FallbackChain.ProviderTimeout).cause, "timeout")
        assert.strictEqual(millis(failure.latency), 1000)
      })
    )

    it.effect("provider i of n gets min(remaining, remaining / (n - i)) of the budget", () =>
      Effect.gen(function* () {
        // budget 3 s: "a" fails after 600 ms, "b" then gets 2400 / 2 = 1200 ms and hangs, "c" gets the last 1200 ms
        const chain = FallbackChain.make<string>("budget").pipe(
          FallbackChain.add("a", () => failAfter("600 millis", connectionLost)),
          FallbackChain.add("b", () => Effect.never),
          FallbackChain.add("c", () => answerAfter("1100 millis", "c"))
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { budget: "3 seconds" }), "3 seconds"))
        assert.strictEqual(result.source, "c")
        assert.strictEqual(millis(result.elapsed), 600 + 1200 + 1100)
        const timedOut = result.failures[1]
        assert.strictEqual(timedOut.reason, "timedOut")
        assert.strictEqual(millis((timedOut.error as FallbackChain.ProviderTimeout).timeout), 1200)
        assert.strictEqual((timedOut.error as FallbackChain.ProviderTimeout).cause, "budget")
      })
    )

    it.effect("the first of n providers gets a 1/n share even when it would answer later", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("shares").pipe(
          FallbackChain.add("a", () => answerAfter("2 seconds", "a")),
          FallbackChain.add("b", () => answerAfter("2 seconds", "b")),
          FallbackChain.add("c", () => answerAfter("10 millis", "c"))
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { budget: "3 seconds" }), "3 seconds"))
        assert.strictEqual(result.source, "c")
        assert.deepStrictEqual(
          result.failures.map((f) => [f.source, millis(f.latency)]),
          [
            ["a", 1000],
            ["b", 1000]
          ]
        )
      })
    )

    it.effect("when the budget is gone, the rest are skipped and AllFallbacksExhausted says the budget ran out", () =>
      Effect.gen(function* () {
        // an uninterruptible provider overruns its share and eats the whole budget
        const rest = probe(Effect.succeed("never reached"))
        const chain = FallbackChain.make<string>("overrun").pipe(
          FallbackChain.add("stubborn", () => Effect.uninterruptible(answerAfter("5 seconds", "late"))),
          FallbackChain.add("rest", rest.provider)
        )
        const error = failedWith(yield* runFor(FallbackChain.execute(chain, "x", { budget: "2 seconds" }), "5 seconds"))
        assert.strictEqual(error._tag, "AllFallbacksExhausted")
        assert.isTrue(error.budgetExhausted)
        assert.deepStrictEqual(
          error.failures.map((f) => [f.source, f.reason]),
          [
            ["stubborn", "timedOut"],
            ["rest", "skipped"]
          ]
        )
        assert.strictEqual(rest.stats.runs, 0)
        expect(error.message).toContain("stubborn timed out after 5s (ProviderTimeout: ")
        expect(error.message).toContain("rest was skipped (no time left)")
        expect(error.message).toContain("(time budget of 2s exhausted)")
      })
    )

    it.effect("chain-level options apply to every call, and execute's options override them", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("defaults", { budget: "1 second" }).pipe(
          FallbackChain.add("slow", () => answerAfter("1500 millis", "slow")),
          FallbackChain.add("fast", () => Effect.succeed("fast"))
        )
        const withDefault = succeeded(yield* runFor(FallbackChain.execute(chain, "x"), "2 seconds"))
        const overridden = succeeded(
          yield* runFor(FallbackChain.execute(chain, "x", { budget: "4 seconds" }), "2 seconds")
        )
        assert.deepStrictEqual([withDefault.source, overridden.source], ["fast", "slow"])
      })
    )
  })

  describe("hedging", () => {
    it.effect("a provider that has not answered after the hedge delay gets the next one started beside it", () =>
      Effect.gen(function* () {
        const primary = probe(answerAfter("10 seconds", "primary"))
        const second = probe(answerAfter("1 second", "second"))
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("primary", primary.provider),
          FallbackChain.add("second", second.provider)
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "200 millis" }), "2 seconds"))
        assert.strictEqual(result.source, "second")
        assert.strictEqual(millis(result.elapsed), 1200)
        assert.strictEqual(millis(result.latency), 1000)
        // the loser is interrupted, and an interrupted loser is not a failure
        assert.deepStrictEqual(primary.stats, { runs: 1, interrupted: 1 })
        assert.deepStrictEqual(result.failures, [])
      })
    )

    it.effect("a primary that answers within the hedge delay runs alone", () =>
      Effect.gen(function* () {
        const second = probe(Effect.succeed("second"))
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("primary", () => answerAfter("100 millis", "primary")),
          FallbackChain.add("second", second.provider)
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "200 millis" }), "1 second"))
        assert.strictEqual(result.source, "primary")
        assert.strictEqual(second.stats.runs, 0)
      })
    )

    it.effect("the first success wins even when it comes from the provider started first", () =>
      Effect.gen(function* () {
        const second = probe(answerAfter("1 second", "second"))
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("primary", () => answerAfter("500 millis", "primary")),
          FallbackChain.add("second", second.provider)
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "100 millis" }), "2 seconds"))
        assert.strictEqual(result.source, "primary")
        assert.isFalse(result.isFallback)
        assert.deepStrictEqual(second.stats, { runs: 1, interrupted: 1 })
      })
    )

    it.effect("hedges start in chain order, one per delay", () =>
      Effect.gen(function* () {
        const started: Array<string> = []
        const provider = (name: string, duration: Duration.Input) => () =>
          Effect.andThen(
            Effect.sync(() => started.push(name)),
            answerAfter(duration, name)
          )
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("a", provider("a", "10 seconds")),
          FallbackChain.add("b", provider("b", "10 seconds")),
          FallbackChain.add("c", provider("c", "50 millis"))
        )
        const fiber = yield* Effect.forkChild(FallbackChain.execute(chain, "x", { hedge: "100 millis" }))
        yield* TestClock.adjust("150 millis")
        assert.deepStrictEqual(started, ["a", "b"])
        yield* TestClock.adjust("100 millis")
        const result = yield* Fiber.join(fiber)
        assert.deepStrictEqual(started, ["a", "b", "c"])
        assert.strictEqual(result.source, "c")
        assert.strictEqual(millis(result.elapsed), 250)
      })
    )

    it.effect("a failure hands over to the next provider at once, without waiting for the delay", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("primary", () => failAfter("10 millis", connectionLost)),
          FallbackChain.add("second", () => answerAfter("20 millis", "second"))
        )
        const result = succeeded(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "1 second" }), "1 second"))
        assert.strictEqual(result.source, "second")
        assert.strictEqual(millis(result.elapsed), 30)
        assert.deepStrictEqual(
          result.failures.map((f) => [f.source, f.reason]),
          [["primary", "failed"]]
        )
      })
    )

    it.effect("when every hedged provider fails, the failures are reported in chain order", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("a", () => failAfter("300 millis", connectionLost)),
          FallbackChain.add("b", () => failAfter("50 millis", new Timeout()))
        )
        const error = failedWith(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "100 millis" }), "1 second"))
        assert.deepStrictEqual(
          error.failures.map((f) => f.source),
          ["a", "b"]
        )
      })
    )

    it.effect("each hedged attempt gets its share of the budget when it starts", () =>
      Effect.gen(function* () {
        // budget 1 s: "a" starts at 0 with 1000 / 2 = 500 ms; "b" starts at 100 ms with the 900 ms left
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("a", () => Effect.never),
          FallbackChain.add("b", () => Effect.never)
        )
        const options: FallbackChain.ExecuteOptions = { hedge: "100 millis", budget: "1 second" }
        const error = failedWith(yield* runFor(FallbackChain.execute(chain, "x", options), "1 second"))
        assert.deepStrictEqual(
          error.failures.map((f) => [f.source, f.reason, millis((f.error as FallbackChain.ProviderTimeout).timeout)]),
          [
            ["a", "timedOut", 500],
            ["b", "timedOut", 900]
          ]
        )
        assert.strictEqual(millis(error.elapsed), 1000)
      })
    )

    it.effect("interrupting a hedged call interrupts every attempt still running", () =>
      Effect.gen(function* () {
        const a = probe(Effect.never)
        const b = probe(Effect.never)
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("a", a.provider),
          FallbackChain.add("b", b.provider)
        )
        const fiber = yield* Effect.forkChild(FallbackChain.execute(chain, "x", { hedge: "100 millis" }))
        yield* TestClock.adjust("150 millis")
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(
          [a.stats, b.stats],
          [
            { runs: 1, interrupted: 1 },
            { runs: 1, interrupted: 1 }
          ]
        )
      })
    )

    it.effect("a failure outside `on` interrupts the hedged attempts and propagates", () =>
      Effect.gen(function* () {
        const primary = probe(answerAfter("10 seconds", "primary"))
        const chain = FallbackChain.make<string>("hedged").pipe(
          FallbackChain.add("primary", primary.provider),
          FallbackChain.add(
            "second",
            () => Effect.andThen(Effect.sleep("10 millis"), fail(new BadRequest({ field: "q" }))),
            {
              on: ["ConnectionError"]
            }
          )
        )
        const error = failedWith(yield* runFor(FallbackChain.execute(chain, "x", { hedge: "100 millis" }), "1 second"))
        assert.deepStrictEqual(error, new BadRequest({ field: "q" }))
        assert.strictEqual(primary.stats.interrupted, 1)
      })
    )
  })

  describe("callbacks that throw", () => {
    it.effect("an `on` predicate that throws makes the call die with the throw, and frees the provider's permit", () =>
      Effect.gen(function* () {
        let throws = true
        const chain = FallbackChain.make<string>("throwing").pipe(
          FallbackChain.add("live", (input) => (input === "down" ? fail(connectionLost) : Effect.succeed(input)), {
            concurrency: 1,
            on: (): boolean => {
              if (throws) throw new Error("on threw")
              return true
            }
          }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const exit = yield* Effect.exit(FallbackChain.execute(chain, "down"))
        const defect = Exit.isFailure(exit) ? Cause.findDefect(exit.cause) : undefined
        assert.strictEqual(defect?._tag === "Success" ? (defect.success as Error).message : undefined, "on threw")
        throws = false
        assert.strictEqual((yield* FallbackChain.execute(chain, "up")).source, "live")
        assert.strictEqual((yield* FallbackChain.execute(chain, "down")).source, "static")
      })
    )
  })

  describe("last known good", () => {
    it.effect("a key that throws on the primary's answer: the answer stands, unremembered, and it is logged", () => {
      const { layer, logs } = captureLogs()
      return Effect.gen(function* () {
        const chain = FallbackChain.make<string>("keys").pipe(
          FallbackChain.add("live", (input) => Effect.succeed(`live ${input}`)),
          FallbackChain.lastKnownGood({
            key: (): string => {
              throw new Error("key threw")
            },
            maxStaleness: "1 minute",
            capacity: 10
          })
        )
        const result = yield* FallbackChain.execute(chain, "u1")
        assert.strictEqual(result.value, "live u1")
        const errors = logs.filter((log) => log.level === "Error")
        assert.lengthOf(errors, 1)
        assert.include(errors[0].text, `the key of "last_known_good" in chain "keys" threw`)
        assert.include(Cause.pretty(errors[0].cause), "key threw")
      }).pipe(Effect.provide(layer))
    })

    it.effect("a key that throws on recall fails the last-known-good provider, and the chain goes on", () =>
      Effect.gen(function* () {
        let throws = false
        const chain = FallbackChain.make<string>("keys").pipe(
          FallbackChain.add("live", (input) => (input === "down" ? fail(connectionLost) : Effect.succeed(input))),
          FallbackChain.lastKnownGood({
            key: (input) => {
              if (throws) throw new Error("key threw")
              return input
            },
            maxStaleness: "1 minute",
            capacity: 10
          }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        throws = true
        const result = yield* FallbackChain.execute(chain, "down")
        assert.strictEqual(result.source, "static")
        assert.deepStrictEqual(
          result.failures.map((f) => [f.source, f.reason]),
          [
            ["live", "failed"],
            ["last_known_good", "failed"]
          ]
        )
        assert.strictEqual((result.failures[1].error as Error).message, "key threw")
      })
    )

    const makeChain = (primary: (userId: string) => Effect.Effect<string, ConnectionError>) =>
      FallbackChain.make<string>("profiles").pipe(
        FallbackChain.add("live", primary),
        FallbackChain.lastKnownGood({ key: (userId) => userId, maxStaleness: "10 minutes", capacity: 2 }),
        FallbackChain.add("anonymous", () => Effect.succeed("anonymous"))
      )

    it.effect("serves the primary's latest value for the same key when the primary fails, with its staleness", () =>
      Effect.gen(function* () {
        let up = true
        const chain = makeChain((userId) => (up ? Effect.succeed(`profile of ${userId}`) : Effect.fail(connectionLost)))
        yield* FallbackChain.execute(chain, "u1")
        up = false
        yield* TestClock.adjust("3 minutes")
        const result = yield* FallbackChain.execute(chain, "u1")
        assert.strictEqual(result.value, "profile of u1")
        assert.strictEqual(result.source, "last_known_good")
        assert.isTrue(result.isFallback)
        assert.strictEqual(millis(result.staleness ?? Duration.zero), 3 * 60_000)
        const other = yield* FallbackChain.execute(chain, "u2")
        assert.strictEqual(other.source, "anonymous")
        assert.strictEqual((other.failures[1].error as FallbackChain.LastKnownGoodUnavailable).reason, "missing")
      })
    )

    it.effect("a value older than maxStaleness is never served: the chain moves on and says why", () =>
      Effect.gen(function* () {
        let up = true
        const chain = makeChain((userId) => (up ? Effect.succeed(`profile of ${userId}`) : Effect.fail(connectionLost)))
        yield* FallbackChain.execute(chain, "u1")
        up = false
        yield* TestClock.adjust("11 minutes")
        const result = yield* FallbackChain.execute(chain, "u1")
        assert.strictEqual(result.source, "anonymous")
        const error = result.failures[1].error as FallbackChain.LastKnownGoodUnavailable
        assert.strictEqual(error.reason, "tooStale")
        assert.strictEqual(millis(error.staleness ?? Duration.zero), 11 * 60_000)
        expect(error.message).toContain("over the limit of 10m")
      })
    )

    it.effect("remembers at most `capacity` keys, forgetting the least recently used", () =>
      Effect.gen(function* () {
        let up = true
        const chain = makeChain((userId) => (up ? Effect.succeed(`profile of ${userId}`) : Effect.fail(connectionLost)))
        yield* FallbackChain.execute(chain, "u1")
        yield* FallbackChain.execute(chain, "u2")
        up = false
        yield* FallbackChain.execute(chain, "u1") // served from memory: u1 is now the most recently used
        up = true
        yield* FallbackChain.execute(chain, "u3") // capacity 2: u2 goes
        up = false
        const sources = yield* Effect.forEach(["u1", "u2", "u3"], (userId) =>
          Effect.map(FallbackChain.execute(chain, userId), (r) => r.source)
        )
        assert.deepStrictEqual(sources, ["last_known_good", "anonymous", "last_known_good"])
      })
    )

    it.effect("a fresh answer of the primary replaces the remembered one", () =>
      Effect.gen(function* () {
        let version = 1
        let up = true
        const chain = makeChain(() => (up ? Effect.succeed(`v${version}`) : Effect.fail(connectionLost)))
        yield* FallbackChain.execute(chain, "u1")
        yield* TestClock.adjust("5 minutes")
        version = 2
        yield* FallbackChain.execute(chain, "u1")
        up = false
        yield* TestClock.adjust("1 minute")
        const result = yield* FallbackChain.execute(chain, "u1")
        assert.deepStrictEqual([result.value, millis(result.staleness ?? Duration.zero)], ["v2", 60_000])
      })
    )

    it("must come after the primary it remembers", () => {
      expect(() =>
        FallbackChain.make<string>("c").pipe(FallbackChain.lastKnownGood({ maxStaleness: 1, capacity: 1 }))
      ).toThrow(/after the primary provider/)
    })
  })

  describe("circuit breakers", () => {
    class CacheBreaker extends CircuitBreaker.Service<CacheBreaker>()("test/CacheBreaker") {}

    it.effect("an open circuit skips the provider at once, recorded as rejected", () =>
      Effect.gen(function* () {
        const cache = probe(Effect.succeed("cached"))
        const chain = FallbackChain.make<string>("breakers").pipe(
          FallbackChain.add("cache", cache.provider, { breaker: CacheBreaker, id: "redis_cache" }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const breaker = yield* CacheBreaker
        yield* breaker.open("redis_cache")
        const result = yield* FallbackChain.execute(chain, "x")
        assert.strictEqual(result.source, "static")
        assert.strictEqual(cache.stats.runs, 0)
        const [failure] = result.failures
        assert.strictEqual(failure.reason, "rejected")
        assert.instanceOf(failure.error, CircuitBreaker.CircuitOpenError)
      }).pipe(Effect.provide(CircuitBreaker.layer(CacheBreaker, { failureThreshold: 2 })))
    )

    it.effect("another breaker's CircuitOpenError for the same id, raised inside the provider, reads failed", () => {
      class SearchBreaker extends CircuitBreaker.Service<SearchBreaker>()("test/SearchBreaker") {}
      return Effect.gen(function* () {
        const search = yield* SearchBreaker
        yield* search.open("redis_cache")
        const chain = FallbackChain.make<string>("breakers").pipe(
          FallbackChain.add("cache", () => search.protect("redis_cache")(Effect.succeed("cached")), {
            breaker: CacheBreaker,
            id: "redis_cache",
            on: ["CircuitOpenError"]
          }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const result = yield* FallbackChain.execute(chain, "x")
        assert.strictEqual(result.source, "static")
        const [failure] = result.failures
        assert.strictEqual(failure.reason, "failed")
        assert.strictEqual((failure.error as CircuitBreaker.CircuitOpenError).domain, "test/SearchBreaker")
        assert.strictEqual(yield* CacheBreaker.use((b) => b.state("redis_cache")), "Closed")
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            CircuitBreaker.layer(CacheBreaker, { failureThreshold: 2 }),
            CircuitBreaker.layer(SearchBreaker, { failureThreshold: 2 })
          )
        )
      )
    })

    it.effect("the provider's failures are recorded on its circuit, and once it opens it is skipped", () =>
      Effect.gen(function* () {
        const cache = probe(Effect.fail(connectionLost))
        const chain = FallbackChain.make<string>("breakers").pipe(
          FallbackChain.add("cache", cache.provider, { breaker: CacheBreaker, id: "redis_cache" }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const reasons = yield* Effect.forEach([1, 2, 3], () =>
          Effect.map(FallbackChain.execute(chain, "x"), (r) => r.failures[0].reason)
        )
        assert.deepStrictEqual(reasons, ["failed", "failed", "rejected"])
        assert.strictEqual(cache.stats.runs, 2)
        assert.strictEqual(yield* CacheBreaker.use((b) => b.state("redis_cache")), "Open")
      }).pipe(Effect.provide(CircuitBreaker.layer(CacheBreaker, { failureThreshold: 2 })))
    )
  })

  describe("fallback storms: concurrency limits", () => {
    it.effect("calls over a provider's concurrency limit are rejected at once and move on, not queued", () =>
      Effect.gen(function* () {
        const popular = probe(answerAfter("1 second", "popular"))
        const chain = FallbackChain.make<string>("storm").pipe(
          FallbackChain.add("popular", popular.provider, { concurrency: 2 }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const fibers = yield* Effect.forEach([1, 2, 3], () =>
          Effect.forkChild(FallbackChain.execute(chain, "x"), { startImmediately: true })
        )
        yield* TestClock.adjust("1 second")
        const results = yield* Fiber.joinAll(fibers)
        assert.deepStrictEqual(
          results.map((r) => r.source),
          ["popular", "popular", "static"]
        )
        assert.strictEqual(popular.stats.runs, 2)
        const rejection = results[2].failures[0]
        assert.strictEqual(rejection.reason, "rejected")
        assert.instanceOf(rejection.error, FallbackChain.ConcurrencyLimitExceeded)
        // the slots are given back: the next call gets in
        const later = succeeded(yield* runFor(FallbackChain.execute(chain, "x"), "1 second"))
        assert.strictEqual(later.source, "popular")
      })
    )

    it.effect("a slot is given back when its call is interrupted", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("storm").pipe(
          FallbackChain.add("popular", () => Effect.never, { concurrency: 1 }),
          FallbackChain.add("static", () => Effect.succeed("static"))
        )
        const fiber = yield* Effect.forkChild(FallbackChain.execute(chain, "x"), { startImmediately: true })
        const whileBusy = yield* FallbackChain.execute(chain, "x")
        yield* Fiber.interrupt(fiber)
        const second = yield* Effect.forkChild(FallbackChain.execute(chain, "x"), { startImmediately: true })
        yield* TestClock.adjust("1 second")
        assert.strictEqual(whileBusy.source, "static")
        assert.isUndefined(second.pollUnsafe()) // it got the slot and is still running
        yield* Fiber.interrupt(second)
      })
    )
  })

  describe("visibility", () => {
    const makeChain = () =>
      FallbackChain.make<string>("recs").pipe(
        FallbackChain.add("ml_service", (userId) =>
          userId === "u1" ? answerAfter("20 millis", "ml") : fail(connectionLost)
        ),
        FallbackChain.add("static", (userId) => (userId === "nothing" ? fail(new Timeout()) : Effect.succeed("static")))
      )

    it.effect("activations, answer latency, exhaustion and provider failures are counted per chain and source", () =>
      Effect.gen(function* () {
        const chain = makeChain()
        yield* runFor(FallbackChain.execute(chain, "u1"), "20 millis")
        yield* FallbackChain.execute(chain, "down")
        yield* FallbackChain.execute(chain, "down")
        yield* runFor(FallbackChain.execute(chain, "nothing"), "20 millis")
        const { metrics } = FallbackChain
        const activations = (source: string) =>
          Metric.value(Metric.withAttributes(metrics.activations, { chain: "recs", source }))
        const latency = (source: string) =>
          Metric.value(Metric.withAttributes(metrics.latency, { chain: "recs", source }))
        const failures = (source: string, reason: string) =>
          Metric.value(Metric.withAttributes(metrics.providerFailures, { chain: "recs", source, reason }))
        assert.strictEqual((yield* activations("static")).count, 2)
        assert.strictEqual((yield* activations("ml_service")).count, 0)
        const mlLatency = yield* latency("ml_service")
        assert.deepStrictEqual([mlLatency.count, mlLatency.sum], [1, 0.02])
        assert.strictEqual((yield* latency("static")).count, 2)
        assert.strictEqual((yield* Metric.value(Metric.withAttributes(metrics.exhausted, { chain: "recs" }))).count, 1)
        assert.strictEqual((yield* failures("ml_service", "failed")).count, 3)
        assert.strictEqual((yield* failures("static", "failed")).count, 1)
      }).pipe(withFreshMetrics)
    )

    it.effect("each provider failure warns with the chain and provider names, and each activation is logged", () =>
      Effect.gen(function* () {
        const { layer, logs } = captureLogs()
        yield* FallbackChain.execute(makeChain(), "down").pipe(Effect.provide(layer))
        assert.deepStrictEqual(
          logs.map((log) => [log.level, log.text]),
          [
            ["Warn", `provider "ml_service" of chain "recs" failed: ConnectionError {"reason":"connection lost"}`],
            ["Warn", `fallback activated in chain "recs": ml_service -> static`]
          ]
        )
        assert.deepInclude(logs[0].annotations, {
          "fallback.chain": "recs",
          "fallback.source": "ml_service",
          "fallback.reason": "failed"
        })
        assert.deepInclude(logs[1].annotations, { "fallback.chain": "recs", "fallback.source": "static" })
      })
    )

    it.effect("exhaustion is logged as an error with the full list", () =>
      Effect.gen(function* () {
        const { layer, logs } = captureLogs()
        yield* Effect.flip(FallbackChain.execute(makeChain(), "nothing").pipe(Effect.provide(layer)))
        const last = logs[logs.length - 1]
        assert.strictEqual(last.level, "Error")
        expect(last.text).toMatch(/ml_service failed .*; static failed .*Timeout/)
      })
    )

    it.effect("one span per call carries the chain, the source and whether it was a fallback", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        const chain = makeChain()
        yield* FallbackChain.execute(chain, "down").pipe(Effect.withTracer(tracer))
        yield* runFor(FallbackChain.execute(chain, "u1").pipe(Effect.withTracer(tracer)), "20 millis")
        assert.deepStrictEqual(
          spans.map((span) => span.name),
          ["FallbackChain.recs", "FallbackChain.recs"]
        )
        const [degraded, healthy] = spans.map((span) => Object.fromEntries(span.attributes))
        assert.deepInclude(degraded, {
          "fallback.chain": "recs",
          "fallback.source": "static",
          "fallback.is_fallback": true
        })
        assert.deepInclude(healthy, { "fallback.source": "ml_service", "fallback.is_fallback": false })
      })
    )

    it.effect("the call's span is the parent of every provider's own spans and ends with the call", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        const traced = (name: string, effect: Effect.Effect<string, ConnectionError>) => () =>
          Effect.withSpan(effect, name)
        const chain = FallbackChain.make<string>("spans").pipe(
          FallbackChain.add("slow", (input) =>
            input === "down"
              ? traced("slow.call", failAfter("5 millis", connectionLost))()
              : traced("slow.call", answerAfter("5 millis", "fresh"))()
          ),
          FallbackChain.add("backup", traced("backup.call", Effect.succeed("backup")))
        )
        const outer = yield* Effect.makeSpan("outer")
        for (const input of ["u1", "down"]) {
          const exit = yield* runFor(
            Effect.gen(function* () {
              const result = yield* FallbackChain.execute(chain, input)
              // the chain hands the caller's context back: its own span is no longer the parent
              assert.strictEqual(yield* Effect.currentParentSpan, outer)
              return result.source
            }).pipe(Effect.withParentSpan(outer), Effect.withTracer(tracer)),
            "10 millis"
          )
          assert.strictEqual(succeeded(exit), input === "u1" ? "slow" : "backup")
        }
        const byName = (name: string) => spans.filter((span) => span.name === name)
        const [healthy, degraded] = byName("FallbackChain.spans")
        const parentOf = (span: Tracer.Span) => (span.parent._tag === "Some" ? span.parent.value : undefined)
        assert.strictEqual(parentOf(healthy), outer)
        assert.strictEqual(parentOf(byName("slow.call")[0]), healthy)
        assert.strictEqual(parentOf(byName("slow.call")[1]), degraded)
        assert.strictEqual(parentOf(byName("backup.call")[0]), degraded)
        for (const span of [healthy, degraded]) {
          assert.strictEqual(span.status._tag, "Ended")
          assert.isTrue(span.status._tag === "Ended" && Exit.isSuccess(span.status.exit))
        }
      })
    )

    it.effect("an interrupted call ends its span with the interruption", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        const chain = FallbackChain.make<string>("cut").pipe(
          FallbackChain.add("slow", () => answerAfter("1 second", "late")),
          FallbackChain.add("backup", () => Effect.succeed("backup"))
        )
        const fiber = yield* Effect.forkChild(FallbackChain.execute(chain, "u1").pipe(Effect.withTracer(tracer)))
        yield* TestClock.adjust("10 millis")
        yield* Fiber.interrupt(fiber)
        assert.lengthOf(spans, 1)
        const status = spans[0].status
        assert.strictEqual(status._tag, "Ended")
        assert.isTrue(status._tag === "Ended" && Exit.hasInterrupts(status.exit))
      })
    )
  })

  describe("bad settings", () => {
    it("are reported with a typed error naming the field", () => {
      const chain = FallbackChain.make<string>("c").pipe(FallbackChain.add("a", () => Effect.succeed(1)))
      const attempt = (build: () => unknown) => {
        try {
          build()
        } catch (error) {
          return error
        }
        return undefined
      }
      const duplicate = attempt(() => chain.pipe(FallbackChain.add("a", () => Effect.succeed(2))))
      assert.instanceOf(duplicate, FallbackChain.FallbackChainConfigError)
      expect((duplicate as Error).message).toBe(
        `invalid fallback chain "c": a provider name must be unique within the chain, got "a"`
      )
      const concurrency = attempt(() => chain.pipe(FallbackChain.add("b", () => Effect.succeed(2), { concurrency: 0 })))
      expect((concurrency as FallbackChain.FallbackChainConfigError).field).toBe(`concurrency of "b"`)
      const budget = attempt(() => FallbackChain.make<string>("c", { budget: "-1 seconds" }))
      expect((budget as FallbackChain.FallbackChainConfigError).field).toBe("budget")
      const breakerWithoutId = attempt(() =>
        chain.pipe(
          FallbackChain.add("b", () => Effect.succeed(2), {
            breaker: CircuitBreaker.Service<never>()("K"),
            id: ""
          })
        )
      )
      expect((breakerWithoutId as FallbackChain.FallbackChainConfigError).field).toBe(`id of "b"`)
    })

    it("NaN durations, empty duration objects and `on` lists that are not tags are refused, naming the field", () => {
      const chain = FallbackChain.make<string>("c").pipe(FallbackChain.add("a", () => Effect.succeed(1)))
      const fieldOf = (build: () => unknown): string | undefined => {
        try {
          build()
        } catch (error) {
          assert.instanceOf(error, FallbackChain.FallbackChainConfigError)
          return (error as FallbackChain.FallbackChainConfigError).field
        }
        return undefined
      }
      assert.strictEqual(
        fieldOf(() => FallbackChain.make<string>("c", { hedge: NaN })),
        "hedge"
      )
      assert.strictEqual(
        fieldOf(() => FallbackChain.make<string>("c", { budget: [NaN, 0] })),
        "budget"
      )
      assert.strictEqual(
        fieldOf(() => FallbackChain.make<string>("c", { budget: {} })),
        "budget"
      )
      assert.strictEqual(
        fieldOf(() => FallbackChain.make<string>("c", { budget: { seconds: NaN } })),
        "budget"
      )
      assert.strictEqual(
        fieldOf(() => chain.pipe(FallbackChain.lastKnownGood({ maxStaleness: NaN, capacity: 10 }))),
        "maxStaleness"
      )
      assert.strictEqual(
        fieldOf(() => chain.pipe(FallbackChain.add("b", () => Effect.succeed(2), { timeout: NaN }))),
        `timeout of "b"`
      )
      assert.strictEqual(
        fieldOf(() => FallbackChain.add(chain as any, "b", () => Effect.succeed(2), { on: [1, 2] as any })),
        `on of "b"`
      )
    })

    it("a config error repeats at most a bounded part of a huge value", () => {
      try {
        FallbackChain.make<string>("c", { budget: "x".repeat(10_000_000) as Duration.Input })
        assert.fail("the budget was accepted")
      } catch (error) {
        const message = (error as Error).message
        assert.isBelow(message.length, 1_000)
        expect(message).toMatch(/…/)
      }
    })

    it.effect("bad execute options make the call die with the typed error", () =>
      Effect.gen(function* () {
        const chain = FallbackChain.make<string>("c").pipe(FallbackChain.add("a", () => Effect.succeed(1)))
        const exit = yield* Effect.exit(FallbackChain.execute(chain, "x", { hedge: "soon" as Duration.Input }))
        assert.isTrue(Exit.isFailure(exit))
        const defect = Exit.isFailure(exit) ? Cause.findDefect(exit.cause) : undefined
        assert.instanceOf(
          defect?._tag === "Success" ? defect.success : undefined,
          FallbackChain.FallbackChainConfigError
        )
      })
    )
  })

  describe("types", () => {
    class Db extends Context.Service<Db, { readonly get: Effect.Effect<number> }>()("test/Db") {}
    class CacheBreaker extends CircuitBreaker.Service<CacheBreaker>()("test/CacheBreaker") {}
    const live = (_: string): Effect.Effect<Array<string>, ConnectionError | BadRequest> => Effect.succeed([])

    it("execute's value is the union of the providers' values, its errors those `on` lets through", () => {
      const chain = FallbackChain.make<string>("recs").pipe(
        FallbackChain.add("ml", (userId) => live(userId), { on: ["ConnectionError"] }),
        FallbackChain.add("db", () => Db.use((db) => db.get), { breaker: CacheBreaker, id: "db" }),
        FallbackChain.lastKnownGood({ key: (userId) => userId.toUpperCase(), maxStaleness: "1 minute", capacity: 10 }),
        FallbackChain.add("static", () => Effect.succeed("static" as const))
      )
      expectTypeOf(FallbackChain.execute(chain, "u1")).toEqualTypeOf<
        Effect.Effect<
          FallbackChain.FallbackResult<Array<string> | number | "static">,
          BadRequest | FallbackChain.AllFallbacksExhausted,
          Db | CacheBreaker
        >
      >()
      const refined = FallbackChain.make<string>("refined").pipe(
        FallbackChain.add("a", live, { on: (e): e is BadRequest => e._tag === "BadRequest" }),
        FallbackChain.add("b", live, { on: (e) => e._tag === "BadRequest" })
      )
      expectTypeOf(chain.pipe(FallbackChain.execute("u1"))).toEqualTypeOf(FallbackChain.execute(chain, "u1"))
      expectTypeOf(FallbackChain.execute(refined, "u1")).toEqualTypeOf<
        Effect.Effect<
          FallbackChain.FallbackResult<Array<string>>,
          ConnectionError | BadRequest | FallbackChain.AllFallbacksExhausted
        >
      >()
      const unknownTag = FallbackChain.add("a", live, { on: ["Nope"] })
      expectTypeOf(unknownTag).toEqualTypeOf<FallbackChain.UnknownTags<"Nope">>()
      // @ts-expect-error a breaker needs a circuit id
      FallbackChain.add("a", live, { breaker: CacheBreaker })
    })
  })
})
