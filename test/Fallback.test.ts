import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Fiber, Layer, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Fallback } from "effect-fallback"
import { captureLogs, captureSpans } from "./support/capture.ts"
import { expectTypeOf } from "vitest"

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly reason: string }> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly ms: number }> {}
class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly userId: string }> {}
class CacheMiss extends Data.TaggedError("CacheMiss")<{}> {}

type Failure = ConnectionError | TimeoutError | UserNotFound

const connectionLost = new ConnectionError({ reason: "connection lost" })
const timedOut = new TimeoutError({ ms: 500 })
const missing = new UserNotFound({ userId: "u-404" })

const failing = (error: Failure): Effect.Effect<string, Failure> => Effect.fail(error)

/** A primary that counts its runs, so a test can tell whether it ran at all. */
const counted = <A, E>(effect: Effect.Effect<A, E>) => {
  const runs = { count: 0 }
  return {
    runs,
    effect: Effect.andThen(
      Effect.sync(() => runs.count++),
      effect
    )
  }
}

describe("Fallback.orElse", () => {
  describe("calling conventions", () => {
    it.effect("data-last: a failing primary is answered by the fallback", () =>
      Effect.gen(function* () {
        const result = yield* failing(connectionLost).pipe(Fallback.orElse(Effect.succeed("fallback")))
        assert.strictEqual(result, "fallback")
      })
    )

    it.effect("data-first: the primary is the first argument", () =>
      Effect.gen(function* () {
        const result = yield* Fallback.orElse(failing(connectionLost), Effect.succeed("fallback"))
        assert.strictEqual(result, "fallback")
      })
    )

    it.effect("data-first and data-last accept a fallback function and options alike", () =>
      Effect.gen(function* () {
        const fallback = (error: ConnectionError) => Effect.succeed(`after ${error._tag}`)
        const first = yield* Fallback.orElse(failing(connectionLost), fallback, { on: ["ConnectionError"] })
        const last = yield* failing(connectionLost).pipe(Fallback.orElse(fallback, { on: ["ConnectionError"] }))
        assert.deepStrictEqual([first, last], ["after ConnectionError", "after ConnectionError"])
      })
    )

    it.effect("a succeeding primary never runs the fallback", () =>
      Effect.gen(function* () {
        const fallback = counted(Effect.succeed("fallback"))
        const result = yield* Effect.succeed("primary").pipe(Fallback.orElse(fallback.effect))
        assert.strictEqual(result, "primary")
        assert.strictEqual(fallback.runs.count, 0)
      })
    )

    it.effect("the combined effect is a reusable value: every run tries the primary again", () =>
      Effect.gen(function* () {
        let calls = 0
        const primary = Effect.suspend(() => (++calls % 2 === 0 ? Effect.succeed("primary") : failing(timedOut)))
        const program = primary.pipe(Fallback.orElse(Effect.succeed("fallback")))
        const results = yield* Effect.all([program, program, program, program])
        assert.deepStrictEqual(results, ["fallback", "primary", "fallback", "primary"])
      })
    )
  })

  describe("on", () => {
    it.effect("omitted: every typed failure falls back and the error type becomes the fallback's", () =>
      Effect.gen(function* () {
        const program = failing(missing).pipe(Fallback.orElse(Effect.succeed("fallback")))
        expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, never>>()
        assert.strictEqual(yield* program, "fallback")
      })
    )

    it.effect("tags: a listed tag falls back and leaves the error type, like Effect.catchTag", () =>
      Effect.gen(function* () {
        const program = failing(timedOut).pipe(
          Fallback.orElse(Effect.succeed("fallback"), { on: ["ConnectionError", "TimeoutError"] })
        )
        expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, UserNotFound>>()
        const dataFirst = Fallback.orElse(failing(timedOut), Effect.succeed(0), { on: ["TimeoutError"] })
        expectTypeOf(dataFirst).toEqualTypeOf<Effect.Effect<string | number, ConnectionError | UserNotFound>>()
        assert.strictEqual(yield* program, "fallback")
        assert.strictEqual(yield* dataFirst, 0)
      })
    )

    it.effect("tags: a tag outside the primary's error type does not compile (and would select nothing)", () =>
      Effect.gen(function* () {
        // @ts-expect-error "Unknown" is not a _tag of ConnectionError | TimeoutError | UserNotFound
        const unknownTag = failing(timedOut).pipe(Fallback.orElse(Effect.succeed("fallback"), { on: ["Unknown"] }))
        // @ts-expect-error the same check in the data-first form
        Fallback.orElse(failing(timedOut), Effect.succeed("fallback"), { on: ["ConnectionError", "Unknown"] })
        assert.strictEqual(yield* Effect.flip(unknownTag), timedOut)
      })
    )

    it("tags: an empty list does not compile, and from untyped code it raises InvalidFallbackOptions", () => {
      expect(() =>
        // @ts-expect-error an empty list selects nothing
        failing(timedOut).pipe(Fallback.orElse(Effect.succeed("fallback"), { on: [] }))
      ).toThrow(Fallback.InvalidFallbackOptions)
    })

    it.effect("tags: the fallback function receives only the selected failures", () =>
      Effect.gen(function* () {
        const program = failing(connectionLost).pipe(
          Fallback.orElse(
            (error) => {
              expectTypeOf(error).toEqualTypeOf<ConnectionError | TimeoutError>()
              return Effect.succeed(error._tag)
            },
            { on: ["ConnectionError", "TimeoutError"] }
          )
        )
        assert.strictEqual(yield* program, "ConnectionError")
      })
    )

    it.effect("a failure outside `on` passes through unchanged", () =>
      Effect.gen(function* () {
        const fallback = counted(Effect.succeed("fallback"))
        const exit = yield* failing(missing).pipe(
          Fallback.orElse(fallback.effect, { on: ["ConnectionError", "TimeoutError"] }),
          Effect.exit
        )
        assert.deepStrictEqual(exit, Exit.fail(missing))
        assert.strictEqual(Exit.isFailure(exit) && Cause.squash(exit.cause), missing)
        assert.strictEqual(fallback.runs.count, 0)
      })
    )

    it.effect("a refinement selects and narrows the error type", () =>
      Effect.gen(function* () {
        const isTransient = (error: Failure): error is ConnectionError | TimeoutError =>
          error._tag === "ConnectionError" || error._tag === "TimeoutError"
        const program = failing(connectionLost).pipe(
          Fallback.orElse((error) => Effect.succeed(`transient ${error._tag}`), { on: isTransient })
        )
        expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, UserNotFound>>()
        assert.strictEqual(yield* program, "transient ConnectionError")
        const passed = yield* failing(missing).pipe(
          Fallback.orElse(Effect.succeed("fallback"), { on: isTransient }),
          Effect.flip
        )
        assert.strictEqual(passed, missing)
      })
    )

    it.effect("a predicate decides at run time and keeps the error type", () =>
      Effect.gen(function* () {
        const slowerThan = (ms: number) =>
          failing(new TimeoutError({ ms })).pipe(
            Fallback.orElse(Effect.succeed("fallback"), {
              on: (error) => error._tag === "TimeoutError" && error.ms > 100
            })
          )
        expectTypeOf(slowerThan(1)).toEqualTypeOf<Effect.Effect<string, Failure>>()
        assert.strictEqual(yield* slowerThan(500), "fallback")
        const passed = yield* Effect.flip(slowerThan(50))
        assert.deepStrictEqual(passed, new TimeoutError({ ms: 50 }))
      })
    )

    it.effect("an inline predicate and an inline fallback function infer the primary's error type together", () =>
      Effect.gen(function* () {
        const program = failing(timedOut).pipe(
          Fallback.orElse(
            (error) => {
              expectTypeOf(error).toEqualTypeOf<Failure>()
              return Effect.succeed(`fallback after ${error._tag}`)
            },
            { on: (error) => error._tag !== "UserNotFound" }
          )
        )
        expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, Failure>>()
        assert.strictEqual(yield* program, "fallback after TimeoutError")
      })
    )
  })

  describe("fallback", () => {
    it.effect("a function receives the failure that triggered it", () =>
      Effect.gen(function* () {
        const received = yield* failing(timedOut).pipe(Fallback.orElse((error) => Effect.succeed(error)))
        assert.strictEqual(received, timedOut)
      })
    )

    it.effect("a function of no arguments is called on each activation", () =>
      Effect.gen(function* () {
        let built = 0
        const program = failing(timedOut).pipe(Fallback.orElse(() => Effect.sync(() => ++built)))
        assert.deepStrictEqual(yield* Effect.all([program, program]), [1, 2])
      })
    )

    it.effect("a failing fallback fails the call with the fallback's failure", () =>
      Effect.gen(function* () {
        const exit = yield* failing(connectionLost).pipe(Fallback.orElse(Effect.fail(new CacheMiss())), Effect.exit)
        expectTypeOf(exit).toEqualTypeOf<Exit.Exit<string, CacheMiss>>()
        assert.deepStrictEqual(exit, Exit.fail(new CacheMiss()))
      })
    )

    it.effect("a failing fallback logs the primary's failure as a warning, with annotations", () =>
      Effect.gen(function* () {
        const { layer, logs } = captureLogs()
        yield* failing(connectionLost).pipe(
          Fallback.orElse(Effect.fail(new CacheMiss()), { id: "GetUserProfile" }),
          Effect.exit,
          Effect.provide(layer)
        )
        const warnings = logs.filter((log) => log.level === "Warn")
        assert.strictEqual(warnings.length, 1)
        const [warning] = warnings
        assert.deepStrictEqual(Cause.findErrorOption(warning.cause), Cause.findErrorOption(Cause.fail(connectionLost)))
        assert.deepStrictEqual(warning.annotations, {
          "fallback.id": "GetUserProfile",
          "fallback.primary.failure": "ConnectionError",
          "fallback.failure": "CacheMiss"
        })
      })
    )

    it.effect("a failing fallback annotates the primary's failure on the current span", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        yield* failing(timedOut).pipe(
          Fallback.orElse(Effect.fail(new CacheMiss())),
          Effect.withSpan("GetUserProfile"),
          Effect.exit,
          Effect.withTracer(tracer)
        )
        const span = spans.find((span) => span.name === "GetUserProfile")
        assert.isDefined(span)
        assert.strictEqual(span.attributes.get("fallback.failed"), true)
        assert.strictEqual(span.attributes.get("fallback.primary.failure"), "TimeoutError")
        assert.strictEqual(span.attributes.get("fallback.failure"), "CacheMiss")
      })
    )

    it.effect("an activation is annotated on the current span and logged at Debug, and a success path is not", () =>
      Effect.gen(function* () {
        const { spans, tracer } = captureSpans()
        const { layer, logs } = captureLogs()
        const run = (primary: Effect.Effect<string, Failure>, name: string) =>
          primary.pipe(
            Fallback.orElse(Effect.succeed("fallback"), { id: "GetUserProfile" }),
            Effect.withSpan(name),
            Effect.withTracer(tracer)
          )
        yield* run(failing(timedOut), "failed").pipe(
          Effect.andThen(run(Effect.succeed("primary"), "succeeded")),
          Effect.provide(layer),
          Effect.provideService(References.MinimumLogLevel, "Debug")
        )
        const failed = spans.find((span) => span.name === "failed")
        const succeeded = spans.find((span) => span.name === "succeeded")
        assert.strictEqual(failed?.attributes.get("fallback.activated"), true)
        assert.strictEqual(failed?.attributes.get("fallback.trigger"), "TimeoutError")
        assert.strictEqual(failed?.attributes.get("fallback.id"), "GetUserProfile")
        assert.strictEqual(succeeded?.attributes.has("fallback.activated"), false)
        assert.deepStrictEqual(
          logs.map((log) => [log.level, ...log.message]),
          [["Debug", "Fallback activated for GetUserProfile", "TimeoutError"]]
        )
      })
    )
  })

  describe("defects and interruption", () => {
    it.effect("defects do not fall back by default", () =>
      Effect.gen(function* () {
        const fallback = counted(Effect.succeed("fallback"))
        const exit = yield* Effect.die(new Error("bug")).pipe(Fallback.orElse(fallback.effect), Effect.exit)
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
        assert.strictEqual(fallback.runs.count, 0)
      })
    )

    it.effect("defects: true falls back on a rejected promise, handing over the rejection", () =>
      Effect.gen(function* () {
        const rejection = new Error("socket hang up")
        const primary = Effect.promise((): Promise<string> => Promise.reject(rejection))
        const received = yield* primary.pipe(Fallback.orElse((defect) => Effect.succeed(defect), { defects: true }))
        assert.strictEqual(received, rejection)
      })
    )

    it.effect("defects: true still lets a typed failure outside `on` pass through", () =>
      Effect.gen(function* () {
        const exit = yield* failing(missing).pipe(
          Fallback.orElse(Effect.succeed("fallback"), { on: ["ConnectionError"], defects: true }),
          Effect.exit
        )
        assert.deepStrictEqual(exit, Exit.fail(missing))
      })
    )

    it.effect("defects: true falls back on a matching typed failure as well", () =>
      Effect.gen(function* () {
        const result = yield* failing(connectionLost).pipe(
          Fallback.orElse(Effect.succeed("fallback"), { on: ["ConnectionError"], defects: true })
        )
        assert.strictEqual(result, "fallback")
      })
    )

    it.effect.each([false, true])("interruption never falls back (defects: %s)", (defects) =>
      Effect.gen(function* () {
        const fallback = counted(Effect.succeed("fallback"))
        const exit = yield* Effect.interrupt.pipe(Fallback.orElse(fallback.effect, { defects }), Effect.exit)
        assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
        const started = yield* Effect.never.pipe(Fallback.orElse(fallback.effect, { defects }), Effect.forkChild)
        yield* TestClock.adjust("1 second")
        const interrupted = yield* Fiber.interrupt(started).pipe(Effect.andThen(Fiber.await(started)))
        assert.isTrue(Exit.isFailure(interrupted) && Cause.hasInterruptsOnly(interrupted.cause))
        assert.strictEqual(fallback.runs.count, 0)
      })
    )
  })

  describe("bad input", () => {
    it("options the compiler would reject raise InvalidFallbackOptions naming the field", () => {
      const raised = (build: () => unknown): Fallback.InvalidFallbackOptions => {
        try {
          build()
        } catch (error) {
          if (error instanceof Fallback.InvalidFallbackOptions) return error
          throw error
        }
        throw new Error("expected InvalidFallbackOptions")
      }
      const untyped = Fallback.orElse as (...args: ReadonlyArray<unknown>) => any
      const emptyOn = raised(() => untyped(Effect.fail(1), Effect.succeed(0), { on: [] }))
      assert.strictEqual(
        emptyOn.message,
        "Fallback.orElse: on must be a non-empty array of _tags or a predicate, got []"
      )
      const badDefects = raised(() => untyped(Effect.fail(1), Effect.succeed(0), { defects: "yes" }))
      assert.strictEqual(badDefects.message, 'Fallback.orElse: defects must be a boolean, got "yes"')
      const notAFallback = raised(() => untyped(42)(Effect.fail(1)))
      assert.deepStrictEqual([notAFallback.combinator, notAFallback.field], ["Fallback.orElse", "fallback"])
      const untypedStream = Fallback.stream as (...args: ReadonlyArray<unknown>) => any
      const notAStream = raised(() => untypedStream(Effect.succeed(1))(Stream.make(1)))
      assert.deepStrictEqual([notAStream.combinator, notAStream.field], ["Fallback.stream", "fallback"])
    })
  })
})

// ---------------------------------------------------------------------------------------------------------------

class StreamItemResult extends Data.Class<{
  readonly itemId: string
  readonly status: "processed" | "from_fallback"
  readonly source: "primary" | "fallback"
}> {}

const primaryItem = (itemId: string) => new StreamItemResult({ itemId, status: "processed", source: "primary" })
const fallbackItem = (itemId: string) => new StreamItemResult({ itemId, status: "from_fallback", source: "fallback" })

/** A primary that yields items until index `failAt`, where the connection is lost. */
const primaryStream = (itemIds: ReadonlyArray<string>, failAt: number): Stream.Stream<StreamItemResult, Failure> =>
  Stream.fromIterable(itemIds).pipe(
    Stream.take(failAt),
    Stream.map(primaryItem),
    Stream.concat(failAt < itemIds.length ? Stream.fail(connectionLost) : Stream.empty)
  )

const fallbackStream = (itemIds: ReadonlyArray<string>) => Stream.fromIterable(itemIds).pipe(Stream.map(fallbackItem))

const ids = ["a", "b", "c", "d"]

describe("Fallback.stream", () => {
  it.effect(
    "a primary that yields 2 items then loses its connection: the client sees primary x2, then fallback x4",
    () =>
      Effect.gen(function* () {
        const items = yield* primaryStream(ids, 2).pipe(
          Fallback.stream(fallbackStream(ids), { on: ["ConnectionError", "TimeoutError"] }),
          Stream.runCollect
        )
        assert.deepStrictEqual(
          items.map((item) => `${item.source} ${item.itemId}`),
          ["primary a", "primary b", "fallback a", "fallback b", "fallback c", "fallback d"]
        )
      })
  )

  const N = 6
  const manyIds = Array.from({ length: N }, (_, i) => `id-${i}`)
  it.effect.each(Array.from({ length: N + 1 }, (_, k) => k))(
    "a primary failing at index %i gives exactly primary[0..k) ++ fallback",
    (k) =>
      Effect.gen(function* () {
        const items = yield* primaryStream(manyIds, k).pipe(Fallback.stream(fallbackStream(manyIds)), Stream.runCollect)
        const expected =
          k < N ? [...manyIds.slice(0, k).map(primaryItem), ...manyIds.map(fallbackItem)] : manyIds.map(primaryItem)
        assert.deepStrictEqual(items, expected)
      })
  )

  it.effect("data-first: the primary stream is the first argument", () =>
    Effect.gen(function* () {
      const items = yield* Fallback.stream(primaryStream(ids, 1), fallbackStream(["z"])).pipe(Stream.runCollect)
      assert.deepStrictEqual(items, [primaryItem("a"), fallbackItem("z")])
    })
  )

  it.effect("a fallback function resumes after the items the primary delivered, using `emitted`", () =>
    Effect.gen(function* () {
      const received: Array<[string, number]> = []
      const items = yield* primaryStream(ids, 3).pipe(
        Fallback.stream(
          (error, { emitted }) => {
            received.push([error._tag, emitted])
            return fallbackStream(ids.slice(emitted))
          },
          { on: ["ConnectionError"] }
        ),
        Stream.runCollect
      )
      assert.deepStrictEqual(items, [primaryItem("a"), primaryItem("b"), primaryItem("c"), fallbackItem("d")])
      assert.deepStrictEqual(received, [["ConnectionError", 3]])
    })
  )

  it.effect("`emitted` counts every item across chunks, and each run counts from zero", () =>
    Effect.gen(function* () {
      const emittedSeen: Array<number> = []
      const primary = Stream.range(1, 10_000).pipe(Stream.rechunk(64), Stream.concat(Stream.fail(connectionLost)))
      const program = primary.pipe(
        Fallback.stream((_error, { emitted }) => {
          emittedSeen.push(emitted)
          return Stream.empty
        }),
        Stream.runCount
      )
      assert.deepStrictEqual(yield* Effect.all([program, program]), [10_000, 10_000])
      assert.deepStrictEqual(emittedSeen, [10_000, 10_000])
    })
  )

  it.effect("tags narrow the stream's error type", () =>
    Effect.gen(function* () {
      const narrowed = primaryStream(ids, 2).pipe(Fallback.stream(fallbackStream(ids), { on: ["ConnectionError"] }))
      expectTypeOf(narrowed).toEqualTypeOf<Stream.Stream<StreamItemResult, TimeoutError | UserNotFound>>()
      // @ts-expect-error "Unknown" is not a _tag of the primary's errors
      primaryStream(ids, 2).pipe(Fallback.stream(fallbackStream(ids), { on: ["Unknown"] }))
      assert.strictEqual((yield* Stream.runCollect(narrowed)).length, 6)
    })
  )

  it.effect("a failure outside `on` keeps the delivered items, then propagates unchanged", () =>
    Effect.gen(function* () {
      const primary: Stream.Stream<StreamItemResult, Failure> = Stream.make(primaryItem("a")).pipe(
        Stream.concat(Stream.fail(missing))
      )
      const delivered: Array<StreamItemResult> = []
      const exit = yield* primary.pipe(
        Fallback.stream(fallbackStream(ids), { on: ["ConnectionError"] }),
        Stream.runForEach((item) => Effect.sync(() => delivered.push(item))),
        Effect.exit
      )
      assert.deepStrictEqual(delivered, [primaryItem("a")])
      assert.deepStrictEqual(exit, Exit.fail(missing))
    })
  )

  it.effect("a failing fallback keeps its items, then fails with its error and logs the primary's failure", () =>
    Effect.gen(function* () {
      const { layer, logs } = captureLogs()
      const fallback = fallbackStream(["x"]).pipe(Stream.concat(Stream.fail(new CacheMiss())))
      const delivered: Array<StreamItemResult> = []
      const exit = yield* primaryStream(ids, 1).pipe(
        Fallback.stream(fallback),
        Stream.runForEach((item) => Effect.sync(() => delivered.push(item))),
        Effect.exit,
        Effect.provide(layer)
      )
      assert.deepStrictEqual(delivered, [primaryItem("a"), fallbackItem("x")])
      assert.deepStrictEqual(exit, Exit.fail(new CacheMiss()))
      const warnings = logs.filter((log) => log.level === "Warn")
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0].annotations["fallback.primary.failure"], "ConnectionError")
    })
  )

  it.effect("a consumer that stops early never triggers the fallback", () =>
    Effect.gen(function* () {
      let fallbackStarted = false
      const fallback = Stream.suspend(() => {
        fallbackStarted = true
        return fallbackStream(ids)
      })
      for (const defects of [false, true]) {
        const items = yield* primaryStream(ids, 2).pipe(
          Fallback.stream(fallback, { defects }),
          Stream.take(2),
          Stream.runCollect
        )
        assert.deepStrictEqual(items, [primaryItem("a"), primaryItem("b")])
      }
      assert.isFalse(fallbackStarted)
    })
  )

  it.effect("defects fall back only with defects: true, and the function receives the defect", () =>
    Effect.gen(function* () {
      const bug = new Error("bug")
      const primary = Stream.make(1, 2).pipe(Stream.concat(Stream.die(bug)))
      const exit = yield* primary.pipe(Fallback.stream(Stream.make(0)), Stream.runCollect, Effect.exit)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      const received: Array<unknown> = []
      const items = yield* primary.pipe(
        Fallback.stream(
          (defect, { emitted }) => {
            received.push(defect, emitted)
            return Stream.make(3)
          },
          { defects: true }
        ),
        Stream.runCollect
      )
      assert.deepStrictEqual(items, [1, 2, 3])
      assert.deepStrictEqual(received, [bug, 2])
    })
  )

  it.effect("an interrupted primary stream never falls back", () =>
    Effect.gen(function* () {
      const fallback = Stream.suspend(() => Stream.die("the fallback must not start"))
      const exit = yield* Stream.make(1).pipe(
        Stream.concat(Stream.fromEffect(Effect.interrupt)),
        Fallback.stream(fallback, { defects: true }),
        Stream.runCollect,
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------

class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("test/RequestsBreaker") {}
const breakerLayer = (options?: CircuitBreaker.Options) =>
  CircuitBreaker.layer(RequestsBreaker, { failureThreshold: 2, resetTimeout: "30 seconds", ...options })

class GetUserProfile extends Data.Class<{ readonly userId: string }> {}
class UserProfileResult extends Data.Class<{
  readonly userId: string
  readonly name: string
  readonly source: "primary" | "fallback"
}> {}

describe("Fallback with a breaker", () => {
  it.effect("a profile lookup whose primary fails answers with the fallback's default profile", () =>
    Effect.gen(function* () {
      const primary = (_request: GetUserProfile): Effect.Effect<UserProfileResult, ConnectionError | TimeoutError> =>
        Effect.fail(new ConnectionError({ reason: "Database unavailable" }))
      const fallback = (request: GetUserProfile) =>
        Effect.succeed(new UserProfileResult({ userId: request.userId, name: "Unknown User", source: "fallback" }))
      const request = new GetUserProfile({ userId: "u-1" })
      const handle = primary(request).pipe(
        Fallback.orElse(fallback(request), {
          on: ["ConnectionError", "TimeoutError"],
          breaker: RequestsBreaker,
          id: "GetUserProfile"
        })
      )
      expectTypeOf(handle).toEqualTypeOf<Effect.Effect<UserProfileResult, never, RequestsBreaker>>()
      const profile = yield* handle.pipe(Effect.provide(breakerLayer()))
      assert.deepStrictEqual(
        profile,
        new UserProfileResult({ userId: "u-1", name: "Unknown User", source: "fallback" })
      )
    })
  )

  it.effect("failures open the circuit; then the primary does not run and the fallback gets a CircuitOpenError", () =>
    Effect.gen(function* () {
      const primary = counted(failing(connectionLost))
      const received: Array<string> = []
      const call = primary.effect.pipe(
        Fallback.orElse(
          (error) => {
            expectTypeOf(error).toEqualTypeOf<Failure | CircuitBreaker.CircuitOpenError>()
            received.push(error._tag)
            return Effect.succeed("fallback")
          },
          { breaker: RequestsBreaker, id: "GetUserProfile" }
        )
      )
      const breaker = yield* RequestsBreaker
      const results = yield* Effect.all([call, call, call, call])
      assert.deepStrictEqual(results, ["fallback", "fallback", "fallback", "fallback"])
      assert.strictEqual(primary.runs.count, 2)
      assert.deepStrictEqual(received, ["ConnectionError", "ConnectionError", "CircuitOpenError", "CircuitOpenError"])
      assert.strictEqual(yield* breaker.state("GetUserProfile"), "Open")
    }).pipe(Effect.provide(breakerLayer()))
  )

  it.effect("the open circuit's rejection carries the circuit and falls back even outside `on`", () =>
    Effect.gen(function* () {
      const breaker = yield* RequestsBreaker
      yield* breaker.open("GetUserProfile")
      const error = yield* failing(missing).pipe(
        Fallback.orElse((error) => Effect.succeed(error), {
          on: ["TimeoutError"],
          breaker: RequestsBreaker,
          id: "GetUserProfile"
        }),
        Effect.flip,
        Effect.flip
      )
      assert.isTrue(CircuitBreaker.isCircuitOpenError(error))
      assert.include(error as CircuitBreaker.CircuitOpenError, {
        domain: "test/RequestsBreaker",
        id: "GetUserProfile",
        state: "Open"
      })
    }).pipe(Effect.provide(breakerLayer()))
  )

  it.effect(
    "a CircuitOpenError of another circuit, raised inside the primary, is an ordinary failure subject to `on`",
    () =>
      Effect.gen(function* () {
        const breaker = yield* RequestsBreaker
        yield* breaker.open("Inner")
        const inner = failing(timedOut).pipe(breaker.protect("Inner"))
        const call = inner.pipe(
          Fallback.orElse(Effect.succeed("fallback"), { on: ["TimeoutError"], breaker: RequestsBreaker, id: "Outer" })
        )
        expectTypeOf(call).toEqualTypeOf<
          Effect.Effect<string, ConnectionError | UserNotFound | CircuitBreaker.CircuitOpenError, RequestsBreaker>
        >()
        const error = yield* Effect.flip(call)
        assert.isTrue(CircuitBreaker.isCircuitOpenError(error))
        assert.strictEqual((error as CircuitBreaker.CircuitOpenError).id, "Inner")
      }).pipe(Effect.provide(breakerLayer()))
  )

  it.effect("a failure outside `on` propagates unchanged but still counts toward opening the circuit", () =>
    Effect.gen(function* () {
      const breaker = yield* RequestsBreaker
      const call = failing(missing).pipe(
        Fallback.orElse(Effect.succeed("fallback"), {
          on: ["ConnectionError"],
          breaker: RequestsBreaker,
          id: "GetUserProfile"
        })
      )
      const first = yield* Effect.flip(call)
      const second = yield* Effect.flip(call)
      assert.deepStrictEqual([first, second], [missing, missing])
      assert.strictEqual(yield* breaker.state("GetUserProfile"), "Open")
      assert.strictEqual(yield* call, "fallback")
    }).pipe(Effect.provide(breakerLayer()))
  )

  it.effect("exclude: a UserNotFound falls back but never opens the circuit", () =>
    Effect.gen(function* () {
      const breaker = yield* RequestsBreaker
      const primary = counted(failing(missing))
      const call = primary.effect.pipe(
        Fallback.orElse(Effect.succeed("fallback"), { breaker: RequestsBreaker, id: "GetUserProfile" })
      )
      const results = yield* Effect.all(Array.from({ length: 5 }, () => call))
      assert.deepStrictEqual(
        results,
        Array.from({ length: 5 }, () => "fallback")
      )
      assert.strictEqual(primary.runs.count, 5)
      assert.strictEqual(yield* breaker.state("GetUserProfile"), "Closed")
      const stats = yield* breaker.stats("GetUserProfile")
      assert.deepStrictEqual([stats.failures, stats.ignored], [0, 5])
    }).pipe(Effect.provide(breakerLayer({ exclude: ["UserNotFound"] })))
  )

  it.effect("after the reset timeout a trial runs the primary again and a success closes the circuit", () =>
    Effect.gen(function* () {
      const breaker = yield* RequestsBreaker
      let healthy = false
      const primary = Effect.suspend(() => (healthy ? Effect.succeed("primary") : failing(connectionLost)))
      const call = primary.pipe(
        Fallback.orElse(Effect.succeed("fallback"), { breaker: RequestsBreaker, id: "GetUserProfile" })
      )
      yield* Effect.all([call, call])
      assert.strictEqual(yield* breaker.state("GetUserProfile"), "Open")
      healthy = true
      assert.strictEqual(yield* call, "fallback")
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* call, "primary")
      assert.strictEqual(yield* breaker.state("GetUserProfile"), "Closed")
    }).pipe(Effect.provide(breakerLayer()))
  )

  it.effect("each provided breaker is used by the same combined effect", () =>
    Effect.gen(function* () {
      const call = failing(connectionLost).pipe(
        Fallback.orElse((error) => Effect.succeed(error._tag), { breaker: RequestsBreaker, id: "GetUserProfile" })
      )
      const twice = Effect.all([call, call, call])
      const first = yield* twice.pipe(Effect.provide(breakerLayer()))
      const second = yield* twice.pipe(Effect.provide(breakerLayer()))
      const expected = ["ConnectionError", "ConnectionError", "CircuitOpenError"]
      assert.deepStrictEqual([first, second], [expected, expected])
    })
  )

  describe("streams", () => {
    it.effect("a completed stream records a success; the breaker is asked once per stream", () =>
      Effect.gen(function* () {
        const breaker = yield* RequestsBreaker
        const items = yield* Stream.range(1, 1000).pipe(
          Stream.rechunk(10),
          Fallback.stream(Stream.empty, { breaker: RequestsBreaker, id: "StreamItems" }),
          Stream.runCount
        )
        assert.strictEqual(items, 1000)
        const stats = yield* breaker.stats("StreamItems")
        assert.deepStrictEqual([stats.successes, stats.failures], [1, 0])
      }).pipe(Effect.provide(breakerLayer()))
    )

    it.effect.each([0, 1, 3])(
      "a failure at item %i records a failure; once open the fallback gets CircuitOpenError and emitted 0",
      (k) =>
        Effect.gen(function* () {
          const breaker = yield* RequestsBreaker
          const received: Array<[string, number]> = []
          let primaryStarts = 0
          const primary = Stream.suspend(() => {
            primaryStarts++
            return primaryStream(ids, k)
          })
          const items = primary.pipe(
            Fallback.stream(
              (error, { emitted }) => {
                received.push([error._tag, emitted])
                return fallbackStream(ids.slice(emitted))
              },
              { on: ["ConnectionError"], breaker: RequestsBreaker, id: "StreamItems" }
            ),
            Stream.runCollect
          )
          const first = yield* items
          assert.deepStrictEqual(first, [...ids.slice(0, k).map(primaryItem), ...ids.slice(k).map(fallbackItem)])
          assert.strictEqual((yield* breaker.stats("StreamItems")).failures, 1)
          yield* items
          const rejected = yield* items
          assert.deepStrictEqual(rejected, ids.map(fallbackItem))
          assert.strictEqual(primaryStarts, 2)
          assert.deepStrictEqual(received, [
            ["ConnectionError", k],
            ["ConnectionError", k],
            ["CircuitOpenError", 0]
          ])
        }).pipe(Effect.provide(breakerLayer()))
    )

    it.effect("the stream requires the breaker's service", () =>
      Effect.gen(function* () {
        const items = primaryStream(ids, 2).pipe(
          Fallback.stream(fallbackStream(ids), { on: ["ConnectionError"], breaker: RequestsBreaker, id: "StreamItems" })
        )
        expectTypeOf(items).toEqualTypeOf<
          Stream.Stream<StreamItemResult, TimeoutError | UserNotFound, RequestsBreaker>
        >()
        expect(yield* Stream.runCount(items).pipe(Effect.provide(Layer.fresh(breakerLayer())))).toBe(6)
      })
    )
  })

  it("a breaker without an id does not compile, and from untyped code it raises InvalidFallbackOptions", () => {
    expect(() =>
      // @ts-expect-error `id` names the circuit and is required with `breaker`
      Fallback.orElse(failing(timedOut), Effect.succeed(0), { breaker: RequestsBreaker })
    ).toThrow("Fallback.orElse: id must be the circuit id when a breaker is given, got undefined")
  })
})
