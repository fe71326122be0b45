import { Data, Duration, Formatter } from "effect"
import { StacklessTaggedError } from "./stacklessError.ts"

/** @internal */
export const formatMillis = (duration: Duration.Duration): string =>
  Duration.isFinite(duration) ? `${Math.ceil(Duration.toMillis(duration))} ms` : "a manual close"

/** @internal */
export class CircuitOpenError extends StacklessTaggedError("CircuitOpenError")<{
  readonly domain: string
  readonly id: string
  readonly state: "Open" | "HalfOpen"
  readonly retryAfter: Duration.Duration
}> {
  override get message(): string {
    return `circuit "${this.id}" of ${this.domain} is ${this.state}; retry after ${formatMillis(this.retryAfter)}`
  }
  // Rejections made on the hot path carry no captured stack; they describe themselves instead.
  override get stack(): string {
    return `CircuitOpenError: ${this.message}`
  }
  override set stack(_: string) {}
}

/** @internal */
export const isCircuitOpenError = (u: unknown): u is CircuitOpenError => u instanceof CircuitOpenError

/** @internal */
export class CircuitBreakerConfigError extends Data.TaggedError("CircuitBreakerConfigError")<{
  readonly domain: string
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `invalid circuit breaker setting for ${this.domain}: ${this.field} must be ${this.expected}, got ${Formatter.format(
      this.value
    )}`
  }
}

/**
 * The error of a refused call. Built through the class's constructor, without a stack (`StacklessTaggedError`); its
 * message is formatted only when read.
 *
 * @internal
 */
export const rejection = (
  domain: string,
  id: string,
  state: "Open" | "HalfOpen",
  retryAfterMillis: number
): CircuitOpenError => new CircuitOpenError({ domain, id, state, retryAfter: Duration.millis(retryAfterMillis) })
