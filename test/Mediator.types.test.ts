// Type-level specification: what the compiler accepts and rejects. Every `@ts-expect-error` below is a binding the
// compiler must refuse (tsc fails if one of them compiles); `expectTypeOf` pins inferred types.
import { describe, it } from "@effect/vitest"
import { Context, Data, Effect, type Layer, Schema, Stream } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"
import { expectTypeOf } from "vitest"

class UserProfile extends Schema.Class<UserProfile>("UserProfile")({ userId: Schema.String, name: Schema.String }) {}
class Order extends Schema.Class<Order>("Order")({ orderId: Schema.String }) {}
class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { userId: Schema.String }) {}
class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{}> {}

class GetUserProfile extends Mediator.Request<GetUserProfile>()(
  "GetUserProfile",
  { userId: Schema.String },
  {
    response: UserProfile,
    error: UserNotFound
  }
) {}
class GetOrder extends Mediator.Request<GetOrder>()("GetOrder", { orderId: Schema.String }, { response: Order }) {}
class StreamOrders extends Mediator.StreamRequest<StreamOrders>()("StreamOrders", {}, { response: Order }) {}
class UserJoined extends Mediator.Event<UserJoined>()("UserJoined", { userId: Schema.String }) {}

class Database extends Context.Service<Database, { readonly find: (id: string) => Effect.Effect<UserProfile> }>()(
  "test/Database"
) {}
class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("test/RequestsBreaker") {}

const profile = (userId: string) => new UserProfile({ userId, name: "Ada" })
const flaky = (): Effect.Effect<UserProfile, ConnectionError | TimeoutError> => Effect.fail(new ConnectionError())
const getOrder = (request: GetOrder) => Effect.succeed(new Order({ orderId: request.orderId }))

describe("Mediator types", () => {
  it("send, stream and publish are typed by the message", () => {
    expectTypeOf(Mediator.send(new GetUserProfile({ userId: "u" }))).toEqualTypeOf<
      Effect.Effect<UserProfile, UserNotFound | Mediator.HandlerNotFound, Mediator.Mediator>
    >()
    expectTypeOf(Mediator.send(new GetOrder({ orderId: "o" }))).toEqualTypeOf<
      Effect.Effect<Order, Mediator.HandlerNotFound, Mediator.Mediator>
    >()
    expectTypeOf(Mediator.stream(new StreamOrders())).toEqualTypeOf<
      Stream.Stream<Order, Mediator.HandlerNotFound, Mediator.Mediator>
    >()
    expectTypeOf(Mediator.publish(new UserJoined({ userId: "u" }))).toEqualTypeOf<
      Effect.Effect<void, never, Mediator.Mediator>
    >()
    expectTypeOf<Mediator.ResponseOf<GetUserProfile>>().toEqualTypeOf<UserProfile>()
    expectTypeOf<Mediator.ErrorOf<GetUserProfile>>().toEqualTypeOf<UserNotFound>()
  })

  it("each message goes only where its kind belongs", () => {
    // @ts-expect-error a streaming request is not sent
    Mediator.send(new StreamOrders())
    // @ts-expect-error a request is not streamed
    Mediator.stream(new GetOrder({ orderId: "o" }))
    // @ts-expect-error a request is not an event
    Mediator.publish(new GetOrder({ orderId: "o" }))
    // @ts-expect-error a request is not an event
    Mediator.emit(new GetOrder({ orderId: "o" }))
    // @ts-expect-error a plain object is not a request instance
    Mediator.send({ _tag: "GetOrder", orderId: "o" })
  })

  it("a message class needs its Self type", () => {
    // @ts-expect-error Missing `Self` generic
    class NoSelf extends Mediator.Request()("NoSelf", {}, { response: Schema.String }) {}
    expectTypeOf(NoSelf).not.toBeNever()
  })

  it("a handler must answer its request with the request's response", () => {
    Mediator.bind(GetOrder, getOrder)
    // @ts-expect-error the response is an Order, not a string
    Mediator.bind(GetOrder, () => Effect.succeed("order"))
    // @ts-expect-error the handler handles another request
    Mediator.bind(GetUserProfile, getOrder)
    // @ts-expect-error a streaming request is bound to a function returning a Stream
    Mediator.bind(StreamOrders, () => Effect.succeed(new Order({ orderId: "o" })))
    // @ts-expect-error a request is bound to a function returning an Effect
    Mediator.bind(GetOrder, () => Stream.make(new Order({ orderId: "o" })))
  })

  it("a handler may only fail with what the request declares", () => {
    Mediator.bind(GetUserProfile, (request) => Effect.fail(new UserNotFound({ userId: request.userId })))
    // @ts-expect-error ConnectionError is not in GetUserProfile's error schema
    Mediator.bind(GetUserProfile, () => Effect.fail(new ConnectionError()))
    // @ts-expect-error GetOrder declares no failure
    Mediator.bind(GetOrder, () => Effect.fail(new UserNotFound({ userId: "u" })))
  })

  it("primary and fallback must handle the same request and answer the same response", () => {
    Mediator.bind(GetUserProfile, { primary: flaky, fallback: (request) => Effect.succeed(profile(request.userId)) })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error the fallback answers an Order
      fallback: () => Effect.succeed(new Order({ orderId: "o" }))
    })
    Mediator.bind(GetUserProfile, {
      // @ts-expect-error the primary answers an Order
      primary: () => Effect.succeed(new Order({ orderId: "o" })),
      fallback: (request: GetUserProfile) => Effect.succeed(profile(request.userId))
    })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error the fallback handles GetOrder
      fallback: getOrder
    })
    Mediator.bind(GetUserProfile, {
      // @ts-expect-error the primary handles GetOrder
      primary: getOrder,
      fallback: (request: GetUserProfile) => Effect.succeed(profile(request.userId))
    })
  })

  it("`on` names failures of the primary, and the trigger is narrowed by it", () => {
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      fallback: (request, trigger) => {
        expectTypeOf(trigger).toEqualTypeOf<ConnectionError | TimeoutError>()
        return Effect.succeed(profile(request.userId))
      },
      on: ["ConnectionError", "TimeoutError"]
    })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error "ConnectionEror" is not a failure of the primary
      fallback: (request) => Effect.succeed(profile(request.userId)),
      on: ["ConnectionEror", "TimeoutError"]
    })
  })

  it("a fallback that takes no parameters compiles beside a primary whose parameter is not annotated", () => {
    class Boom extends Data.TaggedError("Boom")<{}> {}
    class Get extends Mediator.Request<Get>()("Get", { id: Schema.String }, { response: Schema.String }) {}
    class Items extends Mediator.StreamRequest<Items>()("Items", { id: Schema.String }, { response: Schema.String }) {}
    class Seen extends Mediator.Event<Seen>()("Seen", { id: Schema.String }) {}
    const request = Mediator.bind(Get, {
      primary: (r) => (r.id === "" ? Effect.fail(new Boom()) : Effect.succeed(r.id)),
      fallback: () => Effect.succeed("default"),
      on: ["Boom"]
    })
    expectTypeOf(request).toEqualTypeOf<Mediator.RequestBinding<never>>()
    Mediator.bind(Get, {
      primary: (r) => (r.id === "" ? Effect.fail(new Boom()) : Effect.succeed(r.id)),
      fallback: () => Effect.succeed("default")
    })
    const streaming = Mediator.bind(Items, {
      primary: (r) => (r.id === "" ? Stream.fail(new Boom()) : Stream.make(r.id)),
      fallback: () => Stream.make("default"),
      on: ["Boom"]
    })
    expectTypeOf(streaming).toEqualTypeOf<Mediator.RequestBinding<never>>()
    const event = Mediator.subscribe(Seen, {
      primary: (e) => (e.id === "" ? Effect.fail(new Boom()) : Effect.log(e.id)),
      fallback: () => Effect.void,
      on: ["Boom"]
    })
    expectTypeOf(event).toEqualTypeOf<Mediator.EventBinding<never>>()
    // the checks still hold once the primary's failures are inferred
    Mediator.bind(Get, {
      primary: (r) => (r.id === "" ? Effect.fail(new Boom()) : Effect.succeed(r.id)),
      // @ts-expect-error "Bom" is not a failure of the primary
      fallback: () => Effect.succeed("default"),
      on: ["Bom"]
    })
    Mediator.subscribe(Seen, {
      // @ts-expect-error "Bom" is not a failure of the primary
      primary: (e) => (e.id === "" ? Effect.fail(new Boom()) : Effect.log(e.id)),
      fallback: () => Effect.void,
      on: ["Bom"]
    })
    Mediator.bind(Items, {
      primary: (r) => (r.id === "" ? Stream.fail(new Boom()) : Stream.make(r.id)),
      // @ts-expect-error "Bom" is not a failure of the primary
      fallback: () => Stream.make("default"),
      on: ["Bom"]
    })
    Mediator.bind(Get, {
      primary: (r) => Effect.succeed(r.id),
      // @ts-expect-error a primary that never fails has no failure named by `on`
      fallback: () => Effect.succeed("default"),
      on: ["Boom"]
    })
    Mediator.bind(Get, {
      primary: (r) => (r.id === "" ? Effect.fail(new Boom()) : Effect.succeed(r.id)),
      // @ts-expect-error Boom passes through a predicate and Get does not declare it
      fallback: () => Effect.succeed("default"),
      // @ts-expect-error (also reported at `on`, against the overload that takes tags)
      on: (error) => error._tag === "Boom"
    })
  })

  it("failures that do not fall back must be declared by the request", () => {
    Mediator.bind(GetUserProfile, {
      primary: (): Effect.Effect<UserProfile, ConnectionError | UserNotFound> => Effect.fail(new ConnectionError()),
      fallback: (request) => Effect.succeed(profile(request.userId)),
      on: ["ConnectionError"]
    })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error TimeoutError passes through and GetUserProfile does not declare it
      fallback: (request) => Effect.succeed(profile(request.userId)),
      on: ["ConnectionError"]
    })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error a predicate may let any failure through, and they are not declared
      fallback: (request) => Effect.succeed(profile(request.userId)),
      // @ts-expect-error (also reported at `on`, against the overload that takes tags)
      on: (error) => error._tag === "ConnectionError"
    })
    Mediator.bind(GetUserProfile, {
      primary: flaky,
      // @ts-expect-error the fallback's own failure is not declared
      fallback: () => Effect.fail(new TimeoutError())
    })
  })

  it("with a breaker, the fallback also receives CircuitOpenError and the binding needs the breaker", () => {
    const binding = Mediator.bind(GetUserProfile, {
      primary: flaky,
      fallback: (request, trigger) => {
        expectTypeOf(trigger).toEqualTypeOf<ConnectionError | TimeoutError | CircuitBreaker.CircuitOpenError>()
        return Effect.succeed(profile(request.userId))
      },
      breaker: RequestsBreaker
    })
    expectTypeOf(binding).toEqualTypeOf<Mediator.RequestBinding<RequestsBreaker>>()
  })

  it("a streaming fallback returns a Stream and receives the primary's progress", () => {
    Mediator.bind(StreamOrders, {
      primary: () => Stream.fail(new ConnectionError()),
      fallback: (_request, trigger, progress) => {
        expectTypeOf(trigger).toEqualTypeOf<ConnectionError>()
        expectTypeOf(progress.emitted).toEqualTypeOf<number>()
        return Stream.make(new Order({ orderId: "cached" }))
      }
    })
    Mediator.bind(StreamOrders, {
      primary: () => Stream.fail(new ConnectionError()),
      // @ts-expect-error the fallback of a streaming request returns a Stream
      fallback: () => Effect.succeed(new Order({ orderId: "cached" }))
    })
  })

  it("a chain fails with its links' failures and ChainExhausted", () => {
    const chain = Mediator.chain(
      GetOrder,
      (request) => (request.orderId === "a" ? getOrder(request) : Mediator.next),
      (request) => (request.orderId === "b" ? Effect.fail(new TimeoutError()) : Mediator.next)
    )
    expectTypeOf(chain).toEqualTypeOf<
      (request: GetOrder) => Effect.Effect<Order, TimeoutError | Mediator.ChainExhausted, never>
    >()
    // @ts-expect-error GetOrder declares neither TimeoutError nor ChainExhausted
    Mediator.bind(GetOrder, chain)
    Mediator.bind(GetOrder, {
      primary: chain,
      fallback: (request, trigger) => {
        expectTypeOf(trigger).toEqualTypeOf<TimeoutError | Mediator.ChainExhausted>()
        return getOrder(request)
      }
    })
  })

  it("event handlers: `on` is checked, failures are free (they are logged and counted)", () => {
    Mediator.subscribe(UserJoined, () => Effect.fail(new ConnectionError()))
    Mediator.subscribe(UserJoined, {
      primary: (): Effect.Effect<void, ConnectionError> => Effect.fail(new ConnectionError()),
      fallback: (_event, trigger) => {
        expectTypeOf(trigger).toEqualTypeOf<ConnectionError>()
        return Effect.void
      },
      on: ["ConnectionError"]
    })
    Mediator.subscribe(UserJoined, {
      // @ts-expect-error "Timeout" is not a failure of the primary
      primary: (): Effect.Effect<void, ConnectionError> => Effect.fail(new ConnectionError()),
      fallback: () => Effect.void,
      on: ["Timeout"]
    })
    // @ts-expect-error the handler handles a request, not this event
    Mediator.subscribe(UserJoined, getOrder)
  })

  it("the layer requires the handlers' services, except the mediator itself, and fails at build", () => {
    const layer = Mediator.layer({
      requests: [
        Mediator.bind(GetUserProfile, (request) => Effect.flatMap(Database, (db) => db.find(request.userId))),
        Mediator.bind(GetOrder, (request) =>
          Effect.andThen(Effect.orDie(Mediator.send(new StreamOrdersCount())), getOrder(request))
        ),
        Mediator.bind(StreamOrdersCount, () => Effect.succeed(0)),
        Mediator.bind(StreamOrders, {
          primary: () => Stream.fail(new ConnectionError()),
          fallback: () => Stream.empty,
          breaker: RequestsBreaker
        })
      ],
      events: [Mediator.subscribe(UserJoined, () => Effect.log("joined"))]
    })
    expectTypeOf(layer).toEqualTypeOf<
      Layer.Layer<Mediator.Mediator, Mediator.DuplicateBinding | Mediator.InvalidBinding, Database | RequestsBreaker>
    >()
  })
})

class StreamOrdersCount extends Mediator.Request<StreamOrdersCount>()(
  "StreamOrdersCount",
  {},
  {
    response: Schema.Number
  }
) {}
