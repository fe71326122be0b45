// The request-handler fallback of python-cqrs (seed 001): GetUserProfile reads a database that goes down; a fallback
// answers with a default profile, and after `failureThreshold` failures the circuit opens, so the primary is not even
// called. A missing user is a business failure: outside `on`, it reaches the caller, and `exclude` keeps it from
// counting toward opening the circuit. Once the database is back and the reset timeout has passed, a trial call closes
// the circuit again. Run with `node examples/request-fallback.ts`; exits 1 when an outcome differs from the expected.
import { Console, Data, Effect } from "effect"
import { CircuitBreaker, Fallback } from "effect-fallback"
import { makeChecker } from "./_check.ts"

class GetUserProfile extends Data.TaggedClass("GetUserProfile")<{ readonly userId: string }> {}

class UserProfileResult extends Data.Class<{
  readonly userId: string
  readonly name: string
  readonly source: "primary" | "fallback"
}> {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly message: string }> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly message: string }> {}
class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly userId: string }> {}

class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("app/RequestsBreaker") {}

const RequestsBreakerLive = CircuitBreaker.layer(RequestsBreaker, {
  failureThreshold: 3,
  resetTimeout: "100 millis",
  exclude: ["UserNotFound"] // a 404 says nothing about the database's health
})

// The "database": down until `databaseUp` is set; it knows one user.
let databaseUp = false
let primaryCalls = 0
const users = new Map([["u-1", "Ada Lovelace"]])

type ProfileFailure = ConnectionError | TimeoutError | UserNotFound

const primaryHandler = (request: GetUserProfile): Effect.Effect<UserProfileResult, ProfileFailure> =>
  Effect.suspend((): Effect.Effect<UserProfileResult, ProfileFailure> => {
    primaryCalls++
    if (!databaseUp) return Effect.fail(new ConnectionError({ message: "Database unavailable" }))
    const name = users.get(request.userId)
    return name === undefined
      ? Effect.fail(new UserNotFound({ userId: request.userId }))
      : Effect.succeed(new UserProfileResult({ userId: request.userId, name, source: "primary" }))
  })

const fallbackHandler = (request: GetUserProfile) =>
  Effect.succeed(new UserProfileResult({ userId: request.userId, name: "Unknown User", source: "fallback" }))

const getUserProfile = (request: GetUserProfile) =>
  primaryHandler(request).pipe(
    Fallback.orElse(
      (failure) => Console.log(`  fallback ran after ${failure._tag}`).pipe(Effect.andThen(fallbackHandler(request))),
      { on: ["ConnectionError", "TimeoutError"], breaker: RequestsBreaker, id: "GetUserProfile" }
    )
  )

const { check: expect, finish } = makeChecker()

const program = Effect.gen(function* () {
  const breaker = yield* RequestsBreaker
  const request = new GetUserProfile({ userId: "u-1" })

  yield* Console.log("1. the database is down: every call is answered by the fallback")
  for (let i = 1; i <= 3; i++) {
    const profile = yield* getUserProfile(request)
    yield* expect(`call ${i}`, [profile.name, profile.source], ["Unknown User", "fallback"])
  }
  yield* expect("primary calls so far", primaryCalls, 3)
  yield* expect("circuit after 3 failures", yield* breaker.state("GetUserProfile"), "Open")

  yield* Console.log("2. the circuit is open: the primary is not called, the fallback answers at once")
  const whileOpen = yield* getUserProfile(request)
  yield* expect("call 4", [whileOpen.name, whileOpen.source], ["Unknown User", "fallback"])
  yield* expect("primary calls so far", primaryCalls, 3)

  yield* Console.log("3. the database is back; after the reset timeout a trial call closes the circuit")
  databaseUp = true
  yield* Effect.sleep("150 millis")
  const recovered = yield* getUserProfile(request)
  yield* expect("call 5", [recovered.name, recovered.source], ["Ada Lovelace", "primary"])
  yield* expect("circuit after the trial", yield* breaker.state("GetUserProfile"), "Closed")

  yield* Console.log("4. a missing user is outside `on`: the caller sees it, and `exclude` keeps the circuit closed")
  for (let i = 1; i <= 4; i++) {
    const missing = yield* getUserProfile(new GetUserProfile({ userId: "u-404" })).pipe(Effect.flip)
    yield* expect(`missing user ${i}`, missing._tag, "UserNotFound")
  }
  yield* expect("circuit after 4 missing users", yield* breaker.state("GetUserProfile"), "Closed")
  const stats = yield* breaker.stats("GetUserProfile")
  yield* expect("failures / ignored / rejected", [stats.failures, stats.ignored, stats.rejected], [3, 4, 1])
}).pipe(Effect.provide(RequestsBreakerLive))

Effect.runPromise(program).then(
  () => finish("request-fallback example"),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
