// python-cqrs's request handler fallback (seed 001, examples/request_fallback.py) on the mediator: GetUserProfile is
// bound to a primary that reads the database and a fallback that answers a degraded profile. The database is down
// (ConnectionError), so the fallback answers; the events the primary raised before failing are dropped and only the
// fallback's are published. The second run adds a circuit breaker (fail_max 2): after two failures the circuit opens
// and the primary is not even called. The last lines decode a JSON payload, as from HTTP, before any handler runs.
// Run with `node examples/cqrs/request-fallback.ts`; exits 1 when anything differs from the expected.
import { Console, Data, Effect, Layer, Schema } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"

class UserProfileResult extends Schema.Class<UserProfileResult>("UserProfileResult")({
  userId: Schema.String,
  name: Schema.String,
  source: Schema.Literals(["primary", "fallback"])
}) {}

class GetUserProfileCommand extends Mediator.Request<GetUserProfileCommand>()(
  "GetUserProfileCommand",
  {
    userId: Schema.String
  },
  { response: UserProfileResult }
) {}

class ProfileRequested extends Mediator.Event<ProfileRequested>()("ProfileRequested", {
  userId: Schema.String,
  by: Schema.String
}) {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly message: string }> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly message: string }> {}

class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("example/RequestsBreaker") {}

const primaryCalls = { count: 0 }

// e.g. a database call that fails
const primaryGetUserProfile = (
  request: GetUserProfileCommand
): Effect.Effect<UserProfileResult, ConnectionError | TimeoutError> =>
  Effect.gen(function* () {
    primaryCalls.count++
    yield* Mediator.emit(new ProfileRequested({ userId: request.userId, by: "primary" }))
    return yield* new ConnectionError({ message: "Database unavailable" })
  })

const fallbackGetUserProfile = (request: GetUserProfileCommand, trigger: { readonly _tag: string }) =>
  Effect.gen(function* () {
    yield* Console.log(`  fallback for ${request.userId} after ${trigger._tag}`)
    yield* Mediator.emit(new ProfileRequested({ userId: request.userId, by: "fallback" }))
    return new UserProfileResult({ userId: request.userId, name: "Unknown User", source: "fallback" })
  })

const published: Array<string> = []
const events = [
  Mediator.subscribe(ProfileRequested, (event) => Effect.sync(() => published.push(`${event.userId} by ${event.by}`)))
]

const WithoutBreaker = Mediator.layer({
  requests: [
    Mediator.bind(GetUserProfileCommand, {
      primary: primaryGetUserProfile,
      fallback: fallbackGetUserProfile,
      on: ["ConnectionError", "TimeoutError"]
    })
  ],
  events
})

const WithBreaker = Mediator.layer({
  requests: [
    Mediator.bind(GetUserProfileCommand, {
      primary: primaryGetUserProfile,
      fallback: fallbackGetUserProfile,
      on: ["ConnectionError", "TimeoutError"],
      breaker: RequestsBreaker // circuit id: "GetUserProfileCommand"
    })
  ],
  events
}).pipe(Layer.provideMerge(CircuitBreaker.layer(RequestsBreaker, { failureThreshold: 2, resetTimeout: "60 seconds" })))

const withoutBreaker = Effect.gen(function* () {
  yield* Console.log("without a breaker:")
  const result = yield* Mediator.send(new GetUserProfileCommand({ userId: "user-1" }))
  yield* Console.log(`  ${result.userId}: ${result.name} (${result.source})`)
  return { source: result.source, primaryCalls: primaryCalls.count, published: published.splice(0) }
}).pipe(Effect.provide(WithoutBreaker))

const withBreaker = Effect.gen(function* () {
  yield* Console.log("with a breaker (fail_max 2):")
  primaryCalls.count = 0
  const sources: Array<string> = []
  for (let i = 1; i <= 4; i++) {
    const result = yield* Mediator.send(new GetUserProfileCommand({ userId: `user-${i}` }))
    sources.push(result.source)
  }
  const breaker = yield* RequestsBreaker
  const state = yield* breaker.state("GetUserProfileCommand")
  yield* Console.log(`  primary called ${primaryCalls.count} times; circuit ${state}`)
  return { sources, primaryCalls: primaryCalls.count, state, published: published.splice(0).length }
}).pipe(Effect.provide(WithBreaker))

const fromJson = Effect.gen(function* () {
  yield* Console.log("payloads from the outside:")
  const ok = yield* Mediator.sendUnknown(JSON.parse(`{"_tag":"GetUserProfileCommand","userId":"user-9"}`))
  const bad = yield* Effect.flip(Mediator.sendUnknown(JSON.parse(`{"_tag":"GetUserProfileCommand","userId":9}`)))
  const message = Mediator.isMessageDecodeError(bad) ? bad.message : String(bad)
  yield* Console.log(`  rejected before any handler ran: ${message.replaceAll("\n", " ")}`)
  return { decoded: (ok as UserProfileResult).userId, rejected: message }
}).pipe(Effect.provide(WithoutBreaker))

const expected = {
  withoutBreaker: { source: "fallback", primaryCalls: 1, published: ["user-1 by fallback"] },
  withBreaker: {
    sources: ["fallback", "fallback", "fallback", "fallback"],
    primaryCalls: 2,
    state: "Open",
    published: 4
  },
  fromJson: {
    decoded: "user-9",
    rejected: 'cannot decode request GetUserProfileCommand: Expected string\n  at ["userId"]'
  }
}

Effect.runPromise(Effect.all({ withoutBreaker, withBreaker, fromJson })).then(
  (actual) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      console.error(`unexpected:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`)
      process.exit(1)
    }
    console.log("ok: the fallback answered, only its events were published, and the open circuit skipped the primary")
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
