/**
 * Admission: `protect` and `protectStream` ask the circuit (through the store) whether a call may run, run it, and
 * hand its exit to outcome reporting (`circuitBreakerOutcome.ts`).
 */
import { Cause, Effect, Exit, Pull, Scope, Stream } from "effect"
import type { Fiber } from "effect"
import { Admission, Verdict } from "./circuit.ts"
import { type BreakerCore, type Entry, nowOf } from "./circuitBreakerCore.ts"
import type { CircuitOpenError } from "./circuitBreakerErrors.ts"
import { isTrialTimeout, noteShadowRejection, reject, report, settle, trialTimedOut } from "./circuitBreakerOutcome.ts"

/** @internal */
export type Protect = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpenError, R>

/** @internal */
export type ProtectStream = <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E | CircuitOpenError, R>

/**
 * The `protect` of one circuit. A Closed circuit hands out nothing, so its calls need no uninterruptible region; an
 * effect that is already an `Exit` has finished and is recorded at once. What depends on the policy and on `self`
 * alone is decided once, when the call is protected: a protected effect built once and run many times pays for it
 * once.
 *
 * @internal
 */
export const protector = (core: BreakerCore, entry: Entry): Protect => {
  const policy = core.policy
  // A success that no `isFailure` classifies, no rate window counts and no clock times needs neither classification
  // nor the clock: straight to `report`.
  const plain = policy.isFailureValue === undefined && policy.window === undefined && !policy.closedNeedsClock
  // `entry` is reassigned when its circuit was dropped: the function keeps working on the live circuit of its id.
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpenError, R> => {
    const finished = Exit.isExit(self) ? (self as Exit.Exit<A, E>) : undefined
    const plainSuccess = plain && finished?._tag === "Success" ? finished : undefined
    return Effect.withFiber((fiber) => {
      // Recency for eviction: one write when the clock moved on; a dropped entry gives way to the live one.
      if (entry.stamp !== core.clock) entry = core.touch(entry)
      const circuit = entry.circuit
      if (circuit.state !== "Closed") {
        // An Open circuit refuses without handing out anything, so it needs no uninterruptible region either.
        const now = nowOf(fiber)
        if (circuit.refuses(now)) return reject(core, entry, fiber, now)
        return guardedCall(core, entry, self)
      }
      if (circuit.mode === "disabled") return self
      if (plainSuccess !== undefined) {
        const logs = plainSucceeded(core, entry, fiber, circuit.generation)
        return logs === undefined ? plainSuccess : Effect.andThen(logs, plainSuccess)
      }
      if (policy.closedNeedsClock) return runAdmitted(core, entry, self, fiber, nowOf(fiber))
      const generation = circuit.generation
      if (finished !== undefined) {
        const logs = settle(core, entry, fiber, generation, false, 0, false, finished)
        return logs === undefined ? finished : Effect.andThen(logs, finished)
      }
      return runUntimed(core, entry, self, fiber, generation, plain)
    })
  }
}

/**
 * Runs a Closed call that needs no clock, recording its exit under the generation it was admitted in (the entry and
 * generation are the ones of admission, bound here once for the call).
 */
const runUntimed = <A, E, R>(
  core: BreakerCore,
  entry: Entry,
  self: Effect.Effect<A, E, R>,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number,
  plain: boolean
): Effect.Effect<A, E, R> =>
  // Not a trial, so nothing must be given back on interruption: the exit handler runs interruptibly (`true`), like a
  // plain continuation (a masked one would toggle interruptibility around it, several steps more per call). It
  // reuses the call's own `Exit` when there is one, and passes the call's result through unless logs must run first.
  Effect.onExitPrimitive(
    self,
    (exit) =>
      plain && exit._tag === "Success"
        ? plainSucceeded(core, entry, fiber, generation)
        : settle(core, entry, fiber, generation, false, 0, false, exit),
    true
  )

/** Reports a success of a Closed call admitted under `generation` that needed neither classification nor clock. */
const plainSucceeded = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number
): Effect.Effect<void> | undefined =>
  report(core, entry, fiber, generation, false, Verdict.Success, false, 0, undefined, undefined)

/** Runs a timed call that is not a trial, recording its exit under the generation it was admitted in. */
const runAdmitted = <A, E, R>(
  core: BreakerCore,
  entry: Entry,
  self: Effect.Effect<A, E, R>,
  fiber: Fiber.Fiber<unknown, unknown>,
  start: number
): Effect.Effect<A, E, R> => {
  const generation = entry.circuit.generation
  // Interruptible, as for an untimed call (see `runUntimed`).
  return Effect.onExitPrimitive(self, (exit) => settle(core, entry, fiber, generation, false, start, true, exit), true)
}

/**
 * A circuit that is not Closed may hand out a HalfOpen permit: admission and the installation of the finalizer that
 * gives it back happen in one uninterruptible region, and only the call itself is interruptible.
 */
const guardedCall = <A, E, R>(
  core: BreakerCore,
  entry: Entry,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CircuitOpenError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiber((fiber) => {
      const circuit = entry.circuit
      const start = nowOf(fiber)
      const admission = core.store.admit(circuit, start)
      if (admission === Admission.Rejected) return reject(core, entry, fiber, start)
      if (admission === Admission.Unrecorded) {
        noteShadowRejection(core, entry, fiber, start)
        return core.flushThen(restore(self))
      }
      if (admission === Admission.Admitted) {
        return core.flushThen(runAdmitted(core, entry, restore(self), fiber, start))
      }
      const generation = circuit.generation
      const halfOpenTimeout = core.policy.halfOpenTimeout
      // Every trial in flight is cut off at the deadline shared by them (set when the first was admitted). The race
      // runs interruptibly, so the caller can still interrupt its own trial.
      const call: Effect.Effect<A, E | CircuitOpenError, R> =
        halfOpenTimeout?.onTimeout === "interrupt"
          ? restore(
              Effect.timeoutOrElse(self, {
                duration: Math.max(0, circuit.halfOpenDeadline - start),
                orElse: () => trialTimedOut(core, entry, fiber, generation)
              })
            )
          : restore(self)
      const trial = Effect.onExitPrimitive(call, (exit) =>
        isTrialTimeout(exit) ? undefined : settle(core, entry, fiber, generation, true, start, true, exit)
      )
      const shared = core.store.acquireTrial(circuit, generation)
      if (shared === undefined) return core.flushThen(trial)
      return core.flushThen(
        Effect.flatMap(
          Effect.onInterrupt(restore(shared), () => Effect.sync(() => circuit.release(generation))),
          (granted) => (granted ? trial : refuseTrial(core, entry, fiber, generation))
        )
      )
    })
  )

/** A trial the circuit admitted but the store refused (another process holds the shared permit). */
const refuseTrial = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number
): Effect.Effect<never, CircuitOpenError> => {
  entry.circuit.refuseTrial(generation)
  return reject(core, entry, fiber, nowOf(fiber))
}

/**
 * The `protectStream` of one circuit: admission when the stream starts, the outcome when its scope closes.
 *
 * @internal
 */
export const streamProtector =
  (core: BreakerCore, entry: Entry, trialOnFirstItem: boolean): ProtectStream =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<A, E | CircuitOpenError, R> =>
    Stream.unwrap(
      Effect.uninterruptible(Effect.withFiber((fiber) => admitStream(core, entry, self, fiber, trialOnFirstItem)))
    )

const admitStream = <A, E, R>(
  core: BreakerCore,
  handedOut: Entry,
  self: Stream.Stream<A, E, R>,
  fiber: Fiber.Fiber<unknown, unknown>,
  trialOnFirstItem: boolean
): Effect.Effect<Stream.Stream<A, E | CircuitOpenError, R>> => {
  const entry = core.touch(handedOut)
  const circuit = entry.circuit
  const timed = circuit.needsClock()
  const start = timed ? nowOf(fiber) : 0
  const admission = core.store.admit(circuit, start)
  if (admission === Admission.Rejected) {
    return Effect.succeed(Stream.fromEffect(reject(core, entry, fiber, start)))
  }
  if (admission === Admission.Unrecorded) {
    noteShadowRejection(core, entry, fiber, start)
    return core.flushThen(Effect.succeed(self))
  }
  const generation = circuit.generation
  const trial = admission === Admission.Trial
  const isTimed = timed || trial
  // Whether a consumer that stops after the first item makes the stream a success; if not, only completion does.
  const earlyStopSucceeds = !trial || trialOnFirstItem
  let started = false
  let completed = false
  // One stage for both jobs: the pull notes the first chunk, the stream's scope records the outcome when it closes.
  const tracked: Stream.Stream<A, E, R> = Stream.transformPull(self, (pull, scope) =>
    Effect.as(
      Scope.addFinalizerExit(scope, (exit) =>
        Effect.withFiber((fiber) => {
          // A consumer that stopped early ends the stream by interruption: after the first item that is a success
          // (unless a trial must complete), before it nothing is recorded (and any permit goes back).
          const effective: Exit.Exit<unknown, unknown> = earlyStopSucceeds
            ? exit._tag === "Failure" && started && Cause.hasInterruptsOnly(exit.cause)
              ? Exit.void
              : exit
            : exit._tag === "Success" && !completed
              ? Exit.interrupt()
              : exit
          return settle(core, entry, fiber, generation, trial, start, isTimed, effective) ?? Effect.void
        })
      ),
      earlyStopSucceeds
        ? Effect.map(pull, (chunk) => {
            started = true
            return chunk
          })
        : Effect.onError(pull, (cause) =>
            Effect.sync(() => {
              completed = Pull.isDoneCause(cause)
            })
          )
    )
  ) as Stream.Stream<A, E, R>
  const admitted = core.flushThen(Effect.succeed(tracked))
  const shared = trial ? core.store.acquireTrial(circuit, generation) : undefined
  if (shared === undefined) return admitted
  return Effect.flatMap(shared, (granted): Effect.Effect<Stream.Stream<A, E | CircuitOpenError, R>> =>
    granted ? admitted : Effect.succeed(Stream.fromEffect(refuseTrial(core, entry, fiber, generation)))
  )
}
