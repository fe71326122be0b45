/**
 * The dashboard's settings, validated: a bad value fails the layer with a `DashboardConfigError` naming the field and
 * the allowed range.
 */
import { Data, Duration, Effect, Formatter } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { CircuitBreaker } from "../CircuitBreaker.ts"
import type { Options } from "../Dashboard.ts"
import { decodeDurationInput } from "./durationInput.ts"

/** @internal */
export class DashboardConfigError extends Data.TaggedError("DashboardConfigError")<{
  readonly field: string
  readonly value: unknown
  readonly expected: string
}> {
  override get message(): string {
    return `invalid dashboard setting: ${this.field} must be ${this.expected}, got ${Formatter.format(this.value)}`
  }
}

/** @internal */
export interface Config {
  readonly path: `/${string}`
  readonly sampleMillis: number
  readonly historySamples: number
  readonly maxClosedPerDomain: number
  readonly maxTilesPerDomain: number
  readonly recentTransitions: number
  readonly authorize: ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>) | undefined
}

const PATH = /^(\/[A-Za-z0-9._~-]+)+$/
const MIN_SAMPLE_MILLIS = 50
const MAX_SAMPLE_MILLIS = 60_000

const integer = (
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number
): number | DashboardConfigError => {
  if (value === undefined) return fallback
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? value
    : new DashboardConfigError({ field, value, expected: `an integer from ${min} to ${max}` })
}

const sampleMillis = (value: unknown): number | DashboardConfigError => {
  if (value === undefined) return 1000
  const decoded = decodeDurationInput(value)
  const millis = decoded === undefined ? Number.NaN : Duration.toMillis(decoded)
  return millis >= MIN_SAMPLE_MILLIS && millis <= MAX_SAMPLE_MILLIS
    ? millis
    : new DashboardConfigError({
        field: "sampleInterval",
        value,
        expected: `a duration from ${MIN_SAMPLE_MILLIS} ms to 1 minute`
      })
}

/** Validates the options and the breakers (at least one, each domain once). @internal */
export const validate = (
  breakers: ReadonlyArray<CircuitBreaker>,
  options: Options
): Effect.Effect<Config, DashboardConfigError> => {
  const fields = {
    sampleMillis: sampleMillis(options.sampleInterval),
    historySamples: integer("historySamples", options.historySamples, 60, 1, 600),
    maxClosedPerDomain: integer("maxClosedPerDomain", options.maxClosedPerDomain, 20, 0, 1000),
    maxTilesPerDomain: integer("maxTilesPerDomain", options.maxTilesPerDomain, 200, 1, 10_000),
    recentTransitions: integer("recentTransitions", options.recentTransitions, 20, 1, 1000)
  }
  for (const value of Object.values(fields)) if (value instanceof DashboardConfigError) return Effect.fail(value)
  const path = options.path ?? "/circuits"
  if (typeof path !== "string" || !PATH.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    return Effect.fail(
      new DashboardConfigError({
        field: "path",
        value: path,
        expected: "a path like /circuits (letters, digits, ._~-)"
      })
    )
  }
  if (options.authorize !== undefined && typeof options.authorize !== "function") {
    return Effect.fail(
      new DashboardConfigError({ field: "authorize", value: options.authorize, expected: "a function or undefined" })
    )
  }
  const domains = breakers.map((breaker) => breaker.domain)
  const repeated = domains.find((domain, index) => domains.indexOf(domain) !== index)
  if (domains.length === 0 || repeated !== undefined) {
    return Effect.fail(
      new DashboardConfigError({
        field: "breakers",
        value: repeated ?? domains,
        expected: "at least one breaker, each domain once"
      })
    )
  }
  return Effect.succeed({ ...(fields as { [K in keyof typeof fields]: number }), path, authorize: options.authorize })
}
