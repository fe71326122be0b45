import { assert, describe, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber, Metric } from "effect"
import { Bulkhead } from "effect-fallback"

class Boom extends Data.TaggedError("Boom")<{}> {}

class Inventory extends Bulkhead.Service<Inventory>()("test/Inventory") {}

/** Starts `call` through the bulkhead on its own fiber and lets it run up to its first suspension. */
const start = <A, E>(bulkhead: Bulkhead.Bulkhead, call: Effect.Effect<A, E>) =>
  bulkhead.protect(call).pipe(Effect.forkChild({ startImmediately: true }))

const counts = (bulkhead: Bulkhead.Bulkhead) =>
  Effect.map(bulkhead.stats, ({ inFlight, queued, rejected }) => ({ inFlight, queued, rejected }))

describe("Bulkhead", () => {
  describe("admission", () => {
    it.effect("runs up to maxConcurrent calls at once and fails the next one at once with BulkheadFull", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ name: "pay", maxConcurrent: 2 })
        const gate = yield* Deferred.make<void>()
        yield* start(bulkhead, Deferred.await(gate))
        yield* start(bulkhead, Deferred.await(gate))
        let ran = false
        const error = yield* Effect.flip(bulkhead.protect(Effect.sync(() => (ran = true))))
        assert.isFalse(ran)
        assert.strictEqual(error._tag, "BulkheadFull")
        assert.deepStrictEqual(
          { bulkhead: error.bulkhead, maxConcurrent: error.maxConcurrent, maxQueue: error.maxQueue },
          { bulkhead: "pay", maxConcurrent: 2, maxQueue: 0 }
        )
        assert.strictEqual(error.message, "bulkhead pay is full: 2 calls running and 0 waiting")
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 2, queued: 0, rejected: 1 })
        yield* Deferred.succeed(gate, undefined)
      })
    )

    it.effect("queues up to maxQueue calls first in first out, and rejects beyond them", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 2 })
        const order: Array<string> = []
        const gate = yield* Deferred.make<void>()
        const running = yield* start(bulkhead, Deferred.await(gate))
        const first = yield* start(
          bulkhead,
          Effect.sync(() => order.push("first"))
        )
        const second = yield* start(
          bulkhead,
          Effect.sync(() => order.push("second"))
        )
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 1, queued: 2, rejected: 0 })
        const rejected = yield* Effect.exit(bulkhead.protect(Effect.void))
        assert.isTrue(Exit.hasFails(rejected))
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(running)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        assert.deepStrictEqual(order, ["first", "second"])
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 0, queued: 0, rejected: 1 })
      })
    )

    it.effect("an interrupted waiter leaves the line and frees its place", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 1 })
        const gate = yield* Deferred.make<void>()
        yield* start(bulkhead, Deferred.await(gate))
        let waiterRan = false
        const waiter = yield* start(
          bulkhead,
          Effect.sync(() => (waiterRan = true))
        )
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 1, queued: 1, rejected: 0 })
        yield* Fiber.interrupt(waiter)
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 1, queued: 0, rejected: 0 })
        const next = yield* start(bulkhead, Effect.succeed("next"))
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(yield* Fiber.join(next), "next")
        assert.isFalse(waiterRan)
      })
    )
  })

  describe("slots come back", () => {
    const exits: ReadonlyArray<[string, Effect.Effect<unknown, Boom>]> = [
      ["a failure", Effect.fail(new Boom())],
      ["a defect", Effect.die("bug")],
      ["an interruption", Effect.interrupt]
    ]
    for (const [name, exit] of exits) {
      it.effect(`after ${name}`, () =>
        Effect.gen(function* () {
          const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
          yield* Effect.exit(bulkhead.protect(exit))
          yield* Effect.exit(bulkhead.protect(exit))
          assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 0, queued: 0, rejected: 0 })
          assert.strictEqual(yield* bulkhead.protect(Effect.succeed("ok")), "ok")
        })
      )
    }

    it.effect("after a running call is interrupted, the first waiter takes its slot", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1, maxQueue: 1 })
        const running = yield* start(bulkhead, Effect.never)
        const waiter = yield* start(bulkhead, Effect.succeed("waited"))
        yield* Fiber.interrupt(running)
        assert.strictEqual(yield* Fiber.join(waiter), "waited")
        assert.deepStrictEqual(yield* counts(bulkhead), { inFlight: 0, queued: 0, rejected: 0 })
      })
    )
  })

  describe("forms", () => {
    it.effect("Bulkhead.protect is data-first and data-last", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ maxConcurrent: 1 })
        assert.strictEqual(yield* Effect.succeed(1).pipe(Bulkhead.protect(bulkhead)), 1)
        assert.strictEqual(yield* Bulkhead.protect(Effect.succeed(2), bulkhead), 2)
      })
    )

    it.effect("a layer provides one bulkhead, named after its key, to every reader", () =>
      Effect.gen(function* () {
        const a = yield* Inventory
        const b = yield* Inventory
        assert.strictEqual(a, b)
        assert.strictEqual(a.name, "test/Inventory")
        assert.strictEqual(a.maxQueue, 3)
      }).pipe(Effect.provide(Bulkhead.layer(Inventory, { maxConcurrent: 2, maxQueue: 3 })))
    )
  })

  describe("metrics", () => {
    it.effect("in flight, queued and rejected are read from the bulkhead when collected", () =>
      Effect.gen(function* () {
        const bulkhead = yield* Bulkhead.make({ name: "metered", maxConcurrent: 1, maxQueue: 1 })
        const gate = yield* Deferred.make<void>()
        const running = yield* start(bulkhead, Deferred.await(gate))
        const waiting = yield* start(bulkhead, Deferred.await(gate))
        yield* Effect.exit(bulkhead.protect(Effect.void))
        const read = Effect.all({
          inFlight: Metric.value(Metric.withAttributes(Bulkhead.metrics.inFlight, { bulkhead: "metered" })),
          queued: Metric.value(Metric.withAttributes(Bulkhead.metrics.queued, { bulkhead: "metered" })),
          rejected: Metric.value(Metric.withAttributes(Bulkhead.metrics.rejected, { bulkhead: "metered" }))
        })
        const during = yield* read
        assert.deepStrictEqual(
          { inFlight: during.inFlight.value, queued: during.queued.value, rejected: during.rejected.count },
          { inFlight: 1, queued: 1, rejected: 1 }
        )
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(running)
        yield* Fiber.join(waiting)
        const after = yield* read
        assert.deepStrictEqual([after.inFlight.value, after.queued.value], [0, 0])
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })

  describe("configuration", () => {
    const bad: ReadonlyArray<[string, unknown, string]> = [
      ["maxConcurrent 0", { maxConcurrent: 0 }, "maxConcurrent must be an integer from 1 to 2147483647, got 0"],
      ["maxConcurrent NaN", { maxConcurrent: Number.NaN }, "maxConcurrent must be an integer from 1"],
      ["maxConcurrent as a string", { maxConcurrent: "4" }, "maxConcurrent must be an integer from 1"],
      ["maxConcurrent huge", { maxConcurrent: 2 ** 40 }, "maxConcurrent must be an integer from 1"],
      ["maxQueue negative", { maxConcurrent: 1, maxQueue: -1 }, "maxQueue must be an integer from 0 to 2147483647"],
      ["maxQueue fractional", { maxConcurrent: 1, maxQueue: 1.5 }, "maxQueue must be an integer from 0"],
      ["name empty", { name: "", maxConcurrent: 1 }, "name must be a non-empty string"],
      ["options missing", undefined, "options must be an object"]
    ]
    for (const [name, options, message] of bad) {
      it.effect(`${name} fails with BulkheadConfigError naming the field and range`, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(Bulkhead.make(options as Bulkhead.Options))
          assert.strictEqual(error._tag, "BulkheadConfigError")
          assert.include(error.message, message)
        })
      )
    }

    it.effect("a layer with bad options fails to build with BulkheadConfigError", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Effect.provide(Inventory.use(Effect.succeed), Bulkhead.layer(Inventory, { maxConcurrent: -2 }))
        )
        assert.strictEqual(error.field, "maxConcurrent")
        assert.strictEqual(error.bulkhead, "test/Inventory")
      })
    )
  })
})
