import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, Mediator } from "effect-fallback"
import { failures, withMediator } from "./support/mediator.ts"

class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}
class WelcomeSent extends Mediator.Event<WelcomeSent>()("WelcomeSent", { userId: Schema.String, via: Schema.String }) {}
class Unwatched extends Mediator.Event<Unwatched>()("Unwatched", {}) {}

class JoinUser extends Mediator.Request<JoinUser>()(
  "JoinUser",
  { userId: Schema.String },
  {
    response: Schema.String
  }
) {}

class MailerDown extends Data.TaggedError("MailerDown")<{}> {}
class Rejected extends Data.TaggedError("Rejected")<{}> {}

const joined = new UserJoined({ userId: "u1" })

/** The request whose handler raises UserJoined and answers "joined". */
const joinBinding = Mediator.bind(JoinUser, (req) =>
  Mediator.emit(new UserJoined({ userId: req.userId })).pipe(Effect.as(`joined ${req.userId}`))
)

describe("Mediator events", () => {
  describe("publish", () => {
    it.effect("delivers an event to every handler subscribed to its type, in subscription order", () => {
      const seen: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, (e) => Effect.sync(() => seen.push(`audit ${e.userId}`))),
            Mediator.subscribe(UserJoined, (e) => Effect.sync(() => seen.push(`welcome ${e.userId}`)))
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            assert.deepStrictEqual(seen, ["audit u1", "welcome u1"])
          })
      )
    })

    it.effect("an event nobody subscribed to is a no-op: no handler runs, nothing is logged or counted", () => {
      const seen: Array<string> = []
      return withMediator(
        { events: [Mediator.subscribe(UserJoined, () => Effect.sync(() => seen.push("joined")))] },
        (logs) =>
          Effect.gen(function* () {
            const exit = yield* Effect.exit(Mediator.publish(new Unwatched()))
            assert.isTrue(exit._tag === "Success")
            assert.deepStrictEqual(seen, [])
            assert.deepStrictEqual(logs, [])
            assert.strictEqual(yield* failures("Unwatched", "Unwatched#0"), 0)
          })
      )
    })

    it.effect("event maps group subscriptions from several modules", () => {
      const seen: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.eventMap(Mediator.subscribe(UserJoined, () => Effect.sync(() => seen.push("a")))),
            Mediator.eventMap(Mediator.subscribe(UserJoined, () => Effect.sync(() => seen.push("b"))))
          ]
        },
        () =>
          Effect.andThen(
            Mediator.publish(joined),
            Effect.sync(() => assert.deepStrictEqual(seen, ["a", "b"]))
          )
      )
    })
  })

  describe("isolation", () => {
    for (const eventConcurrency of ["sequential", "unbounded"] as const) {
      it.effect(`${eventConcurrency}: a failing handler neither stops the others nor fails publish`, () => {
        const seen: Array<string> = []
        return withMediator(
          {
            eventConcurrency,
            events: [
              Mediator.subscribe(UserJoined, () => Effect.sync(() => seen.push("first"))),
              Mediator.subscribe(UserJoined, () => Effect.fail(new MailerDown())),
              Mediator.subscribe(UserJoined, () => Effect.die("bug in handler")),
              Mediator.subscribe(UserJoined, () => Effect.sync(() => seen.push("last")))
            ]
          },
          (logs) =>
            Effect.gen(function* () {
              yield* Mediator.publish(joined)
              assert.deepStrictEqual(seen, ["first", "last"])
              assert.strictEqual(yield* failures("UserJoined", "UserJoined#1"), 1)
              assert.strictEqual(yield* failures("UserJoined", "UserJoined#2"), 1)
              assert.strictEqual(yield* failures("UserJoined", "UserJoined#0"), 0)
              const errors = logs.filter((log) => log.level === "Error")
              assert.strictEqual(errors.length, 2)
              const handlers = errors.map((log) => log.annotations["mediator.handler"])
              assert.sameMembers(handlers, ["UserJoined#1", "UserJoined#2"])
              assert.isTrue(errors.every((log) => log.annotations["mediator.event"] === "UserJoined"))
              assert.isTrue(errors.some((log) => Cause.hasFails(log.cause)))
              assert.isTrue(errors.some((log) => Cause.hasDies(log.cause)))
            })
        )
      })
    }

    it.effect("sequential: each handler starts after the previous one finished", () => {
      const timeline: Array<string> = []
      const slow = (name: string) => () =>
        Effect.sync(() => timeline.push(`${name} start`)).pipe(
          Effect.andThen(Effect.sleep("1 second")),
          Effect.andThen(Effect.sync(() => timeline.push(`${name} end`)))
        )
      return withMediator(
        {
          eventConcurrency: "sequential",
          events: [Mediator.subscribe(UserJoined, slow("a")), Mediator.subscribe(UserJoined, slow("b"))]
        },
        () =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Mediator.publish(joined))
            yield* TestClock.adjust("1 second")
            yield* TestClock.adjust("1 second")
            yield* Fiber.join(fiber)
            assert.deepStrictEqual(timeline, ["a start", "a end", "b start", "b end"])
          })
      )
    })

    it.effect("unbounded: every handler starts at once", () => {
      const timeline: Array<string> = []
      const slow = (name: string) => () =>
        Effect.sync(() => timeline.push(`${name} start`)).pipe(
          Effect.andThen(Effect.sleep("1 second")),
          Effect.andThen(Effect.sync(() => timeline.push(`${name} end`)))
        )
      return withMediator(
        {
          eventConcurrency: "unbounded",
          events: [Mediator.subscribe(UserJoined, slow("a")), Mediator.subscribe(UserJoined, slow("b"))]
        },
        () =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Mediator.publish(joined))
            yield* TestClock.adjust("1 second")
            yield* Fiber.join(fiber)
            assert.deepStrictEqual(timeline.slice(0, 2).sort(), ["a start", "b start"])
            assert.deepStrictEqual(timeline.slice(2).sort(), ["a end", "b end"])
          })
      )
    })

    it.effect("a number bounds how many handlers run at once", () => {
      let running = 0
      let peak = 0
      const tracked = () =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            running++
            peak = Math.max(peak, running)
          }),
          () => Effect.sleep("1 second"),
          () => Effect.sync(() => running--)
        )
      return withMediator(
        {
          eventConcurrency: 2,
          events: [1, 2, 3, 4, 5].map((i) => Mediator.subscribe(UserJoined, tracked, { id: `h${i}` }))
        },
        () =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Mediator.publish(joined))
            for (let i = 0; i < 3; i++) yield* TestClock.adjust("1 second")
            yield* Fiber.join(fiber)
            assert.strictEqual(peak, 2)
          })
      )
    })

    it.effect("interrupting publish interrupts the handlers and counts no failure", () => {
      return withMediator(
        {
          events: [Mediator.subscribe(UserJoined, () => Effect.never)]
        },
        (logs) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(Mediator.publish(joined), { startImmediately: true })
            yield* Fiber.interrupt(fiber)
            assert.strictEqual(yield* failures("UserJoined", "UserJoined#0"), 0)
            assert.strictEqual(logs.filter((log) => log.level === "Error").length, 0)
          })
      )
    })
  })

  describe("events raised by a request", () => {
    it.effect("a failing event handler never fails a send whose handler succeeded: logged and counted", () =>
      withMediator(
        {
          requests: [joinBinding],
          events: [Mediator.subscribe(UserJoined, () => Effect.fail(new MailerDown()), { id: "mailer" })]
        },
        (logs) =>
          Effect.gen(function* () {
            assert.strictEqual(yield* Mediator.send(new JoinUser({ userId: "u1" })), "joined u1")
            assert.strictEqual(yield* failures("UserJoined", "mailer"), 1)
            const [log] = logs.filter((l) => l.level === "Error")
            assert.strictEqual(log.text, "Event handler mailer failed on UserJoined; the other handlers still run")
          })
      )
    )

    it.effect("a primary whose follow-up event handling failed is not re-run through its fallback", () => {
      const ran: Array<string> = []
      return withMediator(
        {
          requests: [
            Mediator.bind(JoinUser, {
              primary: (req) =>
                Effect.sync(() => ran.push("primary")).pipe(
                  Effect.andThen(Mediator.emit(new UserJoined({ userId: req.userId }))),
                  Effect.as("joined by primary")
                ),
              fallback: () => Effect.sync(() => ran.push("fallback")).pipe(Effect.as("joined by fallback"))
            })
          ],
          events: [Mediator.subscribe(UserJoined, () => Effect.fail(new MailerDown()))]
        },
        () =>
          Effect.gen(function* () {
            assert.strictEqual(yield* Mediator.send(new JoinUser({ userId: "u1" })), "joined by primary")
            assert.deepStrictEqual(ran, ["primary"])
            assert.strictEqual(yield* failures("UserJoined", "UserJoined#0"), 1)
          })
      )
    })
  })

  describe("events raised by event handlers", () => {
    it.effect("are published after the handler that raised them succeeded", () => {
      const seen: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, (e) =>
              Mediator.emit(new WelcomeSent({ userId: e.userId, via: "mail" })).pipe(
                Effect.andThen(Effect.sync(() => seen.push("welcome handler done")))
              )
            ),
            Mediator.subscribe(WelcomeSent, (e) => Effect.sync(() => seen.push(`welcome sent via ${e.via}`)))
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            assert.deepStrictEqual(seen, ["welcome handler done", "welcome sent via mail"])
          })
      )
    })

    it.effect("a handler that raised events and then failed publishes none of them", () => {
      const seen: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, (e) =>
              Mediator.emit(new WelcomeSent({ userId: e.userId, via: "mail" })).pipe(
                Effect.andThen(Effect.fail(new MailerDown()))
              )
            ),
            Mediator.subscribe(WelcomeSent, (e) => Effect.sync(() => seen.push(e.via)))
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            assert.deepStrictEqual(seen, [])
          })
      )
    })
  })

  describe("event handler fallbacks", () => {
    const sendWelcome = (via: string, fails: boolean) => (e: UserJoined) =>
      Mediator.emit(new WelcomeSent({ userId: e.userId, via })).pipe(
        Effect.andThen(fails ? Effect.fail(new MailerDown()) : Effect.void)
      )

    it.effect("a matching failure of the primary runs the fallback; only the fallback's events are published", () => {
      const sent: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, {
              primary: sendWelcome("mail", true),
              fallback: (e, trigger) =>
                Effect.sync(() => sent.push(`trigger ${trigger._tag}`)).pipe(
                  Effect.andThen(sendWelcome("sms", false)(e))
                ),
              on: ["MailerDown"]
            }),
            Mediator.subscribe(WelcomeSent, (e) => Effect.sync(() => sent.push(`sent via ${e.via}`)))
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            assert.deepStrictEqual(sent, ["trigger MailerDown", "sent via sms"])
            assert.strictEqual(yield* failures("UserJoined", "UserJoined#0"), 0)
          })
      )
    })

    it.effect("a failure outside `on`, or a failing fallback, is logged and counted like any handler failure", () =>
      withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, {
              primary: (): Effect.Effect<void, MailerDown | Rejected> => Effect.fail(new Rejected()),
              fallback: () => Effect.void,
              on: ["MailerDown"],
              id: "outside-on"
            }),
            Mediator.subscribe(UserJoined, {
              primary: () => Effect.fail(new MailerDown()),
              fallback: () => Effect.fail(new Rejected()),
              id: "failing-fallback"
            })
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            assert.strictEqual(yield* failures("UserJoined", "outside-on"), 1)
            assert.strictEqual(yield* failures("UserJoined", "failing-fallback"), 1)
          })
      )
    )

    it.effect("a predicate selects the failures that fall back", () => {
      const seen: Array<string> = []
      return withMediator(
        {
          events: [
            Mediator.subscribe(UserJoined, {
              primary: (e): Effect.Effect<void, MailerDown | Rejected> =>
                e.userId === "u1" ? Effect.fail(new MailerDown()) : Effect.fail(new Rejected()),
              fallback: (e) => Effect.sync(() => seen.push(e.userId)),
              on: (error) => error._tag === "MailerDown"
            })
          ]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(new UserJoined({ userId: "u1" }))
            yield* Mediator.publish(new UserJoined({ userId: "u2" }))
            assert.deepStrictEqual(seen, ["u1"])
            assert.strictEqual(yield* failures("UserJoined", "UserJoined#0"), 1)
          })
      )
    })

    it.effect("each handler of one event has its own circuit, named by its id", () => {
      class EventsBreaker extends CircuitBreaker.Service<EventsBreaker>()("test/EventsBreaker") {}
      const calls = { mailer: 0, crm: 0 }
      const layer = Mediator.layer({
        events: [
          Mediator.subscribe(UserJoined, {
            primary: () => Effect.suspend(() => (calls.mailer++, Effect.fail(new MailerDown()))),
            fallback: () => Effect.void,
            breaker: EventsBreaker
          }),
          Mediator.subscribe(UserJoined, {
            primary: () => Effect.sync(() => calls.crm++),
            fallback: () => Effect.void,
            breaker: EventsBreaker,
            id: "crm"
          })
        ]
      }).pipe(Layer.provideMerge(CircuitBreaker.layer(EventsBreaker, { failureThreshold: 2 })))
      return Effect.gen(function* () {
        for (let i = 0; i < 4; i++) yield* Mediator.publish(joined)
        const breaker = yield* EventsBreaker
        assert.strictEqual(yield* breaker.state("UserJoined#0"), "Open")
        assert.strictEqual(yield* breaker.state("crm"), "Closed")
        assert.deepStrictEqual(calls, { mailer: 2, crm: 4 })
      }).pipe(Effect.provide(layer))
    })
  })

  describe("subscriptions", () => {
    const build = (layer: Layer.Layer<Mediator.Mediator, Mediator.DuplicateBinding | Mediator.InvalidBinding>) =>
      Effect.flip(Layer.build(layer))
    const audit = (e: UserJoined) => Effect.log(e.userId)

    it.effect("the same handler subscribed twice to one event fails with DuplicateBinding", () =>
      Effect.gen(function* () {
        const error = yield* build(
          Mediator.layer({
            events: [Mediator.subscribe(UserJoined, audit), Mediator.subscribe(UserJoined, audit)]
          })
        )
        assert.strictEqual(error._tag, "DuplicateBinding")
        if (error._tag === "DuplicateBinding") {
          assert.deepStrictEqual(
            { kind: error.kind, tag: error.tag, id: error.id },
            {
              kind: "Event",
              tag: "UserJoined",
              id: "UserJoined#1"
            }
          )
        }
      })
    )

    it.effect("two handlers given one id fail with DuplicateBinding naming the id", () =>
      Effect.gen(function* () {
        const error = yield* build(
          Mediator.layer({
            events: [
              Mediator.subscribe(UserJoined, () => Effect.void, { id: "mailer" }),
              Mediator.subscribe(UserJoined, () => Effect.void, { id: "mailer" })
            ]
          })
        )
        assert.strictEqual(error._tag, "DuplicateBinding")
        assert.include(error.message, `the event UserJoined has two handlers with the id "mailer"`)
      })
    )

    it.effect("the same handler may serve two event types", () => {
      const seen: Array<string> = []
      const record = (event: { readonly _tag: string }) => Effect.sync(() => seen.push(event._tag))
      return withMediator(
        {
          events: [Mediator.subscribe(UserJoined, record), Mediator.subscribe(WelcomeSent, record)]
        },
        () =>
          Effect.gen(function* () {
            yield* Mediator.publish(joined)
            yield* Mediator.publish(new WelcomeSent({ userId: "u1", via: "mail" }))
            assert.deepStrictEqual(seen, ["UserJoined", "WelcomeSent"])
          })
      )
    })
  })
})
