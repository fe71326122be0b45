/**
 * Outcome reporting: every admitted call's end goes through `report` (the state machine through the store, metrics,
 * span, the `events` stream, then the transitions it caused); every refused call through `reject`.
 */
import { Cause, Effect, Exit } from "effect"
import type { Fiber } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import { Verdict } from "./circuit.ts"
import { type BreakerCore, type Entry, nowOf } from "./circuitBreakerCore.ts"
import { type CircuitOpenError, rejection } from "./circuitBreakerErrors.ts"
import { DROPPED } from "./circuitEviction.ts"

const outcomeOf = (verdict: Verdict): CB.Outcome =>
  verdict === Verdict.Success ? "success" : verdict === Verdict.Failure ? "failure" : "ignored"

/**
 * Records an outcome of a call admitted under `generation` and reports it; returns the logging to run, if any.
 * `now` is 0 when the outcome needed no clock (an untimed success without a rate window).
 *
 * @internal
 */
export const report = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number,
  trial: boolean,
  verdict: Verdict,
  slow: boolean,
  now: number,
  durationMillis: number | undefined,
  error: unknown
): Effect.Effect<void> | undefined => {
  if (entry.stamp === DROPPED) {
    // The circuit was dropped while the call ran: its outcome goes to the live circuit of its id.
    const live = core.revive(entry)
    generation = core.liveGeneration(entry, live, generation)
    entry = live
  }
  const circuit = entry.circuit
  core.store.record(circuit, generation, trial, verdict, slow, now, error)
  if (circuit.mode !== "disabled") {
    // The common case pays a field increment and two reads: the outcome's name is needed only by a span or an
    // `events` subscriber.
    core.metrics.record(entry, verdict, slow)
    if (durationMillis !== undefined) core.metrics.duration(durationMillis)
    if (fiber.cache.span !== undefined) core.annotate(fiber, circuit, outcomeOf(verdict))
    if (core.callSubscribers > 0) {
      core.publishCall(circuit, outcomeOf(verdict), slow, durationMillis ?? 0, now === 0 ? nowOf(fiber) : now)
    }
  }
  return core.flush()
}

/**
 * Classifies the exit of an admitted call and reports it; an interrupted call records nothing (a trial's permit
 * goes back). With `timed`, the call's duration since `start` is measured. Runs uninterruptibly.
 *
 * @internal
 */
export const settle = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number,
  trial: boolean,
  start: number,
  timed: boolean,
  exit: Exit.Exit<unknown, unknown>
): Effect.Effect<void> | undefined => {
  const policy = core.policy
  const circuit = entry.circuit
  let verdict: Verdict
  let error: unknown = undefined
  // A classifier that throws counts the call as a failure (`Circuit.callback` reports the throw).
  if (exit._tag === "Success") {
    verdict =
      policy.isFailureValue !== undefined && circuit.callback("isFailure", policy.isFailureValue, exit.value, true)
        ? Verdict.Failure
        : Verdict.Success
  } else {
    const reasons = exit.cause.reasons
    const fail = reasons.find(Cause.isFailReason)
    if (fail !== undefined) {
      error = fail.error
      verdict = circuit.callback("exclude", policy.isExcluded, error, false) ? Verdict.Ignored : Verdict.Failure
    } else {
      const die = reasons.find(Cause.isDieReason)
      if (die === undefined) {
        core.store.record(circuit, generation, trial, undefined, false, nowOf(fiber), undefined)
        return core.flush()
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
  return report(core, entry, fiber, generation, trial, verdict, slow, now, timed ? durationMillis : undefined, error)
}

/** The rejections `trialTimedOut` made: their trial is recorded already. */
const trialTimeouts = new WeakSet<object>()

/**
 * A HalfOpen trial cut off by `halfOpenTimeout` (`onTimeout: "interrupt"`): recorded as a failure, which reopens the
 * circuit (when nothing else moved it on meanwhile), and the caller is told so.
 *
 * @internal
 */
export const trialTimedOut = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  generation: number
): Effect.Effect<never, CircuitOpenError> =>
  Effect.suspend(() => {
    const now = nowOf(fiber)
    const logs = report(core, entry, fiber, generation, true, Verdict.Failure, false, now, undefined, undefined)
    const circuit = entry.circuit
    const error = rejection(core.domain, circuit.id, "Open", circuit.retryAfterMillis(now))
    trialTimeouts.add(error)
    return logs === undefined ? Effect.fail(error) : Effect.andThen(logs, Effect.fail(error))
  })

/** Whether a trial ended with the rejection `trialTimedOut` made (and so was recorded already). @internal */
export const isTrialTimeout = (exit: Exit.Exit<unknown, unknown>): boolean => {
  if (exit._tag !== "Failure") return false
  const fail = exit.cause.reasons.find(Cause.isFailReason)
  return fail !== undefined && typeof fail.error === "object" && fail.error !== null && trialTimeouts.has(fail.error)
}

/** A call the circuit refused (already counted by the circuit), reported everywhere but in the state machine. */
const reportRejection = (core: BreakerCore, entry: Entry, fiber: Fiber.Fiber<unknown, unknown>, now: number) => {
  core.metrics.rejected(entry)
  core.annotate(fiber, entry.circuit, "rejected")
  core.publishCall(entry.circuit, "rejected", false, 0, now)
}

/**
 * Fails with the `CircuitOpenError` of a refused call.
 *
 * @internal
 */
export const reject = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  now: number
): Effect.Effect<never, CircuitOpenError> => {
  reportRejection(core, entry, fiber, now)
  return core.flushThen(failWith(entry.rejection(core.domain, now)))
}

/** The last rejection and its `Exit`: one slot for the whole process. */
let lastRejection: { readonly error: CircuitOpenError; readonly exit: Exit.Exit<never, CircuitOpenError> } | undefined

/**
 * `Effect.fail(error)`, reusing the `Exit` of the last rejection: calls refused in a row share their error (see
 * `Entry.rejection`), and an `Exit` is an immutable value, so they may share its failure too. A new one is three
 * objects (reason, cause, exit): sharing it took a caught rejection to 0.65x-0.83x of its time in A/B runs.
 */
const failWith = (error: CircuitOpenError): Exit.Exit<never, CircuitOpenError> => {
  if (lastRejection?.error !== error) lastRejection = { error, exit: Exit.fail(error) }
  return lastRejection.exit
}

/**
 * In `metricsOnly`, a call the circuit would have refused runs anyway: it is reported as the rejection it was.
 *
 * @internal
 */
export const noteShadowRejection = (
  core: BreakerCore,
  entry: Entry,
  fiber: Fiber.Fiber<unknown, unknown>,
  now: number
): void => {
  if (entry.circuit.mode === "metricsOnly") reportRejection(core, entry, fiber, now)
}
