/**
 * What a saga reports and what its engine stores: plain, encodable values (an error becomes a `StepError`, never a
 * class instance), built from the saga's context schema.
 */
import { Cause, Schema } from "effect"
import { failureDetail, failureName } from "./failure.ts"

/** @internal */
export interface StepError {
  /** The failure's `_tag`, or its `Error` name, or `"Defect"` for a thrown value without one. */
  readonly tag: string
  readonly message: string
  /** The step died (threw, rejected, `Effect.die`) rather than failed with a typed error. */
  readonly defect: boolean
}

/** @internal */
export const StepError: Schema.Codec<StepError> = Schema.Struct({
  tag: Schema.String,
  message: Schema.String,
  defect: Schema.Boolean
})

/** @internal */
export interface FailedCompensation {
  readonly step: string
  readonly error: StepError
  /** How many times the compensation ran before the retry schedule gave up. */
  readonly attempts: number
}

/** @internal */
export interface Completed<C> {
  readonly _tag: "Completed"
  readonly executionId: string
  /** The context returned by the last step. */
  readonly context: C
  /** The steps that ran, in order (a fallback that replaced its primary is listed under its own name). */
  readonly steps: ReadonlyArray<string>
}

/** @internal */
export interface SagaFailed<C> {
  readonly _tag: "SagaFailed"
  readonly executionId: string
  /** The step that failed (the fallback's name when a fallback ran and failed). */
  readonly step: string
  readonly error: StepError
  /** The context the failed step was given. */
  readonly context: C
  /** The steps that completed before the failure, in order. */
  readonly steps: ReadonlyArray<string>
  /** The steps whose compensation succeeded, in the order they were compensated (reverse order). */
  readonly compensated: ReadonlyArray<string>
}

/** @internal */
export interface CompensationFailed<C> extends Omit<SagaFailed<C>, "_tag"> {
  readonly _tag: "CompensationFailed"
  /** The compensations that still failed after their retry schedule. */
  readonly failedCompensations: ReadonlyArray<FailedCompensation>
}

/** @internal */
export type Result<C> = Completed<C> | SagaFailed<C> | CompensationFailed<C>

/** @internal */
export type ContextSchema<C> = Schema.Codec<C, any>

const Steps = Schema.Array(Schema.String)

/** The schema of a saga's result, stored by the engine as the workflow's success. @internal */
export const resultSchema = <C>(context: ContextSchema<C>): Schema.Codec<Result<C>, any> => {
  const failed = {
    executionId: Schema.String,
    step: Schema.String,
    error: StepError,
    context,
    steps: Steps,
    compensated: Steps
  }
  return Schema.Union([
    Schema.Struct({ _tag: Schema.tag("Completed"), executionId: Schema.String, context, steps: Steps }),
    Schema.Struct({ _tag: Schema.tag("SagaFailed"), ...failed }),
    Schema.Struct({
      _tag: Schema.tag("CompensationFailed"),
      ...failed,
      failedCompensations: Schema.Array(
        Schema.Struct({ step: Schema.String, error: StepError, attempts: Schema.Number })
      )
    })
  ]) as unknown as Schema.Codec<Result<C>, any>
}

/** What a step's activity stores: the next context, or the failure and whether the fallback should run. @internal */
export type ActOutcome<C> =
  | { readonly _tag: "Done"; readonly context: C }
  | { readonly _tag: "Failed"; readonly error: StepError; readonly fallback: boolean }

/** @internal */
export const actOutcomeSchema = <C>(context: ContextSchema<C>): Schema.Codec<ActOutcome<C>, any> =>
  Schema.Union([
    Schema.Struct({ _tag: Schema.tag("Done"), context }),
    Schema.Struct({ _tag: Schema.tag("Failed"), error: StepError, fallback: Schema.Boolean })
  ]) as unknown as Schema.Codec<ActOutcome<C>, any>

/** What a compensation's activity stores. @internal */
export type CompensationOutcome =
  | { readonly _tag: "Compensated"; readonly attempts: number }
  | { readonly _tag: "Failed"; readonly error: StepError; readonly attempts: number }

/** @internal */
export const CompensationOutcome: Schema.Codec<CompensationOutcome, any> = Schema.Union([
  Schema.Struct({ _tag: Schema.tag("Compensated"), attempts: Schema.Number }),
  Schema.Struct({ _tag: Schema.tag("Failed"), error: StepError, attempts: Schema.Number })
]) as unknown as Schema.Codec<CompensationOutcome, any>

/** The plain form of a failure: its first typed error, else its first defect. @internal */
export const toStepError = (cause: Cause.Cause<unknown>): StepError => {
  for (const reason of cause.reasons) {
    if (Cause.isFailReason(reason)) {
      return { tag: failureName(reason.error) ?? "Error", message: failureDetail(reason.error), defect: false }
    }
  }
  const defect = Cause.squash(cause)
  return { tag: failureName(defect) ?? "Defect", message: failureDetail(defect), defect: true }
}

/** "ConnectionError: refused" for logs and span attributes. @internal */
export const describeStepError = (error: StepError): string =>
  error.message.length > 0 ? `${error.tag}: ${error.message}` : error.tag
