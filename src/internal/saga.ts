import { Effect, Option, Schedule, Schema } from "effect"
import type { Context } from "effect"
import { dual } from "effect/Function"
import { pipeArguments } from "effect/Pipeable"
import { Workflow } from "effect/workflow"
import type { CircuitBreaker } from "../CircuitBreaker.ts"
import { InvalidSagaOptions } from "./sagaErrors.ts"
import type { ContextSchema, Result } from "./sagaModel.ts"
import { actOutcomeSchema, resultSchema } from "./sagaModel.ts"
import type { Plan, StepDef } from "./sagaRun.ts"
import { execute } from "./sagaRun.ts"

/** @internal */
export const TypeId = "~effect-fallback/Saga" as const
/** @internal */
export const StepTypeId = "~effect-fallback/Saga/Step" as const

type Combinator = InvalidSagaOptions["combinator"]

const invalid = (combinator: Combinator, field: string, expected: string, value: unknown): never => {
  throw new InvalidSagaOptions({ combinator, field, expected, value })
}

const requireName = (combinator: Combinator, field: string, value: unknown): string =>
  typeof value === "string" && value.length > 0 ? value : invalid(combinator, field, "a non-empty string", value)

const requireFunction = (combinator: Combinator, field: string, value: unknown) =>
  typeof value === "function" ? value : invalid(combinator, field, "a function", value)

const constVoid = () => Effect.void

const StepProto = {
  [StepTypeId]: { _C: (_: never) => _, _E: (_: never) => _, _R: (_: never) => _ },
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const makeStep = (fields: StepDef): StepDef => Object.assign(Object.create(StepProto), fields)

const isStep = (value: unknown): value is StepDef => typeof value === "object" && value !== null && StepTypeId in value

/** @internal */
export const step = (name: string, options: { readonly act: unknown; readonly compensate?: unknown }): StepDef => {
  requireName("Saga.step", "name", name)
  if (typeof options !== "object" || options === null) invalid("Saga.step", "options", "an object", options)
  const act = requireFunction("Saga.step", "act", options.act) as StepDef["act"]
  const compensate =
    options.compensate === undefined
      ? constVoid
      : (requireFunction("Saga.step", "compensate", options.compensate) as StepDef["compensate"])
  return makeStep({ name, act, compensate, fallback: undefined })
}

const tagMatcher = (tags: ReadonlyArray<string>) => {
  const set = new Set<unknown>(tags)
  return (error: unknown): boolean =>
    typeof error === "object" && error !== null && set.has((error as { readonly _tag?: unknown })._tag)
}

interface RawFallbackOptions {
  readonly on?: ReadonlyArray<string> | ((error: unknown) => boolean) | undefined
  readonly breaker?: Context.Key<unknown, CircuitBreaker> | undefined
  readonly id?: string | undefined
}

const matcherOf = (on: RawFallbackOptions["on"]): ((error: unknown) => boolean) => {
  if (on === undefined) return () => true
  if (typeof on === "function") return on
  if (Array.isArray(on) && on.length > 0 && on.every((tag) => typeof tag === "string")) return tagMatcher(on)
  return invalid("Saga.withFallback", "on", "a non-empty array of _tags or a predicate", on)
}

/** @internal */
export const withFallback = dual(
  (args) => isStep(args[0]) && isStep(args[1]),
  (self: StepDef, fallback: StepDef, options?: RawFallbackOptions): StepDef => {
    if (!isStep(fallback)) invalid("Saga.withFallback", "fallback", "a step built by Saga.step", fallback)
    if (self.fallback !== undefined) invalid("Saga.withFallback", "step", "a step without a fallback", self.name)
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      invalid("Saga.withFallback", "options", "an object", options)
    }
    const matches = matcherOf(options?.on)
    const id = options?.id
    if (id !== undefined) requireName("Saga.withFallback", "id", id)
    const breaker = options?.breaker
    if (breaker !== undefined) {
      if (!Effect.isEffect(breaker))
        invalid("Saga.withFallback", "breaker", "the service key of a CircuitBreaker", breaker)
      if (id === undefined) invalid("Saga.withFallback", "id", "the circuit id when a breaker is given", id)
    }
    return makeStep({ ...self, fallback: { step: fallback, matches, breaker, id } })
  }
)

/** @internal */
export interface SagaDef extends Plan {
  readonly [TypeId]: typeof TypeId
  readonly context: ContextSchema<unknown>
  readonly workflow: Workflow.Workflow<string, any, Schema.Codec<Result<unknown>, any>, typeof Schema.Never>
  /** The same workflow tag keyed only by the user's id: computes execution ids without a context. */
  readonly lookup: Workflow.Workflow<string, any, any, any>
}

const SagaProto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const collectNames = (steps: ReadonlyArray<StepDef>): Array<string> => {
  const names: Array<string> = []
  const visit = (step: StepDef) => {
    names.push(step.name)
    if (step.fallback !== undefined) visit(step.fallback.step)
  }
  steps.forEach(visit)
  return names
}

/** Three attempts in all, 1 s then 2 s apart (python-cqrs: `compensation_retry_count` 3, delay 1 s, backoff 2). */
const defaultCompensationRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.upTo({ times: 2 })
)

/** @internal */
export const make = (
  name: string,
  options: {
    readonly context: unknown
    readonly steps: ReadonlyArray<unknown> | ((stepConstructor: typeof step) => ReadonlyArray<unknown>)
    readonly compensationRetry?: Schedule.Schedule<unknown, unknown> | undefined
  }
): SagaDef => {
  requireName("Saga.make", "name", name)
  if (typeof options !== "object" || options === null) invalid("Saga.make", "options", "an object", options)
  if (!Schema.isSchema(options.context)) invalid("Saga.make", "context", "a Schema", options.context)
  const steps = typeof options.steps === "function" ? options.steps(step) : options.steps
  if (!Array.isArray(steps) || steps.length === 0 || !steps.every(isStep)) {
    invalid("Saga.make", "steps", "a non-empty array of steps built by Saga.step", steps)
  }
  const names = collectNames(steps as ReadonlyArray<StepDef>)
  const duplicate = names.find((stepName, i) => names.indexOf(stepName) !== i)
  if (duplicate !== undefined) invalid("Saga.make", "steps", "steps with distinct names", duplicate)
  const compensationRetry = options.compensationRetry ?? defaultCompensationRetry
  if (!Schedule.isSchedule(compensationRetry)) {
    invalid("Saga.make", "compensationRetry", "a Schedule", compensationRetry)
  }
  const context = options.context as ContextSchema<unknown>
  const workflow = Workflow.make(name, {
    payload: { key: Schema.String, context },
    idempotencyKey: (payload: { readonly key: string }) => payload.key,
    success: resultSchema(context)
  })
  const lookup = Workflow.make(name, {
    payload: { key: Schema.String },
    idempotencyKey: (payload: { readonly key: string }) => payload.key
  })
  return Object.assign(Object.create(SagaProto), {
    name,
    context,
    steps: steps as ReadonlyArray<StepDef>,
    compensationRetry,
    actOutcome: actOutcomeSchema(context),
    encodeContext: Schema.encodeUnknownEffect(Schema.toCodecJson(context)),
    workflow,
    lookup
  })
}

/** @internal */
export const layer = (saga: SagaDef) =>
  saga.workflow.toLayer((payload: { readonly key: string; readonly context: unknown }) =>
    execute(saga, payload.key, payload.context)
  )

/** @internal */
export const run = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && TypeId in args[0],
  (saga: SagaDef, context: unknown, options: { readonly executionId: string }) =>
    Effect.suspend(() => {
      const executionId = requireName("Saga.run", "executionId", options?.executionId)
      return saga.workflow
        .execute({ key: executionId, context })
        .pipe(Effect.withSpan("Saga.run", { attributes: { "saga.name": saga.name, "saga.execution_id": executionId } }))
    })
)

/** @internal */
export const engineExecutionId = (saga: SagaDef, executionId: string): Effect.Effect<string> =>
  saga.lookup.executionId({ key: executionId })

/** @internal */
export const status = (saga: SagaDef, executionId: string) =>
  Effect.suspend(() => {
    requireName("Saga.status", "executionId", executionId)
    return Effect.flatMap(engineExecutionId(saga, executionId), (id) => saga.workflow.poll(id))
  }).pipe(
    Effect.map((polled) =>
      Option.flatMap(polled, (result) =>
        result._tag === "Complete" && result.exit._tag === "Success" ? Option.some(result.exit.value) : Option.none()
      )
    )
  )
