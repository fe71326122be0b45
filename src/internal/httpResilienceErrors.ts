import { Data, Formatter } from "effect"
import type { Duration } from "effect"
import type { HttpClientResponse } from "effect/http"
import { StacklessTaggedError } from "./stacklessError.ts"

/**
 * What the protected effect fails with when a response counts as a failure of its circuit: the breaker records a
 * failure (and reads `retryAfter` through `breakerOptions`), then the decorator hands the caller the response (or the
 * client's own error, `original`) again. Callers never see it.
 *
 * @internal
 */
export class FailedResponse extends StacklessTaggedError("HttpResilience/FailedResponse")<{
  readonly response: HttpClientResponse.HttpClientResponse
  readonly retryAfter: Duration.Duration | undefined
  readonly original: unknown
}> {
  override get message(): string {
    const request = this.response.request
    return `${request.method} ${request.url} answered ${this.response.status}`
  }
}

/** @internal */
export const isFailedResponse = (u: unknown): u is FailedResponse => u instanceof FailedResponse

/** @internal */
export class HttpResilienceConfigError extends Data.TaggedError("HttpResilienceConfigError")<{
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `invalid HttpResilience option: ${this.field} must be ${this.expected}, got ${Formatter.format(this.value)}`
  }
}
