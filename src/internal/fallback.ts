import type { Fiber } from "effect"
import { Cause, Context, Effect, LogLevel, Stream } from "effect"
import { dual } from "effect/Function"
import type { CircuitBreaker } from "../CircuitBreaker.ts"
import { describeFailure, isTagList, tagMatcher } from "./failure.ts"
import { InvalidFallbackOptions } from "./fallbackErrors.ts"
import { isRejectionOf } from "./rejection.ts"

type Combinator = "Fallback.orElse" | "Fallback.stream"
type AnyEffect = Effect.Effect<unknown, unknown, unknown>
type AnyStream = Stream.Stream<unknown, unknown, unknown>
type BreakerKey = Context.Key<unknown, CircuitBreaker>

interface RawOptions {
  readonly on?: ReadonlyArray<string> | ((error: unknown) => boolean) | undefined
  readonly defects?: boolean | undefined
  readonly breaker?: BreakerKey | undefined
  readonly id?: string | undefined
}

/** The options of one `orElse` / `stream` call, validated and turned into what the handlers need. */
interface Plan {
  /** Does a typed failure of the primary fall back? */
  readonly matches: (error: unknown) => boolean
  readonly defects: boolean
  readonly breaker: BreakerKey | undefined
  readonly id: string | undefined
  /** Log annotations identifying this fallback. */
  readonly labels: Readonly<Record<string, string>>
  readonly activatedMessage: string
}

const constTrue = (): boolean => true

const invalid = (combinator: Combinator, field: string, expected: string, value: unknown): never => {
  throw new InvalidFallbackOptions({ combinator, field, expected, value })
}

const makePlan = (combinator: Combinator, options: RawOptions | undefined): Plan => {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    invalid(combinator, "options", "an object", options)
  }
  const on = options?.on
  let matches: (error: unknown) => boolean = constTrue
  if (Array.isArray(on)) {
    if (!isTagList(on)) invalid(combinator, "on", "a non-empty array of _tags or a predicate", on)
    matches = tagMatcher(on)
  } else if (typeof on === "function") {
    matches = on
  } else if (on !== undefined) {
    invalid(combinator, "on", "a non-empty array of _tags or a predicate", on)
  }
  const defects = options?.defects ?? false
  if (typeof defects !== "boolean") invalid(combinator, "defects", "a boolean", defects)
  const id = options?.id
  if (id !== undefined && (typeof id !== "string" || id.length === 0)) {
    invalid(combinator, "id", "a non-empty string", id)
  }
  const breaker = options?.breaker
  if (breaker !== undefined) {
    if (!Effect.isEffect(breaker)) invalid(combinator, "breaker", "the service key of a CircuitBreaker", breaker)
    if (id === undefined) invalid(combinator, "id", "the circuit id when a breaker is given", id)
  }
  const labels: Record<string, string> = id === undefined ? {} : { "fallback.id": id }
  return {
    matches,
    defects,
    breaker,
    id,
    labels,
    activatedMessage: id === undefined ? "Fallback activated" : `Fallback activated for ${id}`
  }
}

/** Marks the current span with the activation; a direct attribute write keeps the rejection path cheap. */
const annotateActivation = (fiber: Fiber.Fiber<unknown, unknown>, plan: Plan, trigger: unknown): void => {
  const span = fiber.cache.span
  if (span === undefined || span._tag !== "Span" || span.status._tag === "Ended") return
  span.attribute("fallback.activated", true)
  span.attribute("fallback.trigger", describeFailure(trigger))
  if (plan.id !== undefined) span.attribute("fallback.id", plan.id)
}

/** The Debug line of an activation, or `undefined` when Debug is filtered out (the common case in production). */
const activationLog = (
  fiber: Fiber.Fiber<unknown, unknown>,
  plan: Plan,
  trigger: unknown
): Effect.Effect<void> | undefined =>
  LogLevel.isGreaterThan(fiber.cache.minimumLogLevel, "Debug")
    ? undefined
    : Effect.logDebug(plan.activatedMessage, describeFailure(trigger))

const causeOfTrigger = (trigger: unknown, primaryCause: Cause.Cause<unknown> | undefined): Cause.Cause<unknown> =>
  primaryCause ?? Cause.fail(trigger)

/**
 * The fallback failed too: the call fails with the fallback's failure, and the primary's failure is logged and
 * annotated on the current span so that it is never lost.
 */
const reportFailedFallback = <E>(
  plan: Plan,
  trigger: unknown,
  primaryCause: Cause.Cause<unknown> | undefined,
  fallbackCause: Cause.Cause<E>
): Effect.Effect<never, E> => {
  if (Cause.hasInterruptsOnly(fallbackCause)) return Effect.failCause(fallbackCause)
  const primary = describeFailure(trigger)
  const failure = Cause.squash(fallbackCause)
  const primaryFailure = causeOfTrigger(trigger, primaryCause)
  return Effect.logWarning("Fallback failed; the primary's failure follows", primaryFailure).pipe(
    Effect.annotateLogs({
      ...plan.labels,
      "fallback.primary.failure": primary,
      "fallback.failure": describeFailure(failure)
    }),
    Effect.andThen(
      Effect.annotateCurrentSpan({
        "fallback.failed": true,
        "fallback.primary.failure": primary,
        "fallback.failure": describeFailure(failure)
      })
    ),
    Effect.andThen(Effect.failCause(fallbackCause))
  )
}

/**
 * The first reason that triggers a fallback under `defects: true`: a defect, else a matching typed failure.
 * Interruption alone never does.
 */
const NoTrigger: unique symbol = Symbol.for("effect-fallback/NoTrigger")
const selectTrigger =
  (plan: Plan, isRejection: ((error: unknown) => boolean) | undefined) =>
  (cause: Cause.Cause<unknown>): unknown => {
    let failure: unknown = NoTrigger
    for (const reason of cause.reasons) {
      if (reason._tag === "Die") return reason.defect
      if (reason._tag === "Fail" && failure === NoTrigger) failure = reason.error
    }
    if (failure === NoTrigger) return NoTrigger
    return isRejection?.(failure) || plan.matches(failure) ? failure : NoTrigger
  }

const matcherWith = (plan: Plan, isRejection: ((error: unknown) => boolean) | undefined) =>
  isRejection === undefined ? plan.matches : (error: unknown): boolean => isRejection(error) || plan.matches(error)

// ---------------------------------------------------------------------------------------------------------------
// Effect
// ---------------------------------------------------------------------------------------------------------------

const effectFallback = (combinator: Combinator, fallback: unknown): ((trigger: unknown) => AnyEffect) => {
  if (Effect.isEffect(fallback)) return () => fallback
  if (typeof fallback === "function") return fallback as (trigger: unknown) => AnyEffect
  return invalid(combinator, "fallback", "an Effect or a function returning one", fallback)
}

const activateEffect = (
  plan: Plan,
  build: (trigger: unknown) => AnyEffect,
  trigger: unknown,
  primaryCause: Cause.Cause<unknown> | undefined
): AnyEffect =>
  Effect.withFiber((fiber) => {
    annotateActivation(fiber, plan, trigger)
    const guarded = Effect.catchCause(build(trigger), (cause) =>
      reportFailedFallback(plan, trigger, primaryCause, cause)
    )
    const log = activationLog(fiber, plan, trigger)
    return log === undefined ? guarded : Effect.andThen(log, guarded)
  })

/** Built once per breaker instance (or once per call without a breaker): runs reuse the same Effect. */
const recoverEffect = (
  plan: Plan,
  build: (trigger: unknown) => AnyEffect,
  primary: AnyEffect,
  isRejection: ((error: unknown) => boolean) | undefined
): AnyEffect => {
  if (plan.defects) {
    const select = selectTrigger(plan, isRejection)
    return Effect.catchCause(primary, (cause) => {
      const trigger = select(cause)
      return trigger === NoTrigger ? Effect.failCause(cause) : activateEffect(plan, build, trigger, cause)
    })
  }
  return Effect.catchIf(primary, matcherWith(plan, isRejection), (error) =>
    activateEffect(plan, build, error, undefined)
  )
}

const guardedEffect = (plan: Plan, build: (trigger: unknown) => AnyEffect, primary: AnyEffect): AnyEffect => {
  const key = plan.breaker
  if (key === undefined) return recoverEffect(plan, build, primary, undefined)
  const id = plan.id as string
  let cachedBreaker: CircuitBreaker | undefined
  let cached: AnyEffect = primary
  // A direct context read: `Effect.flatMap(key, ...)` would double what the combinator adds to `protect`.
  return Effect.withFiber((fiber) => {
    const breaker = Context.getUnsafe(fiber.context as Context.Context<unknown>, key)
    if (breaker !== cachedBreaker) {
      cached = recoverEffect(plan, build, breaker.protect(id)(primary), isRejectionOf(breaker, id))
      cachedBreaker = breaker
    }
    return cached
  })
}

/**
 * `orElse`'s decision with its options checked once, for a primary that someone else runs (the Mediator runs a
 * fallback binding's primary as an attempt of the call, on that call's message, and hands its failure here).
 *
 * @internal
 */
export interface Recovery {
  readonly breaker: BreakerKey | undefined
  readonly id: string | undefined
  /** The check "this failure is the rejection of this recovery's circuit by `breaker`" (kept per breaker). */
  readonly rejectionOf: (breaker: CircuitBreaker) => (error: unknown) => boolean
  /**
   * The effect that answers the primary's failure `cause` through `fallback`, as `orElse` would; `undefined` when
   * the cause is not one that falls back (it passes through as is).
   */
  readonly recover: (
    cause: Cause.Cause<unknown>,
    isRejection: ((error: unknown) => boolean) | undefined,
    fallback: (trigger: unknown) => AnyEffect
  ) => AnyEffect | undefined
}

/** @internal */
export const prepareRecovery = (options: RawOptions | undefined): Recovery => {
  const plan = makePlan("Fallback.orElse", options)
  let cachedBreaker: CircuitBreaker | undefined
  let cachedRejection: (error: unknown) => boolean = constTrue
  return {
    breaker: plan.breaker,
    id: plan.id,
    rejectionOf: (breaker) => {
      if (breaker !== cachedBreaker) {
        cachedRejection = isRejectionOf(breaker, plan.id as string)
        cachedBreaker = breaker
      }
      return cachedRejection
    },
    recover: (cause, isRejection, fallback) => {
      if (plan.defects) {
        const trigger = selectTrigger(plan, isRejection)(cause)
        return trigger === NoTrigger ? undefined : activateEffect(plan, fallback, trigger, cause)
      }
      // As `Effect.catchIf`: a cause holding a defect passes; otherwise its first typed failure is tested.
      let failure: unknown = NoTrigger
      for (const reason of cause.reasons) {
        if (reason._tag === "Die") return undefined
        if (reason._tag === "Fail" && failure === NoTrigger) failure = reason.error
      }
      if (failure === NoTrigger || !(isRejection?.(failure) || plan.matches(failure))) return undefined
      return activateEffect(plan, fallback, failure, undefined)
    }
  }
}

const isDataFirstEffect = (args: IArguments): boolean => Effect.isEffect(args[1]) || typeof args[1] === "function"

/** @internal */
export const orElse = dual(isDataFirstEffect, (self: AnyEffect, fallback: unknown, options?: RawOptions): AnyEffect => {
  const plan = makePlan("Fallback.orElse", options)
  if (!Effect.isEffect(self)) invalid("Fallback.orElse", "self", "an Effect", self)
  return guardedEffect(plan, effectFallback("Fallback.orElse", fallback), self)
})

// ---------------------------------------------------------------------------------------------------------------
// Stream
// ---------------------------------------------------------------------------------------------------------------

type StreamBuilder = (trigger: unknown, progress: { readonly emitted: number }) => AnyStream

const NoProgress: { readonly emitted: number } = Object.freeze({ emitted: 0 })

const activateStream = (
  plan: Plan,
  build: StreamBuilder,
  trigger: unknown,
  primaryCause: Cause.Cause<unknown> | undefined,
  emitted: number
): AnyStream =>
  Stream.unwrap(
    Effect.withFiber((fiber) => {
      annotateActivation(fiber, plan, trigger)
      const guarded = Stream.catchCause(build(trigger, emitted === 0 ? NoProgress : { emitted }), (cause) =>
        Stream.fromEffect(reportFailedFallback(plan, trigger, primaryCause, cause))
      )
      const log = activationLog(fiber, plan, trigger)
      return Effect.succeed(log === undefined ? guarded : Stream.concat(Stream.fromEffectDrain(log), guarded))
    })
  )

/** Counts delivered items per chunk, for fallback functions that resume; streams given as values skip it. */
class Progress {
  emitted = 0
  readonly count = <A>(chunk: A): A => {
    this.emitted += (chunk as ReadonlyArray<unknown>).length
    return chunk
  }
}

const recoverStream = (
  plan: Plan,
  build: StreamBuilder,
  primary: AnyStream,
  isRejection: ((error: unknown) => boolean) | undefined,
  progress: Progress | undefined
): AnyStream => {
  const counted = progress === undefined ? primary : Stream.mapArray(primary, progress.count)
  const emitted = (): number => (progress === undefined ? 0 : progress.emitted)
  if (plan.defects) {
    const select = selectTrigger(plan, isRejection)
    return Stream.catchCause(counted, (cause) => {
      const trigger = select(cause)
      return trigger === NoTrigger ? Stream.failCause(cause) : activateStream(plan, build, trigger, cause, emitted())
    })
  }
  return Stream.catchIf(counted, matcherWith(plan, isRejection), (error) =>
    activateStream(plan, build, error, undefined, emitted())
  )
}

const guardedStream = (plan: Plan, fallback: unknown, primary: AnyStream): AnyStream => {
  const resumes = typeof fallback === "function"
  const build: StreamBuilder = resumes ? (fallback as StreamBuilder) : () => fallback as AnyStream
  // A value fallback never reads the progress, so the stream is built once and no item is counted.
  const recover = (source: AnyStream, isRejection: ((error: unknown) => boolean) | undefined): AnyStream =>
    resumes
      ? Stream.suspend(() => recoverStream(plan, build, source, isRejection, new Progress()))
      : recoverStream(plan, build, source, isRejection, undefined)
  const key = plan.breaker
  if (key === undefined) return recover(primary, undefined)
  const id = plan.id as string
  let cachedBreaker: CircuitBreaker | undefined
  let cached: AnyStream = primary
  return Stream.unwrap(
    Effect.map(key, (breaker) => {
      if (breaker !== cachedBreaker) {
        cached = recover(breaker.protectStream(id)(primary), isRejectionOf(breaker, id))
        cachedBreaker = breaker
      }
      return cached
    })
  )
}

const isDataFirstStream = (args: IArguments): boolean => Stream.isStream(args[1]) || typeof args[1] === "function"

/** @internal */
export const stream = dual(isDataFirstStream, (self: AnyStream, fallback: unknown, options?: RawOptions): AnyStream => {
  const plan = makePlan("Fallback.stream", options)
  if (!Stream.isStream(self)) invalid("Fallback.stream", "self", "a Stream", self)
  if (!Stream.isStream(fallback) && typeof fallback !== "function") {
    invalid("Fallback.stream", "fallback", "a Stream or a function returning one", fallback)
  }
  return guardedStream(plan, fallback, self)
})

/**
 * `stream` with its options checked once, for primaries built per call (the Mediator's streaming fallback bindings).
 *
 * @internal
 */
export const prepareStream = (
  options: RawOptions | undefined
): ((primary: AnyStream, fallback: StreamBuilder) => AnyStream) => {
  const plan = makePlan("Fallback.stream", options)
  return (primary, fallback) => guardedStream(plan, fallback, primary)
}
