import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Data, Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"

// ---- messages

class UserProfile extends Schema.Class<UserProfile>("UserProfile")({
  userId: Schema.String,
  name: Schema.String,
  source: Schema.String
}) {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{}> {}
class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { userId: Schema.String }) {}

class GetUserProfile extends Mediator.Request<GetUserProfile>()(
  "GetUserProfile",
  { userId: Schema.String },
  {
    response: UserProfile,
    error: UserNotFound
  }
) {}
class CountUsers extends Mediator.Request<CountUsers>()("CountUsers", {}, { response: Schema.Number }) {}
class Unbound extends Mediator.Request<Unbound>()("Unbound", {}, { response: Schema.String }) {}

class ProfileViewed extends Mediator.Event<ProfileViewed>()("ProfileViewed", {
  userId: Schema.String,
  by: Schema.String
}) {}

const profile = (userId: string, source: string) => new UserProfile({ userId, name: "Ada", source })
const request = new GetUserProfile({ userId: "u1" })

/** Every ProfileViewed published, by who raised it: the tests read which attempt's events survived. */
const viewedBy = () => {
  const seen: Array<string> = []
  const binding = Mediator.subscribe(ProfileViewed, (event) => Effect.sync(() => seen.push(event.by)))
  return { seen, binding }
}

const runs = () => {
  const counter = { primary: 0, fallback: 0 }
  return counter
}

describe("Mediator", () => {
  describe("messages are Schema classes", () => {
    it("a request class names its response and error schemas, and carries its tag", () => {
      assert.strictEqual(GetUserProfile.response, UserProfile)
      assert.strictEqual(GetUserProfile.error, UserNotFound)
      assert.strictEqual(CountUsers.error, Schema.Never)
      assert.strictEqual(request._tag, "GetUserProfile")
      assert.strictEqual(request.userId, "u1")
    })

    it("the constructor validates the fields", () => {
      assert.throws(() => new GetUserProfile({ userId: 42 as unknown as string }), /Schema validation failed/)
    })

    it.effect("a request class decodes a JSON payload into an instance", () =>
      Effect.gen(function* () {
        const decoded = yield* Schema.decodeUnknownEffect(GetUserProfile)({ _tag: "GetUserProfile", userId: "u9" })
        assert.instanceOf(decoded, GetUserProfile)
        assert.strictEqual(decoded.userId, "u9")
      })
    )
  })

  describe("send", () => {
    it.effect("answers with the bound handler's response", () =>
      Effect.gen(function* () {
        const answer = yield* Mediator.send(request)
        assert.deepStrictEqual(answer, profile("u1", "db"))
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [Mediator.bind(GetUserProfile, (req) => Effect.succeed(profile(req.userId, "db")))]
          })
        )
      )
    )

    it.effect("a failure declared by the request reaches the caller typed", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.send(request))
        assert.instanceOf(error, UserNotFound)
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [Mediator.bind(GetUserProfile, (req) => Effect.fail(new UserNotFound({ userId: req.userId })))]
          })
        )
      )
    )

    it.effect("an unbound request type fails with HandlerNotFound naming its tag", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.send(new Unbound()))
        assert.instanceOf(error, Mediator.HandlerNotFound)
        assert.strictEqual(error._tag, "HandlerNotFound")
        if (error._tag === "HandlerNotFound") {
          assert.strictEqual(error.tag, "Unbound")
          assert.strictEqual(error.message, "no handler is bound to the request Unbound")
        }
      }).pipe(Effect.provide(Mediator.layer({ requests: [] })))
    )

    it.effect("the service's own send answers like the accessor", () =>
      Effect.gen(function* () {
        const mediator = yield* Mediator.Mediator
        assert.strictEqual(yield* mediator.send(new CountUsers()), 3)
      }).pipe(Effect.provide(Mediator.layer({ requests: [Mediator.bind(CountUsers, () => Effect.succeed(3))] })))
    )

    it.effect("handlers take their services from the layer's requirements", () => {
      class Directory extends Context.Service<Directory, { readonly count: number }>()("test/Directory") {}
      const layer = Mediator.layer({
        requests: [Mediator.bind(CountUsers, () => Effect.map(Directory, (d) => d.count))]
      }).pipe(Layer.provide(Layer.succeed(Directory, { count: 7 })))
      return Effect.gen(function* () {
        assert.strictEqual(yield* Mediator.send(new CountUsers()), 7)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a handler can send another request through the same mediator", () =>
      Effect.gen(function* () {
        const answer = yield* Mediator.send(request)
        assert.strictEqual(answer.name, "3 users")
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, () => Effect.succeed(3)),
              Mediator.bind(GetUserProfile, (req) =>
                Effect.map(
                  Mediator.send(new CountUsers()).pipe(Effect.orDie),
                  (count) => new UserProfile({ userId: req.userId, name: `${count} users`, source: "db" })
                )
              )
            ]
          })
        )
      )
    )

    it.effect("the caller's context reaches the handler (log annotations, references)", () => {
      const Tenant = Context.Reference<string>("test/Tenant", { defaultValue: () => "none" })
      return Effect.gen(function* () {
        const answer = yield* Mediator.send(request).pipe(Effect.provideService(Tenant, "acme"))
        assert.strictEqual(answer.source, "acme")
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [Mediator.bind(GetUserProfile, (req) => Effect.map(Tenant, (t) => profile(req.userId, t)))]
          })
        )
      )
    })

    it.effect("a handler that throws instead of returning an Effect fails the send with a defect", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Mediator.send(new CountUsers()))
        assert.isTrue(Exit.hasDies(exit))
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, () => {
                throw new Error("bug")
              })
            ]
          })
        )
      )
    )
  })

  describe("payloads from the outside", () => {
    const handled = { count: 0 }
    const layer = Mediator.layer({
      requests: [
        Mediator.bind(GetUserProfile, (req) => Effect.sync(() => (handled.count++, profile(req.userId, "db")))),
        Mediator.bind(CountUsers, () => Effect.sync(() => (handled.count++, 3)))
      ],
      events: [Mediator.subscribe(ProfileViewed, () => Effect.sync(() => handled.count++))]
    })

    it.effect("sendUnknown decodes a valid payload and sends it", () =>
      Effect.gen(function* () {
        const answer = yield* Mediator.sendUnknown({ _tag: "GetUserProfile", userId: "u7" })
        assert.deepStrictEqual(answer, profile("u7", "db"))
      }).pipe(Effect.provide(layer))
    )

    it.effect("a wrong field fails with MessageDecodeError naming the request and the path, before any handler", () =>
      Effect.gen(function* () {
        const before = handled.count
        const error = yield* Effect.flip(Mediator.sendUnknown({ _tag: "GetUserProfile", userId: 42 }))
        assert.isTrue(Mediator.isMessageDecodeError(error))
        const decodeError = error as Mediator.MessageDecodeError
        assert.strictEqual(decodeError.tag, "GetUserProfile")
        assert.strictEqual(decodeError.kind, "Request")
        assert.strictEqual(decodeError.cause._tag, "SchemaError")
        assert.strictEqual(
          decodeError.message,
          'cannot decode request GetUserProfile: Expected string\n  at ["userId"]'
        )
        assert.strictEqual(handled.count, before)
      }).pipe(Effect.provide(layer))
    )

    it.effect("a missing field is named", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.sendUnknown({ _tag: "GetUserProfile" }))
        assert.isTrue(Mediator.isMessageDecodeError(error))
        const message = (error as Mediator.MessageDecodeError).message
        assert.strictEqual(message, 'cannot decode request GetUserProfile: Missing key\n  at ["userId"]')
      }).pipe(Effect.provide(layer))
    )

    it.effect("an unknown tag, or no tag at all, fails against the union of the bound requests", () =>
      Effect.gen(function* () {
        const unknown = yield* Effect.flip(Mediator.sendUnknown({ _tag: "DeleteUser" })).pipe(
          Effect.map((error) => error as Mediator.MessageDecodeError)
        )
        assert.strictEqual(unknown.tag, "DeleteUser")
        assert.include(unknown.message, "cannot decode request DeleteUser: Expected")
        assert.include(unknown.message, "GetUserProfile")
        assert.include(unknown.message, "CountUsers")
        const untagged = (yield* Effect.flip(Mediator.sendUnknown("hello"))) as Mediator.MessageDecodeError
        assert.strictEqual(untagged.tag, undefined)
        assert.include(untagged.message, "cannot decode request: Expected")
      }).pipe(Effect.provide(layer))
    )

    it.effect("an event payload is not a request", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.sendUnknown({ _tag: "ProfileViewed", userId: "u", by: "x" }))
        assert.isTrue(Mediator.isMessageDecodeError(error))
      }).pipe(Effect.provide(layer))
    )

    it.effect("publishUnknown decodes and publishes an event, and fails typed on a bad one", () =>
      Effect.gen(function* () {
        const before = handled.count
        yield* Mediator.publishUnknown({ _tag: "ProfileViewed", userId: "u1", by: "queue" })
        assert.strictEqual(handled.count, before + 1)
        const error = yield* Effect.flip(Mediator.publishUnknown({ _tag: "ProfileViewed", userId: "u1" }))
        assert.strictEqual(error._tag, "MessageDecodeError")
        assert.strictEqual(error.message, 'cannot decode event ProfileViewed: Missing key\n  at ["by"]')
        assert.strictEqual(handled.count, before + 1)
      }).pipe(Effect.provide(layer))
    )
  })

  describe("building the layer", () => {
    const build = <E>(layer: Layer.Layer<Mediator.Mediator, E>) => Effect.flip(Layer.build(layer))

    it.effect("binding the same request type twice fails with DuplicateBinding", () =>
      Effect.gen(function* () {
        const error = yield* build(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, () => Effect.succeed(1)),
              Mediator.requestMap(Mediator.bind(CountUsers, () => Effect.succeed(2)))
            ]
          })
        )
        assert.instanceOf(error, Mediator.DuplicateBinding)
        assert.deepStrictEqual({ kind: error.kind, tag: error.tag }, { kind: "Request", tag: "CountUsers" })
        assert.strictEqual(error.message, "the request CountUsers is bound twice")
      })
    )

    it.effect("two request classes sharing a tag are a duplicate too", () =>
      Effect.gen(function* () {
        class CountUsersAgain extends Mediator.StreamRequest<CountUsersAgain>()(
          "CountUsers",
          {},
          {
            response: Schema.Number
          }
        ) {}
        const error = yield* build(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, () => Effect.succeed(1)),
              Mediator.bind(CountUsersAgain, () => Stream.never)
            ]
          })
        )
        assert.strictEqual(error._tag, "DuplicateBinding")
      })
    )

    it.effect("request maps group bindings from several modules", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* Mediator.send(new CountUsers()), 1)
        assert.strictEqual((yield* Mediator.send(request)).source, "db")
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.requestMap(Mediator.bind(CountUsers, () => Effect.succeed(1))),
              Mediator.requestMap(
                Mediator.requestMap(Mediator.bind(GetUserProfile, (req) => Effect.succeed(profile(req.userId, "db"))))
              )
            ]
          })
        )
      )
    )

    it.effect("a malformed binding from untyped code fails with InvalidBinding naming the field", () =>
      Effect.gen(function* () {
        const notAHandler = yield* build(Mediator.layer({ requests: [Mediator.bind(CountUsers, 42 as any)] }))
        assert.strictEqual(notAHandler._tag, "InvalidBinding")
        if (notAHandler._tag === "InvalidBinding") {
          assert.strictEqual(notAHandler.tag, "CountUsers")
          assert.strictEqual(notAHandler.field, "handler")
        }
        const emptyOn = yield* build(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, {
                primary: () => Effect.succeed(1),
                fallback: () => Effect.succeed(2),
                on: [] as any
              })
            ]
          })
        )
        assert.strictEqual(emptyOn._tag, "InvalidBinding")
        if (emptyOn._tag === "InvalidBinding") {
          assert.strictEqual(emptyOn.field, "on")
          assert.include(emptyOn.message, "invalid mediator binding for CountUsers: on must be a non-empty array")
        }
        const notAClass = yield* build(Mediator.layer({ requests: [Mediator.bind(class {} as any, (() => 1) as any)] }))
        assert.strictEqual(notAClass._tag, "InvalidBinding")
        const eventAsRequest = yield* build(
          Mediator.layer({ requests: [Mediator.subscribe(ProfileViewed, () => Effect.void) as any] }) as Layer.Layer<
            Mediator.Mediator,
            Mediator.InvalidBinding
          >
        )
        assert.strictEqual(eventAsRequest._tag, "InvalidBinding")
      })
    )

    it.effect("a chain of things that are not functions fails the layer with InvalidBinding, not the caller", () =>
      Effect.gen(function* () {
        const links = Mediator.chain(CountUsers, 42 as any)
        const error = yield* build(Mediator.layer({ requests: [Mediator.bind(CountUsers, links as any)] }))
        assert.strictEqual(error._tag, "InvalidBinding")
        if (error._tag === "InvalidBinding") {
          assert.strictEqual(error.tag, "CountUsers")
          assert.strictEqual(error.field, "links")
        }
      })
    )

    it.effect("eventConcurrency must be sequential, unbounded or a positive integer", () =>
      Effect.gen(function* () {
        const error = yield* build(Mediator.layer({ eventConcurrency: 0 }))
        assert.strictEqual(error._tag, "InvalidBinding")
        assert.include(error.message, `eventConcurrency must be "sequential", "unbounded" or an integer >= 1, got 0`)
      })
    )
  })

  describe("fallback bindings", () => {
    it.effect("a matching failure of the primary is answered by the fallback, which receives it", () => {
      const counter = runs()
      return Effect.gen(function* () {
        const answer = yield* Mediator.send(request)
        assert.deepStrictEqual(answer, profile("u1", "fallback after ConnectionError"))
        assert.deepStrictEqual(counter, { primary: 1, fallback: 1 })
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (_req): Effect.Effect<UserProfile, ConnectionError | TimeoutError> =>
                  Effect.suspend(() => (counter.primary++, Effect.fail(new ConnectionError()))),
                fallback: (req, trigger) =>
                  Effect.sync(() => (counter.fallback++, profile(req.userId, `fallback after ${trigger._tag}`))),
                on: ["ConnectionError", "TimeoutError"]
              })
            ]
          })
        )
      )
    })

    it.effect("a successful primary skips the fallback", () => {
      const counter = runs()
      return Effect.gen(function* () {
        assert.strictEqual((yield* Mediator.send(request)).source, "primary")
        assert.deepStrictEqual(counter, { primary: 1, fallback: 0 })
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (req) => Effect.sync(() => (counter.primary++, profile(req.userId, "primary"))),
                fallback: (req) => Effect.sync(() => (counter.fallback++, profile(req.userId, "fallback")))
              })
            ]
          })
        )
      )
    })

    it.effect("a failure outside `on` passes through unchanged and the fallback does not run", () => {
      const counter = runs()
      return Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.send(request))
        assert.instanceOf(error, UserNotFound)
        assert.strictEqual(counter.fallback, 0)
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (req): Effect.Effect<UserProfile, ConnectionError | UserNotFound> =>
                  Effect.fail(new UserNotFound({ userId: req.userId })),
                fallback: (req) => Effect.sync(() => (counter.fallback++, profile(req.userId, "fallback"))),
                on: ["ConnectionError"]
              })
            ]
          })
        )
      )
    })

    it.effect("without `on` every typed failure falls back; a predicate selects failures", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* Mediator.send(request)).source, "any: UserNotFound")
        const error = yield* Effect.flip(Mediator.send(new GetUserProfile({ userId: "missing" })))
        assert.instanceOf(error, UserNotFound)
        assert.strictEqual(yield* Mediator.send(new CountUsers()), -1)
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, {
                primary: () => Effect.fail(new ConnectionError()),
                fallback: (_req, trigger) => Effect.succeed(trigger._tag === "ConnectionError" ? -1 : 0)
              }),
              Mediator.bind(GetUserProfile, {
                primary: (req): Effect.Effect<UserProfile, UserNotFound> =>
                  Effect.fail(new UserNotFound({ userId: req.userId })),
                fallback: (req, trigger) => Effect.succeed(profile(req.userId, `any: ${trigger._tag}`)),
                on: (error) => error.userId !== "missing"
              })
            ]
          })
        )
      )
    )

    it.effect("a failing fallback fails the send with the fallback's failure", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.send(request))
        assert.deepStrictEqual(error, new UserNotFound({ userId: "u1" }))
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (): Effect.Effect<UserProfile, ConnectionError> => Effect.fail(new ConnectionError()),
                fallback: (req) => Effect.fail(new UserNotFound({ userId: req.userId }))
              })
            ]
          })
        )
      )
    )

    it.effect("defects do not fall back", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Mediator.send(new CountUsers()))
        assert.isTrue(Exit.hasDies(exit))
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, { primary: () => Effect.die("bug"), fallback: () => Effect.succeed(0) })
            ]
          })
        )
      )
    )

    describe("through a circuit breaker", () => {
      class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("test/RequestsBreaker") {}

      const withBreaker = <A, E>(
        bindings: ReadonlyArray<Mediator.RequestBinding<RequestsBreaker>>,
        effect: Effect.Effect<A, E, Mediator.Mediator | RequestsBreaker>
      ) =>
        effect.pipe(
          Effect.provide(
            Mediator.layer({ requests: bindings }).pipe(
              Layer.provideMerge(CircuitBreaker.layer(RequestsBreaker, { failureThreshold: 2 }))
            )
          )
        )

      it.effect("the circuit id defaults to the request's tag; once open the primary is skipped", () => {
        const counter = runs()
        const triggers: Array<string> = []
        return withBreaker(
          [
            Mediator.bind(GetUserProfile, {
              primary: (): Effect.Effect<UserProfile, ConnectionError> =>
                Effect.suspend(() => (counter.primary++, Effect.fail(new ConnectionError()))),
              fallback: (req, trigger) =>
                Effect.sync(() => (triggers.push(trigger._tag), profile(req.userId, "cache"))),
              on: ["ConnectionError"],
              breaker: RequestsBreaker
            })
          ],
          Effect.gen(function* () {
            for (let i = 0; i < 3; i++) assert.strictEqual((yield* Mediator.send(request)).source, "cache")
            assert.strictEqual(counter.primary, 2)
            assert.deepStrictEqual(triggers, ["ConnectionError", "ConnectionError", "CircuitOpenError"])
            const breaker = yield* RequestsBreaker
            assert.strictEqual(yield* breaker.state("GetUserProfile"), "Open")
          })
        )
      })

      it.effect("an explicit id names the circuit", () =>
        withBreaker(
          [
            Mediator.bind(CountUsers, {
              primary: () => Effect.fail(new ConnectionError()),
              fallback: () => Effect.succeed(0),
              breaker: RequestsBreaker,
              id: "users-db"
            })
          ],
          Effect.gen(function* () {
            yield* Mediator.send(new CountUsers())
            yield* Mediator.send(new CountUsers())
            const breaker = yield* RequestsBreaker
            assert.strictEqual(yield* breaker.state("users-db"), "Open")
            assert.strictEqual(yield* breaker.state("CountUsers"), "Closed")
          })
        )
      )

      it.effect("a failure outside `on` is not converted into a fallback when it trips the circuit", () =>
        withBreaker(
          [
            Mediator.bind(GetUserProfile, {
              primary: (req): Effect.Effect<UserProfile, ConnectionError | UserNotFound> =>
                Effect.fail(new UserNotFound({ userId: req.userId })),
              fallback: (req) => Effect.succeed(profile(req.userId, "cache")),
              on: ["ConnectionError"],
              breaker: RequestsBreaker
            })
          ],
          Effect.gen(function* () {
            assert.instanceOf(yield* Effect.flip(Mediator.send(request)), UserNotFound)
            assert.instanceOf(yield* Effect.flip(Mediator.send(request)), UserNotFound)
            const breaker = yield* RequestsBreaker
            assert.strictEqual(yield* breaker.state("GetUserProfile"), "Open")
            assert.strictEqual((yield* Mediator.send(request)).source, "cache")
          })
        )
      )
    })
  })

  describe("events raised by a request handler", () => {
    it.effect("are published after the handler succeeded, in the order raised", () => {
      const order: Array<string> = []
      return Effect.gen(function* () {
        yield* Mediator.send(request)
        assert.deepStrictEqual(order, ["handler raised a", "handler raised b", "handler done", "event a", "event b"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, (req) =>
                Effect.gen(function* () {
                  for (const by of ["a", "b"]) {
                    yield* Mediator.emit(new ProfileViewed({ userId: req.userId, by }))
                    order.push(`handler raised ${by}`)
                  }
                  order.push("handler done")
                  return profile(req.userId, "db")
                })
              )
            ],
            events: [Mediator.subscribe(ProfileViewed, (event) => Effect.sync(() => order.push(`event ${event.by}`)))]
          })
        )
      )
    })

    it.effect("a primary that emitted then fell back leaves no events: only the fallback's are published", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        assert.strictEqual((yield* Mediator.send(request)).source, "fallback")
        assert.deepStrictEqual(seen, ["fallback"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (req): Effect.Effect<UserProfile, ConnectionError> =>
                  Mediator.emit(new ProfileViewed({ userId: req.userId, by: "primary" })).pipe(
                    Effect.andThen(Effect.fail(new ConnectionError()))
                  ),
                fallback: (req) =>
                  Mediator.emit(new ProfileViewed({ userId: req.userId, by: "fallback" })).pipe(
                    Effect.as(profile(req.userId, "fallback"))
                  )
              })
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("a primary that succeeded publishes its own events and the fallback never runs", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        yield* Mediator.send(request)
        assert.deepStrictEqual(seen, ["primary"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, {
                primary: (req) =>
                  Mediator.emit(new ProfileViewed({ userId: req.userId, by: "primary" })).pipe(
                    Effect.as(profile(req.userId, "primary"))
                  ),
                fallback: (req) =>
                  Mediator.emit(new ProfileViewed({ userId: req.userId, by: "fallback" })).pipe(
                    Effect.as(profile(req.userId, "fallback"))
                  )
              })
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("a send that fails publishes nothing", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        yield* Effect.flip(Mediator.send(request))
        assert.deepStrictEqual(seen, [])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, (req) =>
                Mediator.emit(new ProfileViewed({ userId: req.userId, by: "primary" })).pipe(
                  Effect.andThen(Effect.fail(new UserNotFound({ userId: req.userId })))
                )
              )
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("each send collects its own events, even when sends run concurrently", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        yield* Effect.forEach(["u1", "u2", "u3"], (userId) => Mediator.send(new GetUserProfile({ userId })), {
          concurrency: "unbounded"
        })
        assert.sameMembers(seen, ["u1", "u2", "u3"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, (req) =>
                Effect.gen(function* () {
                  yield* Effect.yieldNow
                  yield* Mediator.emit(new ProfileViewed({ userId: req.userId, by: req.userId }))
                  yield* Effect.yieldNow
                  return profile(req.userId, "db")
                })
              )
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("events raised by fibers the handler forks and joins are the handler's", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        yield* Mediator.send(request)
        assert.sameMembers(seen, ["child", "sibling a", "sibling b"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(GetUserProfile, (req) =>
                Effect.gen(function* () {
                  const child = yield* Effect.forkChild(
                    Mediator.emit(new ProfileViewed({ userId: req.userId, by: "child" }))
                  )
                  yield* Effect.forEach(
                    ["sibling a", "sibling b"],
                    (by) => Mediator.emit(new ProfileViewed({ userId: req.userId, by })),
                    { concurrency: "unbounded" }
                  )
                  yield* Fiber.join(child)
                  return profile(req.userId, "db")
                })
              )
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("a nested send collects its own events, and the outer handler keeps its own", () => {
      const { binding, seen } = viewedBy()
      return Effect.gen(function* () {
        yield* Mediator.send(request)
        assert.deepStrictEqual(seen, ["inner", "outer"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(CountUsers, () =>
                Mediator.emit(new ProfileViewed({ userId: "u1", by: "inner" })).pipe(Effect.as(1))
              ),
              Mediator.bind(GetUserProfile, (req) =>
                Effect.gen(function* () {
                  yield* Effect.orDie(Mediator.send(new CountUsers()))
                  yield* Mediator.emit(new ProfileViewed({ userId: req.userId, by: "outer" }))
                  return profile(req.userId, "db")
                })
              )
            ],
            events: [binding]
          })
        )
      )
    })

    it.effect("emit outside a handler dies with an explanation instead of losing the event", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Mediator.emit(new ProfileViewed({ userId: "u1", by: "nobody" })))
        assert.isTrue(Exit.hasDies(exit))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.include(String(defect), "Mediator.emit(ProfileViewed) ran outside a handler run by the mediator")
      })
    )
  })

  describe("chain of responsibility", () => {
    class Pay extends Mediator.Request<Pay>()(
      "Pay",
      { method: Schema.String },
      {
        response: Schema.String,
        error: Schema.Union([Mediator.ChainExhaustedSchema, Schema.String])
      }
    ) {}
    const visited: Array<string> = []
    const card = (req: Pay) =>
      Effect.sync(() => visited.push("card")).pipe(
        Effect.andThen(req.method === "card" ? Effect.succeed("charged card") : Mediator.next)
      )
    const paypal = (req: Pay) =>
      Effect.sync(() => visited.push("paypal")).pipe(
        Effect.andThen(req.method === "paypal" ? Effect.succeed("charged paypal") : Mediator.next)
      )
    const payments = Mediator.chain(Pay, card, paypal, (req) =>
      Effect.sync(() => visited.push("bitcoin")).pipe(
        Effect.andThen(req.method === "bitcoin" ? Effect.fail("bitcoin declined") : Mediator.next)
      )
    )

    it.effect("links are tried in order until one answers", () =>
      Effect.gen(function* () {
        visited.length = 0
        assert.strictEqual(yield* Mediator.send(new Pay({ method: "paypal" })), "charged paypal")
        assert.deepStrictEqual(visited, ["card", "paypal"])
      }).pipe(Effect.provide(Mediator.layer({ requests: [Mediator.bind(Pay, payments)] })))
    )

    it.effect("a link's failure ends the chain with that failure", () =>
      Effect.gen(function* () {
        visited.length = 0
        assert.strictEqual(yield* Effect.flip(Mediator.send(new Pay({ method: "bitcoin" }))), "bitcoin declined")
        assert.deepStrictEqual(visited, ["card", "paypal", "bitcoin"])
      }).pipe(Effect.provide(Mediator.layer({ requests: [Mediator.bind(Pay, payments)] })))
    )

    it.effect("past the last link the chain fails with ChainExhausted", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Mediator.send(new Pay({ method: "cash" })))
        assert.instanceOf(error, Mediator.ChainExhausted)
        if (error instanceof Mediator.ChainExhausted) {
          assert.deepStrictEqual({ tag: error.tag, links: error.links }, { tag: "Pay", links: 3 })
          assert.strictEqual(error.message, "all 3 links of the chain for Pay passed the request on")
        }
      }).pipe(Effect.provide(Mediator.layer({ requests: [Mediator.bind(Pay, payments)] })))
    )

    it.effect("a chain can be the primary of a fallback binding, which answers what no link handles", () =>
      Effect.gen(function* () {
        assert.strictEqual(yield* Mediator.send(new Pay({ method: "card" })), "charged card")
        assert.strictEqual(yield* Mediator.send(new Pay({ method: "cash" })), "manual review after ChainExhausted")
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(Pay, {
                primary: Mediator.chain(Pay, card, paypal),
                fallback: (_req, trigger) => Effect.succeed(`manual review after ${trigger._tag}`),
                on: ["ChainExhausted"]
              })
            ]
          })
        )
      )
    )

    it.effect("Mediator.next outside a chain is a defect that says so", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Mediator.send(new Pay({ method: "card" })))
        assert.isTrue(Exit.hasDies(exit))
        const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.include(String(defect), "Mediator.next ran outside a chain of responsibility")
      }).pipe(Effect.provide(Mediator.layer({ requests: [Mediator.bind(Pay, () => Mediator.next)] })))
    )
  })
})
