import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Fiber, Layer, Metric, Option, Queue, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { WorkflowEngine } from "effect/workflow"
import { CircuitBreaker, Saga } from "effect-fallback"
import { captureLogs, captureSpans } from "./support/capture.ts"

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly provider: string }> {}
class Declined extends Data.TaggedError("Declined")<{ readonly reason: string }> {}
class RefundFailed extends Data.TaggedError("RefundFailed")<{}> {}
class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("test/PaymentsBreaker") {}

const Order = Schema.Struct({
  id: Schema.String,
  trail: Schema.Array(Schema.String)
})
type Order = typeof Order.Type

/** What ran, in order: "act:Name" and "compensate:Name(trail seen by the compensation)". */
const journal = () => {
  const entries: Array<string> = []
  const act =
    (name: string, fail?: () => Effect.Effect<never, ConnectionError | Declined>) =>
    (order: Order): Effect.Effect<Order, ConnectionError | Declined> =>
      Effect.suspend(() => {
        entries.push(`act:${name}`)
        return fail === undefined ? Effect.succeed({ ...order, trail: [...order.trail, name] }) : fail()
      })
  const compensate = (name: string) => (order: Order) =>
    Effect.sync(() => {
      entries.push(`compensate:${name}(${order.trail.join(",")})`)
    })
  const step = (name: string, fail?: () => Effect.Effect<never, ConnectionError | Declined>) =>
    Saga.step(name, { act: act(name, fail), compensate: compensate(name) })
  return { entries, step }
}

const memory = <Name extends string, C, R>(saga: Saga.Saga<Name, C, R>) =>
  Saga.layer(saga).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))

const declined = () => Effect.fail(new Declined({ reason: "insufficient funds" }))
const unreachable = () => Effect.fail(new ConnectionError({ provider: "primary" }))

describe("Saga on the memory engine", () => {
  it.effect("runs every step in order and completes with the context returned by the last step", () => {
    const { entries, step } = journal()
    const saga = Saga.make("Complete", { context: Order, steps: [step("A"), step("B"), step("C")] })
    return Effect.gen(function* () {
      const result = yield* Saga.run(saga, { id: "o1", trail: [] }, { executionId: "o1" })
      expect(result).toEqual({
        _tag: "Completed",
        executionId: "o1",
        context: { id: "o1", trail: ["A", "B", "C"] },
        steps: ["A", "B", "C"]
      })
      expect(entries).toEqual(["act:A", "act:B", "act:C"])
    }).pipe(Effect.provide(memory(saga)))
  })

  for (const k of [0, 1, 2, 3]) {
    it.effect(`a failure at step ${k} of 4 compensates exactly the ${k} steps before it, last first, each once`, () => {
      const { entries, step } = journal()
      const names = ["A", "B", "C", "D"]
      const saga = Saga.make(`FailAt${k}`, {
        context: Order,
        steps: names.map((name, i) => step(name, i === k ? declined : undefined)) as unknown as readonly [
          Saga.Step<Order>
        ]
      })
      return Effect.gen(function* () {
        const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: `k${k}` })
        const before = names.slice(0, k)
        expect(result).toEqual({
          _tag: "SagaFailed",
          executionId: `k${k}`,
          step: names[k],
          error: { tag: "Declined", message: expect.any(String), defect: false },
          context: { id: "o", trail: before },
          steps: before,
          compensated: [...before].reverse()
        })
        // each compensation receives the context its own step returned
        const compensations = [...before].reverse().map((name) => {
          const upTo = names.slice(0, names.indexOf(name) + 1)
          return `compensate:${name}(${upTo.join(",")})`
        })
        expect(entries).toEqual([...names.slice(0, k + 1).map((name) => `act:${name}`), ...compensations])
      }).pipe(Effect.provide(memory(saga)))
    })
  }

  it.effect("a step without compensate is skipped when compensating; a defect fails the step", () => {
    const { entries, step } = journal()
    const saga = Saga.make("Defect", {
      context: Order,
      steps: [
        step("A"),
        Saga.step("ReadOnly", { act: (order: Order) => Effect.succeed(order) }),
        Saga.step("Throws", {
          act: (): Effect.Effect<Order> => {
            throw new Error("bug in act")
          }
        })
      ]
    })
    return Effect.gen(function* () {
      const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "d" })
      expect(result._tag).toBe("SagaFailed")
      if (result._tag !== "SagaFailed") return
      expect(result.step).toBe("Throws")
      expect(result.error).toEqual({ tag: "Error", message: "bug in act", defect: true })
      expect(result.compensated).toEqual(["ReadOnly", "A"])
      expect(entries).toEqual(["act:A", "compensate:A(A)"])
    }).pipe(Effect.provide(memory(saga)))
  })

  it.effect(
    "a context the schema cannot encode fails its step (the engine could not store it), not the saga run",
    () => {
      const { entries, step } = journal()
      const saga = Saga.make("BadContext", {
        context: Order,
        steps: [
          step("A"),
          Saga.step("Corrupts", {
            act: (order: Order) => Effect.succeed({ ...order, trail: [42] } as unknown as Order)
          })
        ]
      })
      return Effect.gen(function* () {
        const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "bad" })
        expect(result).toMatchObject({
          _tag: "SagaFailed",
          step: "Corrupts",
          error: { tag: "SchemaError", defect: false },
          compensated: ["A"]
        })
        expect(entries).toEqual(["act:A", "compensate:A(A)"])
      }).pipe(Effect.provide(memory(saga)))
    }
  )

  it.effect("runs the same execution id once: a second run returns the stored result, status reports it", () => {
    const { entries, step } = journal()
    const saga = Saga.make("Idempotent", { context: Order, steps: [step("A"), step("B")] })
    return Effect.gen(function* () {
      expect(yield* Saga.status(saga, "same")).toEqual(Option.none())
      const first = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "same" })
      const second = yield* Saga.run(saga, { id: "other", trail: [] }, { executionId: "same" })
      expect(second).toEqual(first)
      expect(entries).toEqual(["act:A", "act:B"])
      expect(yield* Saga.status(saga, "same")).toEqual(Option.some(first))
      expect(yield* Saga.engineExecutionId(saga, "same")).toMatch(/^[0-9a-f]{32}$/)
    }).pipe(Effect.provide(memory(saga)))
  })
})

describe("Saga step fallbacks", () => {
  it.effect(
    "a selected failure runs the fallback with the context the primary got; the fallback is compensated",
    () => {
      const { entries, step } = journal()
      const saga = Saga.make("FallbackCompensated", {
        context: Order,
        steps: [
          step("Reserve"),
          step("Charge", unreachable).pipe(Saga.withFallback(step("ChargeBackup"), { on: ["ConnectionError"] })),
          step("Ship", declined)
        ]
      })
      return Effect.gen(function* () {
        const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "f1" })
        expect(result).toMatchObject({
          _tag: "SagaFailed",
          step: "Ship",
          steps: ["Reserve", "ChargeBackup"],
          compensated: ["ChargeBackup", "Reserve"]
        })
        expect(entries).toEqual([
          "act:Reserve",
          "act:Charge",
          "act:ChargeBackup",
          "act:Ship",
          "compensate:ChargeBackup(Reserve,ChargeBackup)",
          "compensate:Reserve(Reserve)"
        ])
      }).pipe(Effect.provide(memory(saga)))
    }
  )

  it.effect("a failure outside `on` fails the step without running the fallback", () => {
    const { entries, step } = journal()
    const saga = Saga.make("FallbackNotSelected", {
      context: Order,
      steps: [
        step("Reserve"),
        step("Charge", declined).pipe(Saga.withFallback(step("ChargeBackup"), { on: ["ConnectionError"] }))
      ]
    })
    return Effect.gen(function* () {
      const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "f2" })
      expect(result).toMatchObject({ _tag: "SagaFailed", step: "Charge", error: { tag: "Declined" } })
      expect(entries).toEqual(["act:Reserve", "act:Charge", "compensate:Reserve(Reserve)"])
    }).pipe(Effect.provide(memory(saga)))
  })

  it.effect("`on` may be a predicate; a failing fallback fails the saga under the fallback's name", () => {
    const { entries, step } = journal()
    const saga = Saga.make("FallbackPredicate", {
      context: Order,
      steps: [
        step("Reserve"),
        Saga.withFallback(step("Charge", unreachable), step("ChargeBackup", declined), {
          on: (error) => error._tag === "ConnectionError"
        })
      ]
    })
    return Effect.gen(function* () {
      const result = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "f3" })
      expect(result).toMatchObject({ _tag: "SagaFailed", step: "ChargeBackup", error: { tag: "Declined" } })
      expect(entries).toEqual(["act:Reserve", "act:Charge", "act:ChargeBackup", "compensate:Reserve(Reserve)"])
    }).pipe(Effect.provide(memory(saga)))
  })

  it.effect("a fallback may have its own fallback; each runs with the context the first primary got", () => {
    const { entries, step } = journal()
    const saga = Saga.make("FallbackChain", {
      context: Order,
      steps: [
        step("Reserve"),
        Saga.withFallback(step("Charge", unreachable), Saga.withFallback(step("Backup", unreachable), step("Last")))
      ]
    })
    return Effect.gen(function* () {
      const result = yield* saga.pipe(Saga.run({ id: "o", trail: [] }, { executionId: "f4" }))
      expect(result).toMatchObject({
        _tag: "Completed",
        steps: ["Reserve", "Last"],
        context: { trail: ["Reserve", "Last"] }
      })
      expect(entries).toEqual(["act:Reserve", "act:Charge", "act:Backup", "act:Last"])
    }).pipe(Effect.provide(memory(saga)))
  })

  it.effect("an open circuit runs the fallback without the primary; the primary's failures are recorded", () => {
    const { entries, step } = journal()
    const saga = Saga.make("FallbackBreaker", {
      context: Order,
      steps: [
        step("Charge", unreachable).pipe(
          Saga.withFallback(step("ChargeBackup"), {
            on: ["ConnectionError"],
            breaker: PaymentsBreaker,
            id: "ChargePayment"
          })
        )
      ]
    })
    const breakerLayer = CircuitBreaker.layer(PaymentsBreaker, { failureThreshold: 2, resetTimeout: "1 minute" })
    return Effect.gen(function* () {
      const breaker = yield* PaymentsBreaker
      for (const id of ["b1", "b2"]) {
        const result = yield* Saga.run(saga, { id, trail: [] }, { executionId: id })
        expect(result).toMatchObject({ _tag: "Completed", steps: ["ChargeBackup"] })
      }
      expect(yield* breaker.state("ChargePayment")).toBe("Open")
      const rejected = yield* Saga.run(saga, { id: "b3", trail: [] }, { executionId: "b3" })
      expect(rejected).toMatchObject({ _tag: "Completed", steps: ["ChargeBackup"] })
      expect(entries).toEqual(["act:Charge", "act:ChargeBackup", "act:Charge", "act:ChargeBackup", "act:ChargeBackup"])
    }).pipe(Effect.provide(Layer.mergeAll(memory(saga).pipe(Layer.provideMerge(breakerLayer)))))
  })
})

describe("Saga compensation retry", () => {
  /** A refund that fails `failures` times, then succeeds; every attempt is offered to `attempts`. */
  const flaky = (failures: number, log: Array<string>, attempts: Queue.Queue<number>) => {
    let calls = 0
    return () =>
      Effect.suspend(() => {
        calls++
        log.push(`refund#${calls}`)
        Queue.offerUnsafe(attempts, calls)
        return calls <= failures ? Effect.fail(new RefundFailed()) : Effect.void
      })
  }
  const sagaWith = (failures: number, log: Array<string>, attempts: Queue.Queue<number>) =>
    Saga.make(`Retry${failures}`, {
      context: Order,
      steps: (step) => [
        step("Reserve", {
          act: (order) => Effect.succeed(order),
          compensate: () => Effect.sync(() => log.push("release"))
        }),
        step("Charge", { act: (order) => Effect.succeed(order), compensate: flaky(failures, log, attempts) }),
        step("Ship", { act: () => Effect.fail(new Declined({ reason: "no carrier" })) })
      ],
      compensationRetry: Schedule.exponential("1 second", 2).pipe(Schedule.upTo({ times: 2 }))
    })

  it.effect("retries a failing compensation on its schedule (1 s, then 2 s) and goes on compensating", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const attempts = yield* Queue.unbounded<number>()
      const saga = sagaWith(2, log, attempts)
      const result = yield* Effect.gen(function* () {
        const fiber = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "r1" }).pipe(Effect.forkChild)
        expect(yield* Queue.take(attempts)).toBe(1)
        yield* TestClock.adjust("999 millis")
        expect(yield* Queue.size(attempts)).toBe(0)
        yield* TestClock.adjust("1 millis")
        expect(yield* Queue.take(attempts)).toBe(2)
        yield* TestClock.adjust("1999 millis")
        expect(yield* Queue.size(attempts)).toBe(0)
        yield* TestClock.adjust("1 millis")
        expect(yield* Queue.take(attempts)).toBe(3)
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(memory(saga)))
      expect(log).toEqual(["refund#1", "refund#2", "refund#3", "release"])
      expect(result).toMatchObject({ _tag: "SagaFailed", compensated: ["Charge", "Reserve"] })
    })
  )

  it.effect(
    "a compensation still failing after its schedule ends the saga CompensationFailed, keeping both failures",
    () =>
      Effect.gen(function* () {
        const log: Array<string> = []
        const attempts = yield* Queue.unbounded<number>()
        const saga = sagaWith(10, log, attempts)
        const result = yield* Effect.gen(function* () {
          const fiber = yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "r2" }).pipe(Effect.forkChild)
          yield* Queue.take(attempts)
          yield* TestClock.adjust("3 seconds")
          return yield* Fiber.join(fiber)
        }).pipe(Effect.provide(memory(saga)))
        expect(result).toEqual({
          _tag: "CompensationFailed",
          executionId: "r2",
          step: "Ship",
          error: { tag: "Declined", message: '{"reason":"no carrier"}', defect: false },
          context: { id: "o", trail: [] },
          steps: ["Reserve", "Charge"],
          compensated: ["Reserve"],
          failedCompensations: [
            { step: "Charge", error: { tag: "RefundFailed", message: "", defect: false }, attempts: 3 }
          ]
        })
        expect(log).toEqual(["refund#1", "refund#2", "refund#3", "release"])
      })
  )
})

describe("Saga observability", () => {
  it.effect("opens a span per saga and per step, logs compensation, counts outcomes, failures, fallbacks", () => {
    const { step } = journal()
    const saga = Saga.make("Observed", {
      context: Order,
      steps: [
        step("Reserve"),
        step("Charge", unreachable).pipe(Saga.withFallback(step("ChargeBackup"))),
        step("Ship", declined)
      ]
    })
    const { logs, layer: logLayer } = captureLogs()
    const { spans, tracer } = captureSpans()
    const value = (metric: Metric.Counter<number>, attributes: Record<string, string>) =>
      Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (state) => state.count)
    return Effect.gen(function* () {
      yield* Saga.run(saga, { id: "o", trail: [] }, { executionId: "obs" })
      const names = spans.map((span) => span.name)
      expect(names).toEqual(
        expect.arrayContaining([
          "Saga.run",
          "Saga Observed",
          "Saga.step Reserve",
          "Saga.step Charge",
          "Saga.step ChargeBackup",
          "Saga.step Ship",
          "Saga.compensate ChargeBackup",
          "Saga.compensate Reserve"
        ])
      )
      expect(logs.map((log) => log.text)).toEqual(
        expect.arrayContaining([
          'Saga Observed: failed at step Ship (Declined: {"reason":"insufficient funds"}); compensating 2 step(s)',
          "Saga Observed: compensated ChargeBackup",
          "Saga Observed: compensated Reserve"
        ])
      )
      for (const prefix of ["Saga Observed: failed at step", "Saga Observed: step Ship failed"]) {
        const line = logs.find((log) => log.text.startsWith(prefix))
        expect(line?.annotations).toMatchObject({ saga: "Observed", "saga.execution_id": "obs" })
      }
      const stepSpan = spans.find((span) => span.name === "Saga.step Ship")
      expect(Object.fromEntries(stepSpan?.attributes ?? [])).toMatchObject({
        "saga.name": "Observed",
        "saga.step": "Ship",
        "saga.execution_id": "obs"
      })
      expect(yield* value(Saga.metrics.sagas, { saga: "Observed", outcome: "failed" })).toBe(1)
      expect(yield* value(Saga.metrics.stepFailures, { saga: "Observed", step: "Charge" })).toBe(1)
      expect(yield* value(Saga.metrics.stepFailures, { saga: "Observed", step: "Ship" })).toBe(1)
      expect(yield* value(Saga.metrics.fallbacks, { saga: "Observed", step: "Charge", fallback: "ChargeBackup" })).toBe(
        1
      )
      expect(
        yield* value(Saga.metrics.compensations, { saga: "Observed", step: "Reserve", outcome: "compensated" })
      ).toBe(1)
    }).pipe(
      Effect.provide(memory(saga)),
      Effect.provide(logLayer),
      Effect.withTracer(tracer),
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
  })
})

describe("Saga options", () => {
  it("rejects two steps with the same name, naming it", () => {
    const step = Saga.step("A", { act: (order: Order) => Effect.succeed(order) })
    expect(() => Saga.make("Dup", { context: Order, steps: [step, step] })).toThrow(
      'Saga.make: steps must be steps with distinct names, got "A"'
    )
  })

  it("rejects bad options from untyped code with InvalidSagaOptions", () => {
    const act = (n: number) => Effect.succeed(n)
    expect(() => Saga.step("", { act })).toThrow(Saga.InvalidSagaOptions)
    expect(() => Saga.step("A", { act: 1 as any })).toThrow("Saga.step: act must be a function, got 1")
    expect(() => Saga.make("S", { context: 1 as any, steps: [Saga.step("A", { act }) as any] })).toThrow(
      "Saga.make: context must be a Schema"
    )
    expect(() =>
      Saga.withFallback(Saga.step("A", { act }), Saga.step("B", { act }), { breaker: PaymentsBreaker } as any)
    ).toThrow("Saga.withFallback: id must be the circuit id when a breaker is given")
  })
})
