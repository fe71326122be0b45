import { Data, Duration, Formatter } from "effect"
import { describeFailure as describe, truncate } from "./failure.ts"
import { StacklessTaggedError } from "./stacklessError.ts"

/** @internal */
export type FailureReason = "failed" | "timedOut" | "rejected" | "skipped"

/** @internal */
export interface ProviderFailure {
  readonly source: string
  readonly index: number
  readonly reason: FailureReason
  readonly error: unknown
  readonly latency: Duration.Duration
}

// Errors of the chain are raised on paths that can run thousands of times a second during an outage (a fallback
// storm); a stack captured inside the engine says nothing useful and costs microseconds, so none is captured.

/** @internal */
export const describeError = (error: unknown): string => describe(error, { fields: true })

/** @internal */
export const reasonText: Readonly<Record<FailureReason, string>> = {
  failed: "failed",
  timedOut: "timed out",
  rejected: "was rejected",
  skipped: "was skipped (no time left)"
}

const describeFailure = (failure: ProviderFailure): string => {
  switch (failure.reason) {
    case "skipped":
      return `${failure.source} ${reasonText.skipped}`
    case "rejected":
      return `${failure.source} ${reasonText.rejected} (${describeError(failure.error)})`
    default:
      return `${failure.source} ${reasonText[failure.reason]} after ${formatLatency(failure.latency)} (${describeError(
        failure.error
      )})`
  }
}

/** Latencies read best in milliseconds with a little precision: "12.3ms", not "12ms 281511ns". */
const formatLatency = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  return millis >= 1000 ? Duration.format(duration) : `${Number(millis.toFixed(millis < 10 ? 2 : 1))}ms`
}

/** @internal */
export class AllFallbacksExhausted extends StacklessTaggedError("AllFallbacksExhausted")<{
  readonly chain: string
  readonly failures: ReadonlyArray<ProviderFailure>
  readonly budget: Duration.Duration | undefined
  readonly budgetExhausted: boolean
  readonly elapsed: Duration.Duration
}> {
  override get message(): string {
    const head =
      this.failures.length === 0
        ? `chain "${this.chain}" has no providers`
        : `all providers of chain "${this.chain}" failed: ${this.failures.map(describeFailure).join("; ")}`
    return this.budgetExhausted && this.budget !== undefined
      ? `${head} (time budget of ${Duration.format(this.budget)} exhausted)`
      : head
  }
}

/** @internal */
export class ProviderTimeout extends StacklessTaggedError("ProviderTimeout")<{
  readonly chain: string
  readonly source: string
  readonly timeout: Duration.Duration
  readonly cause: "timeout" | "budget"
}> {
  override get message(): string {
    const limit = this.cause === "budget" ? "its share of the time budget" : "its timeout"
    return `provider "${this.source}" of chain "${this.chain}" did not answer within ${limit} (${Duration.format(
      this.timeout
    )})`
  }
}

/** @internal */
export class ConcurrencyLimitExceeded extends StacklessTaggedError("ConcurrencyLimitExceeded")<{
  readonly chain: string
  readonly source: string
  readonly limit: number
}> {
  override get message(): string {
    return `provider "${this.source}" of chain "${this.chain}" already runs ${this.limit} calls, its concurrency limit`
  }
}

/** @internal */
export class LastKnownGoodUnavailable extends StacklessTaggedError("LastKnownGoodUnavailable")<{
  readonly chain: string
  readonly source: string
  readonly key: string
  readonly reason: "missing" | "tooStale"
  readonly staleness: Duration.Duration | undefined
  readonly maxStaleness: Duration.Duration
}> {
  override get message(): string {
    return this.reason === "missing" || this.staleness === undefined
      ? `no remembered value for key "${this.key}"`
      : `the remembered value for key "${this.key}" is ${Duration.format(this.staleness)} old, over the limit of ${Duration.format(
          this.maxStaleness
        )}`
  }
}

/** @internal */
export class FallbackChainConfigError extends Data.TaggedError("FallbackChainConfigError")<{
  readonly chain: string
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `invalid fallback chain "${truncate(this.chain)}": ${this.field} must be ${this.expected}, got ${truncate(
      Formatter.format(this.value)
    )}`
  }
}
