import { Cause, Clock, Context, Duration, Effect, Exit, Layer, PubSub, Ref, Scope, Stream } from "effect"
import type { Fiber } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import { CircuitBreakerConfigError, CircuitOpenError, formatMillis } from "./circuitBreakerErrors.ts"
import { Admission, Circuit, type PendingTransition, type Policy, Verdict } from "./circuit.ts"
import { CircuitInstruments } from "./circuitBreakerMetrics.ts"
import { resolvePolicy } from "./circuitBreakerPolicy.ts"

/** @internal */
export const Service =
  <Self>() =>
  <const Key extends string>(key: Key) =>
    Context.Service<Self, CB.CircuitBreaker>()(key)

export { formatMillis }

/**
 * A rejection is the hot path of an open circuit: building the error through the `Error` constructor costs ~0.7 us
 * even without a stack trace, ~6 us with one. The error is made from the class's prototype instead; it is still an
 * `instanceof CircuitOpenError` (and `Error`), with the same fields, `message` and `_tag`, and a one-line `stack`.
 */
const makeCircuitOpenError = (
  domain: string,
  id: string,
  state: "Open" | "HalfOpen",
  retryAfterMillis: number
): CircuitOpenError => {
  const error = Object.create(CircuitOpenError.prototype) as {
    -readonly [K in keyof CircuitOpenError]: CircuitOpenError[K]
  }
  error._tag = "CircuitOpenError"
  error.domain = domain
  error.id = id
  error.state = state
  error.retryAfter = Duration.millis(retryAfterMillis)
  return error as CircuitOpenError
}

const TRANSITION_BUFFER = 1024
const DEFAULT_EVENT_BUFFER = 1024

/** One circuit with what reports on it. */
interface Entry {
  readonly circuit: Circuit
  readonly instruments: CircuitInstruments
  readonly sync: CircuitSync | undefined
}

/**
 * What a distributed layer (the Redis-backed breaker) plugs into one circuit: it observes outcomes and transitions,
 * and may refuse a HalfOpen trial the local circuit admitted (another process holds the shared permit).
 *
 * @internal
 */
export interface CircuitSync {
  /** After an admitted call's outcome is recorded; `verdict` is undefined for an interrupted call (nothing recorded). */
  readonly recorded: (generation: number, trial: boolean, verdict: Verdict | undefined, slow: boolean) => void
  /** For every transition published; `remote` when caused by `Control.apply`. */
  readonly transitioned: (transition: PendingTransition, remote: boolean) => void
  /** Asked before a HalfOpen trial admitted under `generation` runs: `false` rejects it and frees its permit. */
  readonly acquireTrial: (generation: number) => Effect.Effect<boolean>
}

/** @internal */
export interface Sync {
  /** Called once per circuit, when the breaker creates it. */
  readonly track: (circuit: Circuit) => CircuitSync
}

/** @internal */
export interface Control {
  /** Changes circuit `id` (created if new) with `f`, then publishes the transitions as remote ones. */
  readonly apply: (id: string, f: (circuit: Circuit, now: number) => void) => Effect.Effect<void>
}

/** The span of the current fiber, if any: read directly so calls outside any span pay nothing. */
interface SpanLike {
  readonly status: { readonly _tag: string }
  attribute(key: string, value: unknown): void
}
const currentSpan = (fiber: Fiber.Fiber<unknown, unknown>): SpanLike | undefined => {
  const span = (fiber as unknown as { readonly currentSpanLocal?: SpanLike }).currentSpanLocal
  return span !== undefined && span.status._tag !== "Ended" ? span : undefined
}

const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

const outcomeOf = (verdict: Verdict): CB.Outcome =>
  verdict === Verdict.Success ? "success" : verdict === Verdict.Failure ? "failure" : "ignored"

/** @internal */
export const make = (
  domain: string,
  options: CB.Options = {}
): Effect.Effect<CB.CircuitBreaker, CircuitBreakerConfigError, Scope.Scope> =>
  Effect.map(makeWith(domain, options, undefined), (made) => made.breaker)

/** A breaker whose circuits report to `sync`, with the `Control` a distributed layer applies remote state through. @internal */
export const makeWith = (
  domain: string,
  options: CB.Options,
  sync: Sync | undefined
): Effect.Effect<
  { readonly breaker: CB.CircuitBreaker; readonly control: Control },
  CircuitBreakerConfigError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const policy = yield* resolvePolicy(
      domain,
      options,
      (field, value, expected) => new CircuitBreakerConfigError({ domain, field, value, expected })
    )
    const eventBufferSize = options.eventBufferSize ?? DEFAULT_EVENT_BUFFER
    if (!Number.isInteger(eventBufferSize) || eventBufferSize < 1) {
      return yield* new CircuitBreakerConfigError({
        domain,
        field: "eventBufferSize",
        value: eventBufferSize,
        expected: "an integer >= 1"
      })
    }
    const circuits = yield* Ref.make(new Map<string, Entry>())
    const context = yield* Effect.context<never>()
    const transitionsHub = yield* PubSub.sliding<CB.Transition>(TRANSITION_BUFFER)
    const eventsHub = yield* PubSub.sliding<CB.CallEvent>(eventBufferSize)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const entry of Ref.getUnsafe(circuits).values()) entry.instruments.remove()
      }).pipe(Effect.andThen(PubSub.shutdown(transitionsHub)), Effect.andThen(PubSub.shutdown(eventsHub)))
    )
    return makeBreaker(policy, circuits, context, transitionsHub, eventsHub, sync)
  })

const makeBreaker = (
  policy: Policy,
  circuitsRef: Ref.Ref<Map<string, Entry>>,
  context: Context.Context<never>,
  transitionsHub: PubSub.PubSub<CB.Transition>,
  eventsHub: PubSub.PubSub<CB.CallEvent>,
  sync: Sync | undefined
): { readonly breaker: CB.CircuitBreaker; readonly control: Control } => {
  const domain = policy.domain
  const outbox: Array<PendingTransition> = []
  /** Publications that found a subscriber's buffer full: `publishUnsafe` refuses them, the sliding strategy does not. */
  const backlog: Array<Effect.Effect<boolean>> = []
  let eventSubscribers = 0

  const publish = <A>(hub: PubSub.PubSub<A>, value: A): void => {
    if (!PubSub.publishUnsafe(hub, value)) backlog.push(PubSub.publish(hub, value))
  }

  // Circuits are created on first use and never removed, so a circuit object can be captured by `protect(id)`.
  const entryFor = (id: string): Entry => {
    const map = Ref.getUnsafe(circuitsRef)
    let entry = map.get(id)
    if (entry === undefined) {
      const circuit = new Circuit(id, policy, outbox)
      entry = { circuit, instruments: new CircuitInstruments(domain, circuit, context), sync: sync?.track(circuit) }
      map.set(id, entry)
    }
    return entry
  }

  /** Publishes what the last operation changed; returns the logging to run, if any. */
  const flush = (remote = false): Effect.Effect<void> | undefined => {
    if (outbox.length === 0 && backlog.length === 0) return undefined
    const pending = outbox.splice(0, outbox.length)
    const logs: Array<Effect.Effect<unknown>> = []
    for (const pendingTransition of pending) {
      const { from, id, reason, to, at } = pendingTransition
      const transition: CB.Transition = { domain, id, from, to, at, reason }
      publish(transitionsHub, transition)
      const changed = entryFor(id)
      changed.instruments.transition(from, to)
      changed.sync?.transitioned(pendingTransition, remote)
      const message = `circuit ${domain}/${id}: ${from} -> ${to} (${reason})`
      const annotations = { "circuit.domain": domain, "circuit.id": id, "circuit.from": from, "circuit.to": to }
      logs.push(Effect.annotateLogs(to === "Open" ? Effect.logWarning(message) : Effect.logInfo(message), annotations))
    }
    for (const publication of backlog.splice(0, backlog.length)) logs.push(publication)
    return logs.length === 1 ? Effect.asVoid(logs[0]!) : Effect.all(logs, { discard: true })
  }

  const publishEvent = (entry: Entry, outcome: CB.Outcome, slow: boolean, durationMillis: number, at: number): void => {
    if (eventSubscribers === 0) return
    publish(eventsHub, {
      domain,
      id: entry.circuit.id,
      outcome,
      slow,
      durationMillis,
      at,
      state: entry.circuit.state
    })
  }

  const annotate = (fiber: Fiber.Fiber<unknown, unknown>, circuit: Circuit, outcome: CB.Outcome): void => {
    const span = currentSpan(fiber)
    if (span === undefined) return
    span.attribute("circuit_breaker.domain", domain)
    span.attribute("circuit_breaker.id", circuit.id)
    span.attribute("circuit_breaker.state", circuit.state)
    span.attribute("circuit_breaker.outcome", outcome)
  }

  /** Records the exit of an admitted call. Runs uninterruptibly (an `onExit` finalizer). */
  const settle = (
    entry: Entry,
    fiber: Fiber.Fiber<unknown, unknown>,
    generation: number,
    trial: boolean,
    start: number,
    timed: boolean,
    exit: Exit.Exit<unknown, unknown>
  ): Effect.Effect<void> | undefined => {
    const circuit = entry.circuit
    let verdict: Verdict
    let error: unknown = undefined
    if (exit._tag === "Success") {
      verdict =
        policy.isFailureValue !== undefined && policy.isFailureValue(exit.value) ? Verdict.Failure : Verdict.Success
    } else {
      const reasons = exit.cause.reasons
      const fail = reasons.find(Cause.isFailReason)
      if (fail !== undefined) {
        error = fail.error
        verdict = policy.isExcluded(error) ? Verdict.Ignored : Verdict.Failure
      } else {
        const die = reasons.find(Cause.isDieReason)
        if (die === undefined) {
          // Interrupted: nothing is recorded, a trial's permit goes back.
          if (trial) circuit.release(generation, nowOf(fiber))
          entry.sync?.recorded(generation, trial, undefined, false)
          return flush()
        }
        error = die.defect
        verdict = Verdict.Failure
      }
    }
    // The clock is read only when the outcome can cause a transition: a failure, or any outcome with a rate window.
    const now = timed || verdict === Verdict.Failure || circuit.window !== undefined ? nowOf(fiber) : 0
    const durationMillis = timed ? now - start : 0
    // An ignored call is neither success nor failure, so it is not a slow one either.
    const slow = policy.slowCall !== undefined && durationMillis > policy.slowCall.millis && verdict !== Verdict.Ignored
    circuit.record(generation, trial, verdict, slow, now, error)
    if (entry.sync !== undefined) entry.sync.recorded(generation, trial, verdict, slow)
    if (circuit.mode !== "disabled") {
      const outcome = outcomeOf(verdict)
      entry.instruments.outcome(outcome, slow)
      if (timed) entry.instruments.duration(durationMillis)
      annotate(fiber, circuit, outcome)
      publishEvent(entry, outcome, slow, durationMillis, now)
    }
    return flush()
  }

  const reportRejection = (entry: Entry, fiber: Fiber.Fiber<unknown, unknown>, now: number): void => {
    entry.instruments.outcome("rejected", false)
    annotate(fiber, entry.circuit, "rejected")
    publishEvent(entry, "rejected", false, 0, now)
  }

  /** In `metricsOnly`, a call the circuit would have rejected runs anyway; it is reported as the rejection it was. */
  const noteShadowRejection = (entry: Entry, fiber: Fiber.Fiber<unknown, unknown>, now: number): void => {
    if (entry.circuit.mode === "metricsOnly") reportRejection(entry, fiber, now)
  }

  const reject = (
    entry: Entry,
    fiber: Fiber.Fiber<unknown, unknown>,
    now: number
  ): Effect.Effect<never, CircuitOpenError> => {
    const circuit = entry.circuit
    reportRejection(entry, fiber, now)
    const error = makeCircuitOpenError(
      domain,
      circuit.id,
      circuit.state === "HalfOpen" ? "HalfOpen" : "Open",
      circuit.retryAfterMillis(now)
    )
    const logs = flush()
    return logs === undefined ? Effect.fail(error) : Effect.andThen(logs, Effect.fail(error))
  }

  /** Runs a call that is not a trial, recording its exit under the generation it was admitted in. */
  const runAdmitted = <A, E, R>(
    entry: Entry,
    self: Effect.Effect<A, E, R>,
    fiber: Fiber.Fiber<unknown, unknown>,
    start: number,
    timed: boolean
  ): Effect.Effect<A, E, R> => {
    const generation = entry.circuit.generation
    // Not a trial, so nothing must be given back on interruption: a plain continuation is enough (`onExit` would
    // also toggle interruptibility around the finalizer, several steps more per call).
    return Effect.matchCauseEffect(self, {
      onSuccess: (value) => {
        const exit = Exit.succeed(value)
        const logs = settle(entry, fiber, generation, false, start, timed, exit)
        return logs === undefined ? exit : Effect.andThen(logs, exit)
      },
      onFailure: (cause) => {
        const exit = Exit.failCause(cause)
        const logs = settle(entry, fiber, generation, false, start, timed, exit)
        return logs === undefined ? exit : Effect.andThen(logs, exit)
      }
    })
  }

  const withPendingLogs = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const logs = flush()
    return logs === undefined ? self : Effect.andThen(logs, self)
  }

  // A circuit that is not Closed may hand out a HalfOpen permit: admission and the installation of the finalizer
  // that gives it back happen in one uninterruptible region, and only the call itself is interruptible.
  const guardedCall = <A, E, R>(
    entry: Entry,
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | CircuitOpenError, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiber((fiber) => {
        const circuit = entry.circuit
        const start = nowOf(fiber)
        const admission = circuit.admit(start)
        if (admission === Admission.Rejected) return reject(entry, fiber, start)
        if (admission === Admission.Unrecorded) {
          noteShadowRejection(entry, fiber, start)
          return withPendingLogs(restore(self))
        }
        if (admission === Admission.Admitted)
          return withPendingLogs(runAdmitted(entry, restore(self), fiber, start, true))
        const generation = circuit.generation
        const halfOpenTimeout = policy.halfOpenTimeout
        // Every trial in flight is cut off at the deadline shared by them (set when the first was admitted). The race
        // runs interruptibly, so the caller can still interrupt its own trial.
        const call: Effect.Effect<A, E | CircuitOpenError, R> =
          halfOpenTimeout?.onTimeout === "interrupt"
            ? restore(
                Effect.timeoutOrElse(self, {
                  duration: Math.max(0, circuit.halfOpenDeadline - start),
                  orElse: () => trialTimedOut(entry, fiber, generation)
                })
              )
            : restore(self)
        const trial = Effect.onExitPrimitive(call, (exit) => {
          // A trial that timed out was already recorded as a failure by `trialTimedOut`.
          if (exit._tag === "Failure" && isTrialTimeout(exit)) return undefined
          return settle(entry, fiber, generation, true, start, true, exit)
        })
        const gate = entry.sync?.acquireTrial(generation)
        if (gate === undefined) return withPendingLogs(trial)
        return withPendingLogs(
          Effect.flatMap(
            Effect.onInterrupt(restore(gate), () => Effect.sync(() => circuit.release(generation))),
            (admitted) => (admitted ? trial : refuseTrial(entry, fiber, generation))
          )
        )
      })
    )

  /** A trial the local circuit admitted but the distributed layer refused: its permit goes back, the call is rejected. */
  const refuseTrial = (entry: Entry, fiber: Fiber.Fiber<unknown, unknown>, generation: number) => {
    entry.circuit.release(generation)
    entry.circuit.rejected++
    return reject(entry, fiber, nowOf(fiber))
  }

  const trialTimedOut = (entry: Entry, fiber: Fiber.Fiber<unknown, unknown>, generation: number) =>
    Effect.suspend(() => {
      const now = nowOf(fiber)
      const circuit = entry.circuit
      circuit.record(generation, true, Verdict.Failure, false, now, undefined)
      entry.sync?.recorded(generation, true, Verdict.Failure, false)
      if (circuit.mode !== "disabled") {
        entry.instruments.outcome("failure", false)
        publishEvent(entry, "failure", false, 0, now)
      }
      // The trial's own timeout reopened the circuit (when nothing else moved it on meanwhile): the caller is told so.
      const error = makeCircuitOpenError(domain, circuit.id, "Open", circuit.retryAfterMillis(now))
      trialTimeouts.add(error)
      const logs = flush()
      return logs === undefined ? Effect.fail(error) : Effect.andThen(logs, Effect.fail(error))
    })
  const trialTimeouts = new WeakSet<object>()
  const isTrialTimeout = (exit: Exit.Exit<unknown, unknown>): boolean => {
    if (exit._tag !== "Failure") return false
    const fail = exit.cause.reasons.find(Cause.isFailReason)
    return fail !== undefined && typeof fail.error === "object" && fail.error !== null && trialTimeouts.has(fail.error)
  }

  /** A success needs no classification: no `isFailure`, no window, no distributed layer to tell. */
  /** A success that needs no classification (no `isFailure`) and feeds no window: it can trip nothing. */
  const plainSuccess = (entry: Entry): boolean =>
    policy.isFailureValue === undefined && entry.circuit.window === undefined

  type Protect = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpenError, R>
  // `protect(id)` is usually called in a handler, once per request: hand out one function per circuit.
  const protectors = new Map<string, Protect>()
  const protect = (id: string): Protect => {
    let protector = protectors.get(id)
    if (protector === undefined) {
      protector = makeProtector(entryFor(id))
      protectors.set(id, protector)
    }
    return protector
  }

  const makeProtector =
    (entry: Entry): Protect =>
    <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpenError, R> =>
      Effect.withFiber((fiber) => {
        const circuit = entry.circuit
        if (circuit.state !== "Closed") {
          // An Open circuit rejects without handing out anything, so it needs no uninterruptible region.
          const now = nowOf(fiber)
          circuit.refresh(now)
          if (circuit.state === "Open" && circuit.mode === "normal") {
            circuit.rejected++
            return reject(entry, fiber, now)
          }
          return guardedCall(entry, self)
        }
        if (circuit.mode === "disabled") return self
        if (policy.closedNeedsClock) return runAdmitted(entry, self, fiber, nowOf(fiber), true)
        // An effect that is already an Exit has finished: record it now instead of installing a finalizer.
        if (Exit.isExit(self)) {
          const exit = self as Exit.Exit<A, E>
          if (exit._tag === "Success" && plainSuccess(entry)) {
            // The common case, kept to what it changes.
            circuit.recordClosedSuccess()
            if (entry.sync !== undefined) entry.sync.recorded(circuit.generation, false, Verdict.Success, false)
            entry.instruments.tallies.success++
            annotate(fiber, circuit, "success")
            if (eventSubscribers > 0) publishEvent(entry, "success", false, 0, nowOf(fiber))
            return backlog.length === 0 ? exit : Effect.andThen(flush()!, exit)
          }
          const logs = settle(entry, fiber, circuit.generation, false, 0, false, exit)
          return logs === undefined ? exit : Effect.andThen(logs, exit)
        }
        return runAdmitted(entry, self, fiber, 0, false)
      })

  const protectStream = (id: string) => {
    const entry = entryFor(id)
    return <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E | CircuitOpenError, R> =>
      Stream.unwrap(Effect.uninterruptible(Effect.withFiber((fiber) => admitStream(entry, self, fiber))))
  }

  const admitStream = <A, E, R>(
    entry: Entry,
    self: Stream.Stream<A, E, R>,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<Stream.Stream<A, E | CircuitOpenError, R>> => {
    const circuit = entry.circuit
    const timed = circuit.needsClock()
    const start = timed ? nowOf(fiber) : 0
    const admission = circuit.admit(start)
    if (admission === Admission.Rejected) {
      return Effect.succeed(Stream.fromEffect(reject(entry, fiber, start)))
    }
    if (admission === Admission.Unrecorded) {
      noteShadowRejection(entry, fiber, start)
      const logs = flush()
      return logs === undefined ? Effect.succeed(self) : Effect.as(logs, self)
    }
    const generation = circuit.generation
    const trial = admission === Admission.Trial
    const isTimed = timed || trial
    let started = false
    // One stage for both jobs: the pull notes the first chunk, the stream's scope records the outcome when it closes.
    const tracked: Stream.Stream<A, E, R> = Stream.transformPull(self, (pull, scope) =>
      Effect.as(
        Scope.addFinalizerExit(scope, (exit) =>
          Effect.withFiber((fiber) => {
            // A consumer that stopped early ends the stream by interruption: after the first item that is a success,
            // before it nothing is recorded (and any permit goes back).
            const effective: Exit.Exit<unknown, unknown> =
              exit._tag === "Failure" && started && Cause.hasInterruptsOnly(exit.cause) ? Exit.void : exit
            return settle(entry, fiber, generation, trial, start, isTimed, effective) ?? Effect.void
          })
        ),
        Effect.map(pull, (chunk) => {
          started = true
          return chunk
        })
      )
    ) as Stream.Stream<A, E, R>
    const logs = flush()
    const admitted = logs === undefined ? Effect.succeed(tracked) : Effect.as(logs, tracked)
    const gate = trial ? entry.sync?.acquireTrial(generation) : undefined
    if (gate === undefined) return admitted
    return Effect.flatMap(gate, (ok): Effect.Effect<Stream.Stream<A, E | CircuitOpenError, R>> =>
      ok ? admitted : Effect.succeed(Stream.fromEffect(refuseTrial(entry, fiber, generation)))
    )
  }

  const stats = (id: string): Effect.Effect<CB.Stats> =>
    Effect.withFiber((fiber) => {
      const entry = entryFor(id)
      const now = nowOf(fiber)
      entry.circuit.refresh(now)
      const logs = flush()
      const snapshot = statsOf(entry.circuit, now)
      return logs === undefined ? Effect.succeed(snapshot) : Effect.as(logs, snapshot)
    })

  const statsOf = (circuit: Circuit, now: number): CB.Stats => {
    circuit.window?.expire(now)
    return statsSnapshot(circuit, now)
  }

  const statsSnapshot = (circuit: Circuit, now: number): CB.Stats => ({
    domain,
    id: circuit.id,
    state: circuit.state,
    mode: circuit.mode,
    forced: circuit.forced,
    consecutiveFailures: circuit.consecutiveFailures,
    halfOpenSuccesses: circuit.halfOpenSuccesses,
    halfOpenInFlight: circuit.halfOpenInFlight,
    successes: circuit.successes,
    failures: circuit.failures,
    ignored: circuit.ignored,
    rejected: circuit.rejected,
    slow: circuit.slow,
    windowCalls: circuit.window?.calls ?? 0,
    failureRate: circuit.failureRate(now),
    slowCallRate: circuit.slowCallRate(now),
    openedAt: circuit.openedAt,
    retryAfter: circuit.state === "Open" ? Duration.millis(circuit.retryAfterMillis(now)) : undefined,
    openings: circuit.openings
  })

  const manual = (id: string, f: (circuit: Circuit, now: number) => void): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const entry = entryFor(id)
      f(entry.circuit, nowOf(fiber))
      return flush() ?? Effect.void
    })

  const control: Control = {
    apply: (id, f) =>
      Effect.withFiber((fiber) => {
        const entry = entryFor(id)
        f(entry.circuit, nowOf(fiber))
        return flush(true) ?? Effect.void
      })
  }

  const breaker: CB.CircuitBreaker = {
    domain,
    protect,
    protectStream,
    state: (id) => Effect.map(stats(id), (s) => s.state),
    stats,
    circuits: Effect.suspend(() => Effect.forEach(Array.from(Ref.getUnsafe(circuitsRef).keys()), stats)),
    transitions: Stream.fromPubSub(transitionsHub),
    events: Stream.unwrap(
      Effect.acquireRelease(
        Effect.sync(() => {
          eventSubscribers++
        }),
        () =>
          Effect.sync(() => {
            eventSubscribers--
          })
      ).pipe(Effect.as(Stream.fromPubSub(eventsHub)))
    ),
    open: (id) => manual(id, (circuit, now) => circuit.forceOpen(now)),
    close: (id) => manual(id, (circuit, now) => circuit.forceClose(now)),
    reset: (id) => manual(id, (circuit, now) => circuit.reset(now)),
    setMode: (id, mode) =>
      manual(id, (circuit) => {
        circuit.mode = mode
      })
  }
  return { breaker, control }
}

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: CB.Options = {}
): Layer.Layer<Self, CircuitBreakerConfigError> => Layer.effect(key, make(key.key, options))
