/**
 * The one validation style of the breaker's options (memory, Redis and `layerConfig`): each field goes through a
 * check of `Validate`, which succeeds with the value in its usable form or fails with the one error shape,
 * `CircuitBreakerConfigError`, naming the field, the value and the allowed range.
 */
import { Duration, Effect } from "effect"
import type { Mode } from "../CircuitBreaker.ts"
import { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { decodeDurationInput } from "./durationInput.ts"

const MODES: ReadonlyArray<Mode> = ["normal", "disabled", "metricsOnly"]

/** Milliseconds of a duration input, `undefined` when it is none (or negative, or NaN). @internal */
export const millisOf = (input: unknown): number | undefined => {
  // The shared strict decoding: `Duration.fromInput` alone reads NaN, NaN pairs and `{}` as zero.
  const decoded = decodeDurationInput(input)
  if (decoded === undefined) return undefined
  const millis = Duration.toMillis(decoded)
  return Number.isNaN(millis) || millis < 0 ? undefined : millis
}

type Check<A> = Effect.Effect<A, CircuitBreakerConfigError>

/** @internal */
export class Validate {
  readonly domain: string
  constructor(domain: string) {
    this.domain = domain
  }

  fail(field: string, value: unknown, expected: string): Effect.Effect<never, CircuitBreakerConfigError> {
    return Effect.fail(new CircuitBreakerConfigError({ domain: this.domain, field, value, expected }))
  }

  /** An integer >= `min` (and <= `max`, for a size that allocates). */
  integer(field: string, value: unknown, min = 1, max?: number): Check<number> {
    return typeof value === "number" && Number.isInteger(value) && value >= min && (max === undefined || value <= max)
      ? Effect.succeed(value)
      : this.fail(field, value, max === undefined ? `an integer >= ${min}` : `an integer >= ${min} and <= ${max}`)
  }

  /** A function (a user callback), or nothing. */
  callback<F>(field: string, value: F | undefined, expected: string): Check<F | undefined> {
    return value === undefined || typeof value === "function"
      ? Effect.succeed(value)
      : this.fail(field, value, expected)
  }

  /** An object (a group of options), or nothing. */
  group<A>(field: string, value: A | undefined, expected: string): Check<A | undefined> {
    return value === undefined || (typeof value === "object" && value !== null)
      ? Effect.succeed(value)
      : this.fail(field, value, expected)
  }

  /** A rate in (0, 1]. */
  rate(field: string, value: unknown): Effect.Effect<number, CircuitBreakerConfigError> {
    return typeof value === "number" && value > 0 && value <= 1
      ? Effect.succeed(value)
      : this.fail(field, value, "a rate in (0, 1]")
  }

  /** Millis of a positive duration (`Infinity` allowed). */
  positiveDuration(field: string, value: unknown, expected = "a positive duration"): Check<number> {
    return this.durationWhere(field, value, expected, (millis) => millis > 0)
  }

  /** Millis of a positive, finite duration. */
  finiteDuration(field: string, value: unknown, expected = "a positive finite duration"): Check<number> {
    return this.durationWhere(field, value, expected, (millis) => millis > 0 && Number.isFinite(millis))
  }

  private durationWhere(
    field: string,
    value: unknown,
    expected: string,
    allowed: (millis: number) => boolean
  ): Check<number> {
    const millis = millisOf(value)
    return millis !== undefined && allowed(millis) ? Effect.succeed(millis) : this.fail(field, value, expected)
  }

  /** Millis of a duration >= 0. */
  duration(field: string, value: unknown): Effect.Effect<number, CircuitBreakerConfigError> {
    const millis = millisOf(value)
    return millis !== undefined ? Effect.succeed(millis) : this.fail(field, value, "a duration >= 0")
  }

  string(field: string, value: unknown): Effect.Effect<string, CircuitBreakerConfigError> {
    return typeof value === "string" ? Effect.succeed(value) : this.fail(field, value, "a string")
  }

  /** A circuit mode. */
  mode(field: string, value: unknown): Check<Mode> {
    return this.literal(field, value, MODES, `"normal", "disabled" or "metricsOnly"`)
  }

  /** One of `allowed`, described as `expected`. */
  literal<const A extends string>(
    field: string,
    value: unknown,
    allowed: ReadonlyArray<A>,
    expected: string
  ): Effect.Effect<A, CircuitBreakerConfigError> {
    return allowed.includes(value as A) ? Effect.succeed(value as A) : this.fail(field, value, expected)
  }
}
