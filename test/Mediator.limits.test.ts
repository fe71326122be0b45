// The mediator's limits against handlers that misbehave and payloads from the outside: nesting depth, event
// handlers that never end, callbacks that throw, and messages built from untrusted input.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Mediator } from "effect-fallback"
import { failures, withMediator } from "./support/mediator.ts"

class Ping extends Mediator.Request<Ping>()("Ping", { n: Schema.Number }, { response: Schema.Number }) {}
class Pong extends Mediator.Request<Pong>()("Pong", { n: Schema.Number }, { response: Schema.Number }) {}
class Ticked extends Mediator.Event<Ticked>()("Ticked", { n: Schema.Number }) {}
class Join extends Mediator.Request<Join>()("Join", { userId: Schema.String }, { response: Schema.String }) {}
class Joined extends Mediator.Event<Joined>()("Joined", { userId: Schema.String }) {}
class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class Risky extends Mediator.Request<Risky>()(
  "Risky",
  { n: Schema.Number },
  { response: Schema.Number, error: Boom }
) {}

const defectOf = <A, E>(exit: Exit.Exit<A, E>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const found = Cause.findDefect(exit.cause)
  return found._tag === "Success" ? found.success : undefined
}

describe("Mediator limits", () => {
  describe("dispatch depth", () => {
    it.effect("a handler that sends its own request dies at maxDepth with the chain of messages", () =>
      withMediator(
        {
          requests: [Mediator.bind(Ping, (ping) => Effect.orDie(Mediator.send(new Ping({ n: ping.n + 1 }))))],
          maxDepth: 8
        },
        () =>
          Effect.gen(function* () {
            const defect = defectOf(yield* Effect.exit(Mediator.send(new Ping({ n: 0 }))))
            assert.instanceOf(defect, Mediator.DispatchDepthExceeded)
            const error = defect as Mediator.DispatchDepthExceeded
            assert.strictEqual(error.maxDepth, 8)
            assert.deepStrictEqual(
              error.chain,
              Array.from({ length: 9 }, () => "Ping")
            )
            assert.include(error.message, "deeper than 8 levels")
            assert.include(error.message, "Ping -> Ping")
          })
      )
    )

    it.effect("mutual recursion is named in order, and the default depth is 64", () =>
      withMediator(
        {
          requests: [
            Mediator.bind(Ping, (ping) => Effect.orDie(Mediator.send(new Pong({ n: ping.n + 1 })))),
            Mediator.bind(Pong, (pong) => Effect.orDie(Mediator.send(new Ping({ n: pong.n + 1 }))))
          ]
        },
        () =>
          Effect.gen(function* () {
            const error = defectOf(
              yield* Effect.exit(Mediator.send(new Ping({ n: 0 })))
            ) as Mediator.DispatchDepthExceeded
            assert.strictEqual(error.maxDepth, 64)
            assert.strictEqual(error.chain.length, 65)
            assert.deepStrictEqual(error.chain.slice(0, 3), ["Ping", "Pong", "Ping"])
            assert.include(error.message, "Ping -> Pong -> Ping -> Pong -> … (53 more) -> ")
          })
      )
    )

    it.effect("an event handler that emits its own event stops at maxDepth, logged and counted", () => {
      let runs = 0
      return withMediator(
        {
          events: [
            Mediator.subscribe(
              Ticked,
              (tick) =>
                Effect.andThen(
                  Effect.sync(() => runs++),
                  Mediator.emit(new Ticked({ n: tick.n + 1 }))
                ),
              { id: "ticker" }
            )
          ],
          maxDepth: 5
        },
        (logs) =>
          Effect.gen(function* () {
            yield* Mediator.publish(new Ticked({ n: 0 }))
            assert.strictEqual(runs, 5)
            assert.strictEqual(yield* failures("Ticked", "ticker"), 1)
            const errors = logs.filter((log) => log.level === "Error")
            assert.lengthOf(errors, 1)
            assert.include(Cause.pretty(errors[0].cause), "DispatchDepthExceeded")
          })
      )
    })

    it.effect("a dispatch nested within the limit answers", () =>
      withMediator(
        {
          requests: [
            Mediator.bind(Ping, (ping) =>
              ping.n === 3 ? Effect.succeed(ping.n) : Effect.orDie(Mediator.send(new Ping({ n: ping.n + 1 })))
            )
          ],
          maxDepth: 4
        },
        () =>
          Effect.gen(function* () {
            assert.strictEqual(yield* Mediator.send(new Ping({ n: 0 })), 3)
          })
      )
    )

    it.effect("maxDepth must be an integer from 1 to 10,000", () =>
      Effect.gen(function* () {
        for (const maxDepth of [0, 1.5, NaN, 10_001, "64"]) {
          const error = yield* Effect.scoped(Effect.flip(Layer.build(Mediator.layer({ maxDepth: maxDepth as number }))))
          assert.strictEqual(error._tag, "InvalidBinding")
          assert.strictEqual((error as Mediator.InvalidBinding).field, "maxDepth")
        }
      })
    )
  })

  describe("event handlers that never end", () => {
    const joinBinding = Mediator.bind(Join, (join) =>
      Effect.as(Mediator.emit(new Joined({ userId: join.userId })), `joined ${join.userId}`)
    )
    const stuck = Mediator.subscribe(Joined, () => Effect.never, { id: "stuck" })

    it.effect("a stuck handler is interrupted after eventHandlerTimeout, and the response arrives", () =>
      withMediator({ requests: [joinBinding], events: [stuck], eventHandlerTimeout: "5 seconds" }, (logs) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Mediator.send(new Join({ userId: "u1" })))
          yield* TestClock.adjust("4 seconds")
          assert.isUndefined(fiber.pollUnsafe())
          yield* TestClock.adjust("1 second")
          assert.strictEqual(yield* Fiber.join(fiber), "joined u1")
          assert.strictEqual(yield* failures("Joined", "stuck"), 1)
          const errors = logs.filter((log) => log.level === "Error")
          assert.lengthOf(errors, 1)
          assert.include(Cause.pretty(errors[0].cause), "EventHandlerTimeout")
        })
      )
    )

    it.effect("by default a stuck handler holds the response for 30 seconds at most", () =>
      withMediator({ requests: [joinBinding], events: [stuck] }, () =>
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(Mediator.send(new Join({ userId: "u1" })))
          yield* TestClock.adjust("30 seconds")
          assert.strictEqual(yield* Fiber.join(fiber), "joined u1")
        })
      )
    )

    it.effect("detached delivery answers at once; the handlers run in the mediator's scope", () => {
      const seen: Array<string> = []
      const slow = Mediator.subscribe(Joined, (joined) =>
        Effect.andThen(
          Effect.sleep("1 second"),
          Effect.sync(() => seen.push(joined.userId))
        )
      )
      return withMediator({ requests: [joinBinding], events: [slow], eventDelivery: "detached" }, () =>
        Effect.gen(function* () {
          assert.strictEqual(yield* Mediator.send(new Join({ userId: "u1" })), "joined u1")
          assert.deepStrictEqual(seen, [])
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(seen, ["u1"])
        })
      )
    })

    it.effect("detached deliveries still running end when the mediator's layer is released", () => {
      let interrupted = 0
      const forever = Mediator.subscribe(Joined, () =>
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted++))
      )
      return Effect.gen(function* () {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              Mediator.layer({ requests: [joinBinding], events: [forever], eventDelivery: "detached" })
            )
            yield* Effect.provideContext(Mediator.send(new Join({ userId: "u1" })), context)
            yield* Effect.yieldNow
          })
        )
        assert.strictEqual(interrupted, 1)
      })
    })

    it.effect("eventHandlerTimeout and eventDelivery are checked when the layer builds", () =>
      Effect.gen(function* () {
        const fieldOf = (options: Parameters<typeof Mediator.layer>[0]) =>
          Effect.map(
            Effect.scoped(
              Effect.flip(
                Layer.build(
                  Mediator.layer(options) as Layer.Layer<
                    Mediator.Mediator,
                    Mediator.InvalidBinding | Mediator.DuplicateBinding
                  >
                )
              )
            ),
            (e) => (e as Mediator.InvalidBinding).field
          )
        assert.strictEqual(yield* fieldOf({ eventHandlerTimeout: NaN }), "eventHandlerTimeout")
        assert.strictEqual(yield* fieldOf({ eventHandlerTimeout: 0 }), "eventHandlerTimeout")
        assert.strictEqual(yield* fieldOf({ eventHandlerTimeout: {} as any }), "eventHandlerTimeout")
        assert.strictEqual(yield* fieldOf({ eventDelivery: "later" as any }), "eventDelivery")
        yield* Effect.scoped(Layer.build(Mediator.layer({ eventHandlerTimeout: "Infinity" })))
      })
    )
  })

  describe("callbacks that throw", () => {
    it.effect("a throwing `on` predicate dies with the throw, and the mediator keeps answering", () =>
      withMediator(
        {
          requests: [
            Mediator.bind(Risky, {
              primary: (ping): Effect.Effect<number, Boom> =>
                ping.n < 0 ? Effect.fail(new Boom()) : Effect.succeed(ping.n),
              fallback: () => Effect.succeed(0),
              on: (): boolean => {
                throw new Error("on threw")
              }
            })
          ]
        },
        () =>
          Effect.gen(function* () {
            const defect = defectOf(yield* Effect.exit(Mediator.send(new Risky({ n: -1 }))))
            assert.strictEqual((defect as Error).message, "on threw")
            assert.strictEqual(yield* Mediator.send(new Risky({ n: 2 })), 2)
          })
      )
    )

    it.effect(
      "a handler that throws instead of returning an Effect dies, and an event handler's throw is isolated",
      () =>
        withMediator(
          {
            requests: [
              Mediator.bind(Ping, (): Effect.Effect<number> => {
                throw new Error("handler threw")
              }),
              Mediator.bind(Join, (join) => Effect.as(Mediator.emit(new Joined({ userId: join.userId })), "ok"))
            ],
            events: [
              Mediator.subscribe(
                Joined,
                (): Effect.Effect<void> => {
                  throw new Error("event handler threw")
                },
                { id: "thrower" }
              )
            ]
          },
          () =>
            Effect.gen(function* () {
              const defect = defectOf(yield* Effect.exit(Mediator.send(new Ping({ n: 1 }))))
              assert.strictEqual((defect as Error).message, "handler threw")
              assert.strictEqual(yield* Mediator.send(new Join({ userId: "u1" })), "ok")
              assert.strictEqual(yield* failures("Joined", "thrower"), 1)
            })
        )
    )
  })

  describe("messages built from outside input", () => {
    it.effect("MessageDecodeError repeats a bounded part of a huge tag, marked with an ellipsis", () =>
      withMediator({ requests: [Mediator.bind(Ping, (ping) => Effect.succeed(ping.n))] }, () =>
        Effect.gen(function* () {
          const tag = "X".repeat(10_000_000)
          const error = (yield* Effect.flip(Mediator.sendUnknown({ _tag: tag }))) as Mediator.MessageDecodeError
          assert.isTrue(Mediator.isMessageDecodeError(error))
          assert.isBelow(error.tag!.length, 1_000)
          assert.isBelow(error.message.length, 5_000)
          assert.include(error.message, "…")
        })
      )
    )

    it.effect("HandlerNotFound and InvalidBinding messages are bounded too", () =>
      Effect.gen(function* () {
        const huge = "Y".repeat(1_000_000)
        const notFound = new Mediator.HandlerNotFound({ kind: "Request", tag: huge })
        assert.isBelow(notFound.message.length, 1_000)
        const invalid = new Mediator.InvalidBinding({
          tag: huge,
          field: "handler",
          expected: "a function",
          value: huge
        })
        assert.isBelow(invalid.message.length, 2_000)
      })
    )
  })
})
