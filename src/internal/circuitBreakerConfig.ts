/**
 * Breaker settings read through Effect `Config` (the environment by default), one variable per setting:
 * `<PREFIX>_FAILURE_THRESHOLD`, `<PREFIX>_RESET_TIMEOUT`, ...
 */
import { Config, Effect, Layer, Option } from "effect"
import type { Context } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { make } from "./circuitBreaker.ts"

type Setting = {
  /** The variable's name after the prefix. */
  readonly name: string
  /** Where the parsed value goes in `Options`. */
  readonly path: readonly [keyof CB.Options] | readonly [keyof CB.Options, string]
  readonly parse: (raw: string) => unknown
  readonly expected: string
}

const integer = (raw: string): unknown => (/^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : undefined)
const rate = (raw: string): unknown => (/^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(raw) ? Number(raw) : undefined)
/** Durations as Effect writes them ("30 seconds", "250 millis"), or a bare number of milliseconds. */
const duration = (raw: string): unknown => {
  const text = raw.trim()
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text
}
/** A window is a count of calls ("100") or a duration ("60 seconds"). */
const countOrDuration = duration

/**
 * Every setting that can come from configuration. Predicates (`isFailure`, a predicate `exclude`, `retryAfter`)
 * cannot: pass them as `defaults`.
 *
 * @internal
 */
export const settings: ReadonlyArray<Setting> = [
  { name: "FAILURE_THRESHOLD", path: ["failureThreshold"], parse: integer, expected: "an integer >= 1" },
  { name: "RESET_TIMEOUT", path: ["resetTimeout"], parse: duration, expected: "a positive duration" },
  { name: "MAX_RESET_TIMEOUT", path: ["maxResetTimeout"], parse: duration, expected: "a positive duration" },
  { name: "BACKOFF_RESET_AFTER", path: ["backoffResetAfter"], parse: duration, expected: "a duration >= 0" },
  { name: "SUCCESS_THRESHOLD", path: ["successThreshold"], parse: integer, expected: "an integer >= 1" },
  { name: "HALF_OPEN_MAX_CALLS", path: ["halfOpenMaxCalls"], parse: integer, expected: "an integer >= 1" },
  {
    name: "HALF_OPEN_TIMEOUT",
    path: ["halfOpenTimeout", "duration"],
    parse: duration,
    expected: "a positive duration"
  },
  {
    name: "HALF_OPEN_TIMEOUT_ACTION",
    path: ["halfOpenTimeout", "onTimeout"],
    parse: (raw) => raw.trim(),
    expected: `"reopen" or "interrupt"`
  },
  { name: "FAILURE_RATE_THRESHOLD", path: ["failureRate", "threshold"], parse: rate, expected: "a rate in (0, 1]" },
  {
    name: "FAILURE_RATE_MINIMUM_CALLS",
    path: ["failureRate", "minimumCalls"],
    parse: integer,
    expected: "an integer >= 1"
  },
  {
    name: "FAILURE_RATE_WINDOW",
    path: ["failureRate", "window"],
    parse: countOrDuration,
    expected: "an integer >= 1 (a count of calls) or a positive duration"
  },
  { name: "SLOW_CALL_DURATION", path: ["slowCall", "duration"], parse: duration, expected: "a positive duration" },
  { name: "SLOW_CALL_RATE_THRESHOLD", path: ["slowCall", "rateThreshold"], parse: rate, expected: "a rate in (0, 1]" },
  {
    name: "SLOW_CALL_MINIMUM_CALLS",
    path: ["slowCall", "minimumCalls"],
    parse: integer,
    expected: "an integer >= 1"
  },
  {
    name: "SLOW_CALL_WINDOW",
    path: ["slowCall", "window"],
    parse: countOrDuration,
    expected: "an integer >= 1 (a count of calls) or a positive duration"
  },
  {
    name: "EXCLUDE",
    path: ["exclude"],
    parse: (raw) =>
      raw
        .split(",")
        .map((tag) => tag.trim())
        .filter((tag) => tag.length > 0),
    expected: "a comma-separated list of _tags"
  },
  { name: "MODE", path: ["mode"], parse: (raw) => raw.trim(), expected: `"normal", "disabled" or "metricsOnly"` },
  { name: "EVENT_BUFFER_SIZE", path: ["eventBufferSize"], parse: integer, expected: "an integer >= 1" }
]

const pathName = (setting: Setting): string => setting.path.join(".")

/** @internal */
export interface ConfigOptions {
  readonly prefix: string
  readonly defaults?: CB.Options | undefined
}

/** Reads the settings over the defaults; a value that does not parse fails naming its variable. */
const readOptions = (domain: string, { defaults = {}, prefix }: ConfigOptions) =>
  Effect.gen(function* () {
    const options: Record<string, unknown> = { ...defaults }
    for (const setting of settings) {
      const variable = `${prefix}_${setting.name}`
      const raw = yield* Config.option(Config.String(setting.name)).pipe(
        Config.nested(prefix),
        Effect.mapError(
          (error) =>
            new CircuitBreakerConfigError({ domain, field: variable, value: String(error), expected: setting.expected })
        )
      )
      if (Option.isNone(raw)) continue
      const value = setting.parse(raw.value)
      if (value === undefined) {
        return yield* new CircuitBreakerConfigError({
          domain,
          field: variable,
          value: raw.value,
          expected: setting.expected
        })
      }
      const [key, nestedKey] = setting.path
      if (nestedKey === undefined) {
        options[key] = value
      } else {
        const current = options[key]
        options[key] = { ...(typeof current === "object" && current !== null ? current : {}), [nestedKey]: value }
      }
    }
    return options as CB.Options
  })

/** @internal */
export const makeFromConfig = (domain: string, options: ConfigOptions) =>
  Effect.flatMap(readOptions(domain, options), (resolved) =>
    Effect.mapError(make(domain, resolved), (error) => {
      // Name the variable that sets the field, so the fix is obvious from the message.
      const setting = settings.find((s) => pathName(s) === error.field)
      return setting === undefined
        ? error
        : new CircuitBreakerConfigError({ ...error, field: `${options.prefix}_${setting.name} (${error.field})` })
    })
  )

/** @internal */
export const layerConfig = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: ConfigOptions
): Layer.Layer<Self, CircuitBreakerConfigError> => Layer.effect(key, makeFromConfig(key.key, options))
