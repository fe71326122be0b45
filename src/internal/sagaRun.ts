/**
 * The workflow body of a saga: every step and every compensation is an `Activity`, so the engine stores its outcome
 * and a replayed execution gets the stored outcome instead of running the step again. Activities never fail: they
 * store a plain outcome (the next context, or a `StepError` and whether the fallback runs), decided inside the
 * activity, so nothing the engine stores depends on a class instance.
 */
import { Cause, Effect } from "effect"
import type { Context, Schedule, Schema } from "effect"
import { Activity } from "effect/workflow"
import type { CircuitBreaker, CircuitOpenError } from "../CircuitBreaker.ts"
import type {
  ActOutcome,
  CompensationOutcome,
  ContextSchema,
  FailedCompensation,
  Result,
  StepError
} from "./sagaModel.ts"
import { CompensationOutcome as CompensationOutcomeSchema, describeStepError, toStepError } from "./sagaModel.ts"
import { count, metrics } from "./sagaMetrics.ts"

type AnyEffect = Effect.Effect<unknown, unknown, unknown>

/** @internal */
export interface FallbackDef {
  readonly step: StepDef
  readonly matches: (error: unknown) => boolean
  readonly breaker: Context.Key<unknown, CircuitBreaker> | undefined
  readonly id: string | undefined
}

/** @internal */
export interface StepDef {
  readonly name: string
  readonly act: (context: unknown) => AnyEffect
  readonly compensate: (context: unknown) => AnyEffect
  readonly fallback: FallbackDef | undefined
}

/** What the body needs of a saga. @internal */
export interface Plan {
  readonly name: string
  readonly steps: ReadonlyArray<StepDef>
  readonly actOutcome: ContextSchema<ActOutcome<unknown>>
  /** Checks, inside the step's activity, that the context a step returned can be stored. */
  readonly encodeContext: (context: unknown) => Effect.Effect<unknown, Schema.SchemaError>
  readonly compensationRetry: Schedule.Schedule<unknown, unknown>
}

/** A plan with the execution it runs: the user's execution id labels logs and spans, activities included. */
interface Run extends Plan {
  readonly executionId: string
}

interface Ran {
  readonly step: StepDef
  /** The context the step returned: what its compensation receives. */
  readonly context: unknown
}

type StepOutcome =
  | { readonly _tag: "Done"; readonly step: StepDef; readonly context: unknown }
  | { readonly _tag: "Failed"; readonly step: StepDef; readonly error: StepError }

const isRejectionOf = (fallback: FallbackDef, error: unknown): boolean =>
  typeof error === "object" &&
  error !== null &&
  (error as { readonly _tag?: unknown })._tag === "CircuitOpenError" &&
  (error as CircuitOpenError).id === fallback.id

const selects = (fallback: FallbackDef, error: unknown): boolean => {
  if (isRejectionOf(fallback, error)) return true
  try {
    return fallback.matches(error) === true
  } catch {
    return false // a throwing `on` predicate selects nothing: the step fails with its own error
  }
}

const throughBreaker = (fallback: FallbackDef | undefined, effect: AnyEffect): AnyEffect => {
  const key = fallback?.breaker
  if (key === undefined || fallback?.id === undefined) return effect
  const id = fallback.id
  return Effect.flatMap(key as unknown as Effect.Effect<CircuitBreaker>, (breaker) => breaker.protect(id)(effect))
}

const spanAttributes = (plan: Run, step: string) => ({
  "saga.name": plan.name,
  "saga.step": step,
  "saga.execution_id": plan.executionId
})

/** Activities may run on another fiber than the execution's (the cluster engine's): they annotate their own logs. */
const annotated = (plan: Run) => Effect.annotateLogs({ saga: plan.name, "saga.execution_id": plan.executionId })

/** Runs `step.act` once, as an activity; `fallbackOf` names the primary this step stands in for. */
const actActivity = (plan: Run, step: StepDef, context: unknown, fallbackOf: string | undefined) =>
  Activity.make({
    name: `act:${step.name}`,
    success: plan.actOutcome,
    execute: Effect.suspend(() => throughBreaker(step.fallback, step.act(context))).pipe(
      Effect.matchCauseEffect({
        onSuccess: (next): Effect.Effect<ActOutcome<unknown>> =>
          plan.encodeContext(next).pipe(
            Effect.matchEffect({
              onFailure: (error) =>
                Effect.as(
                  Effect.andThen(
                    count(metrics.stepFailures, { saga: plan.name, step: step.name }),
                    Effect.logWarning(`Saga ${plan.name}: step ${step.name} returned a context the schema rejects`)
                  ),
                  { _tag: "Failed" as const, error: toStepError(Cause.fail(error)), fallback: false }
                ),
              onSuccess: () =>
                fallbackOf === undefined
                  ? Effect.succeed({ _tag: "Done" as const, context: next })
                  : Effect.as(count(metrics.fallbacks, { saga: plan.name, step: fallbackOf, fallback: step.name }), {
                      _tag: "Done" as const,
                      context: next
                    })
            })
          ),
        onFailure: (cause): Effect.Effect<ActOutcome<unknown>> => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          const error = toStepError(cause)
          const typed = Cause.findErrorOption(cause)
          const fallback = step.fallback !== undefined && typed._tag === "Some" && selects(step.fallback, typed.value)
          return Effect.as(
            Effect.andThen(
              count(metrics.stepFailures, { saga: plan.name, step: step.name }),
              Effect.logWarning(`Saga ${plan.name}: step ${step.name} failed (${describeStepError(error)})`)
            ),
            { _tag: "Failed" as const, error, fallback }
          )
        }
      }),
      annotated(plan),
      Effect.withSpan(`Saga.step ${step.name}`, { attributes: spanAttributes(plan, step.name) })
    )
  })

/** Runs a step, then its fallback (with the same context) when the step's failure selects it. */
const runStep = (
  plan: Run,
  step: StepDef,
  context: unknown,
  fallbackOf: string | undefined
): Effect.Effect<StepOutcome, never, any> =>
  Effect.flatMap(actActivity(plan, step, context, fallbackOf), (outcome) => {
    if (outcome._tag === "Done") return Effect.succeed({ _tag: "Done", step, context: outcome.context } as const)
    const fallback = step.fallback
    if (!outcome.fallback || fallback === undefined) {
      return Effect.succeed({ _tag: "Failed", step, error: outcome.error } as const)
    }
    return Effect.andThen(
      Effect.logInfo(`Saga ${plan.name}: running fallback ${fallback.step.name} for step ${step.name}`),
      runStep(plan, fallback.step, context, step.name)
    )
  })

/** Runs `step.compensate` as an activity, retried on `plan.compensationRetry`; stores the outcome, never fails. */
const compensationActivity = (plan: Run, step: StepDef, context: unknown) =>
  Activity.make({
    name: `compensate:${step.name}`,
    success: CompensationOutcomeSchema,
    execute: Effect.suspend(() => {
      let attempts = 0
      const attempt = Effect.suspend(() => {
        attempts++
        return step.compensate(context)
      }).pipe(
        Effect.sandbox,
        Effect.tapError((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.void
            : Effect.logWarning(
                `Saga ${plan.name}: compensation of ${step.name} failed on attempt ${attempts} (${describeStepError(
                  toStepError(cause)
                )})`
              )
        )
      )
      return attempt.pipe(
        Effect.retry({ schedule: plan.compensationRetry, while: (cause) => !Cause.hasInterruptsOnly(cause) }),
        Effect.matchEffect({
          onSuccess: (): Effect.Effect<CompensationOutcome> =>
            Effect.as(
              Effect.andThen(
                count(metrics.compensations, { saga: plan.name, step: step.name, outcome: "compensated" }),
                Effect.logInfo(`Saga ${plan.name}: compensated ${step.name}`)
              ),
              { _tag: "Compensated" as const, attempts }
            ),
          onFailure: (cause): Effect.Effect<CompensationOutcome> => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
            const error = toStepError(cause)
            return Effect.as(
              Effect.andThen(
                count(metrics.compensations, { saga: plan.name, step: step.name, outcome: "failed" }),
                Effect.logError(
                  `Saga ${plan.name}: compensation of ${step.name} still failing after ${attempts} attempts ` +
                    `(${describeStepError(error)}); the saga ends CompensationFailed`
                )
              ),
              { _tag: "Failed" as const, error, attempts }
            )
          }
        }),
        annotated(plan),
        Effect.withSpan(`Saga.compensate ${step.name}`, { attributes: spanAttributes(plan, step.name) })
      )
    })
  })

/** Compensates the steps that ran, last first, each once; a compensation that keeps failing does not stop the rest. */
const compensateAll = Effect.fnUntraced(function* (
  plan: Run,
  ran: ReadonlyArray<Ran>,
  failure: Extract<StepOutcome, { _tag: "Failed" }>,
  context: unknown
) {
  yield* Effect.logWarning(
    `Saga ${plan.name}: failed at step ${failure.step.name} (${describeStepError(failure.error)}); ` +
      `compensating ${ran.length} step(s)`
  )
  const compensated: Array<string> = []
  const failedCompensations: Array<FailedCompensation> = []
  for (let i = ran.length - 1; i >= 0; i--) {
    const { context: stepContext, step } = ran[i]!
    const outcome = yield* compensationActivity(plan, step, stepContext)
    if (outcome._tag === "Compensated") compensated.push(step.name)
    else failedCompensations.push({ step: step.name, error: outcome.error, attempts: outcome.attempts })
  }
  const base = {
    executionId: plan.executionId,
    step: failure.step.name,
    error: failure.error,
    context,
    steps: ran.map((entry) => entry.step.name),
    compensated
  }
  if (failedCompensations.length === 0) {
    yield* count(metrics.sagas, { saga: plan.name, outcome: "failed" })
    return { _tag: "SagaFailed", ...base } satisfies Result<unknown>
  }
  yield* count(metrics.sagas, { saga: plan.name, outcome: "compensation_failed" })
  return { _tag: "CompensationFailed", ...base, failedCompensations } satisfies Result<unknown>
})

/** The workflow body of a saga execution. @internal */
export const execute = (
  definition: Plan,
  executionId: string,
  initial: unknown
): Effect.Effect<Result<unknown>, never, any> => {
  const plan: Run = { ...definition, executionId }
  return Effect.gen(function* () {
    const ran: Array<Ran> = []
    let context = initial
    for (const step of plan.steps) {
      const outcome = yield* runStep(plan, step, context, undefined)
      if (outcome._tag === "Failed") return yield* compensateAll(plan, ran, outcome, context)
      ran.push({ step: outcome.step, context: outcome.context })
      context = outcome.context
    }
    yield* count(metrics.sagas, { saga: plan.name, outcome: "completed" })
    return { _tag: "Completed", executionId, context, steps: ran.map((entry) => entry.step.name) } as Result<unknown>
  }).pipe(
    Effect.annotateLogs({ saga: plan.name, "saga.execution_id": executionId }),
    Effect.withSpan(`Saga ${plan.name}`, { attributes: { "saga.name": plan.name, "saga.execution_id": executionId } })
  )
}
