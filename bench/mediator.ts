// The CQRS mediator's dispatch cost: `Mediator.send` of a bound request against calling its handler directly, in the
// same Effect.gen loop, for three handler weights: trivial (an already-computed answer: the dispatch alone), in-memory
// (a service lookup and a synchronous read) and I/O-bound (the same read behind one asynchronous boundary, the least a
// database or HTTP call costs); then requests through a fallback binding on its success path, with and without a
// breaker, and a request whose handler raises one event that one event handler handles.
import { Context, Data, Effect, Exit, Layer, Schema, Scope } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"
import { effectProgram, type Suite, type Target } from "./harness.ts"

export const MEDIATOR = "mediator: one request per step"

export const names = {
  directTrivial: "trivial handler called directly",
  sendTrivial: "Mediator.send, trivial handler",
  direct: "in-memory handler called directly (baseline)",
  send: "Mediator.send, in-memory handler",
  sendService: "mediator.send (service method), in-memory handler",
  directIo: "I/O-bound handler called directly",
  sendIo: "Mediator.send, I/O-bound handler",
  fallback: "Mediator.send, fallback binding, primary succeeds",
  fallbackBreaker: "Mediator.send, fallback binding + breaker Closed, primary succeeds",
  withEvent: "Mediator.send, handler raises 1 event, 1 event handler"
} as const

class UserProfile extends Schema.Class<UserProfile>("UserProfile")({ userId: Schema.String, name: Schema.String }) {}
class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}

const Unavailable = Schema.instanceOf(ConnectionError)

class GetUserProfile extends Mediator.Request<GetUserProfile>()(
  "GetUserProfile",
  { userId: Schema.String },
  {
    response: UserProfile,
    error: Unavailable
  }
) {}
class GetTrivial extends Mediator.Request<GetTrivial>()(
  "GetTrivial",
  { userId: Schema.String },
  {
    response: UserProfile
  }
) {}
class GetWithFallback extends Mediator.Request<GetWithFallback>()(
  "GetWithFallback",
  { userId: Schema.String },
  {
    response: UserProfile
  }
) {}
class GetWithBreaker extends Mediator.Request<GetWithBreaker>()(
  "GetWithBreaker",
  { userId: Schema.String },
  {
    response: UserProfile
  }
) {}
class GetOverIo extends Mediator.Request<GetOverIo>()(
  "GetOverIo",
  { userId: Schema.String },
  {
    response: UserProfile,
    error: Unavailable
  }
) {}
class GetAndNotify extends Mediator.Request<GetAndNotify>()(
  "GetAndNotify",
  { userId: Schema.String },
  {
    response: UserProfile,
    error: Unavailable
  }
) {}
class ProfileViewed extends Mediator.Event<ProfileViewed>()("ProfileViewed", { userId: Schema.String }) {}

class Profiles extends Context.Service<
  Profiles,
  {
    readonly find: (userId: string) => Effect.Effect<UserProfile, ConnectionError>
  }
>()("bench/Profiles") {}
class BenchBreaker extends CircuitBreaker.Service<BenchBreaker>()("bench/MediatorBreaker") {}

const ada = new UserProfile({ userId: "u1", name: "Ada" })
const rows = new Map([["u1", ada]])
const ProfilesLive = Layer.succeed(Profiles, {
  find: (userId) => Effect.sync(() => rows.get(userId) ?? ada)
})

const trivial = (_request: GetTrivial) => Effect.succeed(ada)
/** A query handler as users write them: look the repository up, read through it. */
const typical = (request: { readonly userId: string }) =>
  Effect.flatMap(Profiles, (profiles) => profiles.find(request.userId))
const cached = () => Effect.succeed(ada)
/** The read behind one asynchronous boundary (a resolved promise): the cheapest I/O a handler can do. */
const overIo = (request: { readonly userId: string }) =>
  Effect.flatMap(Profiles, (profiles) =>
    Effect.andThen(
      Effect.promise(() => Promise.resolve(request.userId)),
      (userId) => profiles.find(userId)
    )
  )

const MediatorLive = Mediator.layer({
  requests: [
    Mediator.bind(GetTrivial, trivial),
    Mediator.bind(GetUserProfile, typical),
    Mediator.bind(GetOverIo, overIo),
    Mediator.bind(GetWithFallback, { primary: typical, fallback: cached, on: ["ConnectionError"] }),
    Mediator.bind(GetWithBreaker, {
      primary: typical,
      fallback: cached,
      on: ["ConnectionError"],
      breaker: BenchBreaker
    }),
    Mediator.bind(GetAndNotify, (request) =>
      Effect.andThen(Mediator.emit(new ProfileViewed({ userId: request.userId })), typical(request))
    )
  ],
  events: [Mediator.subscribe(ProfileViewed, () => Effect.void)]
}).pipe(Layer.provideMerge(Layer.mergeAll(ProfilesLive, CircuitBreaker.layer(BenchBreaker))))

const build = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** `n` calls of `call`, each built inside the loop as a caller would (the request is constructed once). */
const loop =
  <A, E, R>(call: () => Effect.Effect<A, E, R>) =>
  (n: number) =>
    Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* call()
    })

const ratio = (label: string, row: string, limit: number, aim = false): Target => ({
  label,
  measure: (r) => r.ratio(MEDIATOR, row, MEDIATOR, names.direct),
  compare: "<=",
  limit,
  unit: "x",
  ...(aim ? { aim } : {})
})

const targets: ReadonlyArray<Target> = [
  {
    label: "Mediator.send of a bound request at most 1.5x calling its (I/O-bound) handler directly",
    measure: (r) => r.ratio(MEDIATOR, names.sendIo, MEDIATOR, names.directIo),
    compare: "<=",
    limit: 1.5,
    unit: "x"
  },
  ratio("aim: Mediator.send at most 1.5x calling an in-memory handler directly", names.send, 1.5, true),
  {
    label: "aim: dispatch alone (trivial handler) at most 3x the direct call",
    measure: (r) => r.ratio(MEDIATOR, names.sendTrivial, MEDIATOR, names.directTrivial),
    compare: "<=",
    limit: 3,
    unit: "x",
    aim: true
  },
  ratio("aim: a fallback binding's success path at most 2x the direct call", names.fallback, 2, true)
]

export const suite = async (): Promise<Suite> => {
  const { close, context } = await build(MediatorLive)
  const mediator = Context.get(context, Mediator.Mediator)
  const userProfile = new GetUserProfile({ userId: "u1" })
  const getTrivial = new GetTrivial({ userId: "u1" })
  const withFallback = new GetWithFallback({ userId: "u1" })
  const withBreaker = new GetWithBreaker({ userId: "u1" })
  const andNotify = new GetAndNotify({ userId: "u1" })
  const overIoRequest = new GetOverIo({ userId: "u1" })

  // Every row must answer Ada through the path it names.
  for (const request of [userProfile, getTrivial, withFallback, withBreaker, andNotify, overIoRequest]) {
    const answer = await Effect.runPromise(Effect.provideContext(Mediator.send(request), context))
    if (answer !== ada) throw new Error(`${request._tag}: expected Ada, got ${String(answer)}`)
  }

  return {
    name: MEDIATOR,
    description: "`for (…) yield* call()` inside one Effect.gen; the request is built once, the call at each step.",
    unit: "call",
    baseline: names.direct,
    cases: [
      effectProgram(
        names.directTrivial,
        loop(() => trivial(getTrivial)),
        context
      ),
      effectProgram(
        names.sendTrivial,
        loop(() => Mediator.send(getTrivial)),
        context
      ),
      effectProgram(
        names.direct,
        loop(() => typical(userProfile)),
        context
      ),
      effectProgram(
        names.send,
        loop(() => Mediator.send(userProfile)),
        context
      ),
      effectProgram(
        names.sendService,
        loop(() => mediator.send(userProfile)),
        context
      ),
      effectProgram(
        names.directIo,
        loop(() => overIo(overIoRequest)),
        context
      ),
      effectProgram(
        names.sendIo,
        loop(() => Mediator.send(overIoRequest)),
        context
      ),
      effectProgram(
        names.fallback,
        loop(() => Mediator.send(withFallback)),
        context
      ),
      effectProgram(
        names.fallbackBreaker,
        loop(() => Mediator.send(withBreaker)),
        context
      ),
      effectProgram(
        names.withEvent,
        loop(() => Mediator.send(andNotify)),
        context
      )
    ],
    targets,
    close
  }
}
