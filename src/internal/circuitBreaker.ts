/**
 * Assembles a breaker: one `BreakerCore` over a store, and the operations of `CircuitBreaker` over it: admission
 * (`circuitBreakerAdmission.ts`), outcome reporting (`circuitBreakerOutcome.ts`) and administration
 * (`circuitBreakerAdmin.ts`).
 */
import { Context, Effect, Layer, PubSub, Ref, Stream } from "effect"
import type { Scope } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import type { Policy } from "./circuit.ts"
import { protector, type ProtectStream, streamProtector } from "./circuitBreakerAdmission.ts"
import * as Admin from "./circuitBreakerAdmin.ts"
import { BreakerCore, type Entry } from "./circuitBreakerCore.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { makeMetrics } from "./circuitBreakerMetrics.ts"
import { resolvePolicy } from "./circuitBreakerPolicy.ts"
import { Validate } from "./circuitBreakerValidate.ts"
import type { CircuitStore } from "./circuitStore.ts"
import { MemoryStore } from "./circuitStoreMemory.ts"
import { evictionOf, startSweep } from "./circuitEviction.ts"

/** @internal */
export const Service =
  <Self>() =>
  <const Key extends string>(key: Key) =>
    Context.Service<Self, CB.CircuitBreaker>()(key)

const TRANSITION_BUFFER = 1024
const DEFAULT_EVENT_BUFFER = 1024

/** @internal */
export const make = (
  domain: string,
  options: CB.Options = {}
): Effect.Effect<CB.CircuitBreaker, CircuitBreakerConfigError, Scope.Scope> =>
  Effect.flatMap(resolvePolicy(domain, options), (policy) => makeWithStore(new MemoryStore(policy), options))

/**
 * A breaker whose circuits live in `store`; the store's background work starts with it and stops with its scope.
 *
 * @internal
 */
export const makeWithStore = (
  store: CircuitStore,
  options: CB.Options
): Effect.Effect<CB.CircuitBreaker, CircuitBreakerConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const eventBufferSize = yield* eventBuffer(store.policy, options)
    const context = yield* Effect.context<never>()
    const transitions = yield* PubSub.sliding<CB.Transition>(TRANSITION_BUFFER)
    const calls = yield* PubSub.sliding<CB.CallEvent>(eventBufferSize)
    const metrics = yield* makeMetrics(store.policy.domain, options, context)
    const eviction = yield* evictionOf(store.policy.domain, options)
    const circuits = yield* Ref.make(new Map<string, Entry>())
    const core = new BreakerCore(circuits, store, context, transitions, calls, metrics, eviction)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => core.close()).pipe(
        Effect.andThen(PubSub.shutdown(transitions)),
        Effect.andThen(PubSub.shutdown(calls))
      )
    )
    yield* store.start({
      circuit: (id) => core.entry(id).circuit,
      publishAdopted: Effect.suspend(() => core.flush(true) ?? Effect.void)
    })
    yield* startSweep(core, eviction.idleMillis)
    return breakerOf(core)
  })

/** The `events` buffer is allocated when the breaker is built: bounded. */
const MAX_EVENT_BUFFER = 100_000

const eventBuffer = (policy: Policy, options: CB.Options): Effect.Effect<number, CircuitBreakerConfigError> =>
  new Validate(policy.domain).integer(
    "eventBufferSize",
    options.eventBufferSize ?? DEFAULT_EVENT_BUFFER,
    1,
    MAX_EVENT_BUFFER
  )

const breakerOf = (core: BreakerCore): CB.CircuitBreaker => {
  const check = new Validate(core.domain)
  // Untyped code may pass anything: a circuit id that is not a string would make a metric series no scrape can
  // format, a mode that does not exist a circuit no rule covers. Both are defects, refused before touching anything.
  const refusedId = (id: unknown) => Effect.orDie(check.fail("id", id, "a string (the circuit id)"))
  const withId = <A>(id: string, f: (id: string) => Effect.Effect<A>): Effect.Effect<A> =>
    typeof id === "string" ? f(id) : refusedId(id)
  const events = Stream.unwrap(
    Effect.acquireRelease(
      Effect.sync(() => {
        core.callSubscribers++
      }),
      () =>
        Effect.sync(() => {
          core.callSubscribers--
        })
    ).pipe(Effect.as(Stream.fromPubSub(core.calls)))
  )
  return {
    domain: core.domain,
    protect: (id) => {
      if (typeof id !== "string") return () => refusedId(id)
      // `protect(id)` is usually called in a handler, once per request: one function per circuit is handed out,
      // kept on the circuit's entry (a dropped circuit's function finds the live circuit of its id again).
      const entry = core.entry(id)
      return (entry.protect ??= protector(core, entry))
    },
    protectStream: (id, options): ProtectStream => {
      if (typeof id !== "string") return () => Stream.fromEffect(refusedId(id))
      const trialSuccess = options?.trialSuccess ?? "firstItem"
      if (trialSuccess !== "firstItem" && trialSuccess !== "completion") {
        const refused = Effect.orDie(check.fail("trialSuccess", trialSuccess, `"firstItem" or "completion"`))
        return () => Stream.fromEffect(refused)
      }
      return streamProtector(core, core.entry(id), trialSuccess === "firstItem")
    },
    state: (id) => withId(id, (id) => Effect.map(Admin.stats(core, id), (stats) => stats.state)),
    stats: (id) => withId(id, (id) => Admin.stats(core, id)),
    circuits: Admin.circuits(core),
    transitions: Stream.fromPubSub(core.transitions),
    events,
    open: (id) => withId(id, (id) => Admin.forceOpen(core, id)),
    close: (id) => withId(id, (id) => Admin.forceClose(core, id)),
    reset: (id) => withId(id, (id) => Admin.reset(core, id)),
    setMode: (id, mode) =>
      withId(id, (id) =>
        Effect.flatMap(Effect.orDie(check.mode("mode", mode)), (mode) => Admin.setMode(core, id, mode))
      )
  }
}

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: CB.Options = {}
): Layer.Layer<Self, CircuitBreakerConfigError> => Layer.effect(key, make(key.key, options))
