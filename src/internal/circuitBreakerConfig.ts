/**
 * Breaker settings read through Effect `Config` (the environment by default), one variable per setting:
 * `<PREFIX>_FAILURE_THRESHOLD`, `<PREFIX>_RESET_TIMEOUT`, ...
 *
 * Each variable is read with the `Config` of its type (`Config.Int`, `Config.Number`, `Config.Duration`,
 * `Config.Literals`, `Config.Array`). A variable that is not of its type fails naming the variable; what does parse
 * goes through the options' own validation (`circuitBreakerPolicy.ts`), whose error then names the variable and the
 * option. Text where a duration or a literal is expected is of the setting's type (`Duration.Input` and the options'
 * literals are strings in code too), so a duration or literal that does not parse is handed over as given and
 * refused by the options' validation, with the message code would get.
 */
import { Config, Effect, Layer, Option, Schema } from "effect"
import type { Context } from "effect"
import type * as CB from "../CircuitBreaker.ts"
import { make } from "./circuitBreaker.ts"
import { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { MAX_CIRCUIT_SERIES } from "./circuitBreakerMetrics.ts"

type Setting = {
  /** The variable's name after the prefix. */
  readonly name: string
  /** Where the value goes in `Options`. */
  readonly path: readonly [keyof CB.Options] | readonly [keyof CB.Options, string]
  readonly config: (name: string) => Config.Config<unknown>
  readonly expected: string
}

/** A duration (`"30 seconds"`, `"Infinity"`) or a bare number of milliseconds; other text as given. */
const duration = (name: string): Config.Config<unknown> =>
  Config.Finite(name).pipe(
    Config.orElse(() => Config.Duration(name)),
    Config.orElse(() => Config.String(name))
  )

/** A window: a count of calls or a duration. */
const countOrDuration = (name: string): Config.Config<unknown> => Config.orElse(Config.Int(name), () => duration(name))

const literal =
  (literals: ReadonlyArray<string>) =>
  (name: string): Config.Config<unknown> =>
    Config.orElse(Config.Literals(literals, name), () => Config.String(name))

const tags = (name: string): Config.Config<unknown> =>
  Config.map(Config.Array(Schema.String, name), (values) =>
    values.map((tag) => tag.trim()).filter((tag) => tag.length > 0)
  )

const INTEGER = "an integer >= 1"
const DURATION = "a positive duration"
const RATE = "a rate in (0, 1]"
const WINDOW = "an integer >= 1 (a count of calls) or a positive duration"

/**
 * Every setting that can come from configuration. Predicates (`isFailure`, a predicate `exclude`, `retryAfter`)
 * cannot: pass them as `defaults`.
 *
 * @internal
 */
export const settings: ReadonlyArray<Setting> = [
  { name: "FAILURE_THRESHOLD", path: ["failureThreshold"], config: Config.Int, expected: INTEGER },
  { name: "RESET_TIMEOUT", path: ["resetTimeout"], config: duration, expected: DURATION },
  { name: "MAX_RESET_TIMEOUT", path: ["maxResetTimeout"], config: duration, expected: DURATION },
  { name: "BACKOFF_RESET_AFTER", path: ["backoffResetAfter"], config: duration, expected: "a duration >= 0" },
  { name: "SUCCESS_THRESHOLD", path: ["successThreshold"], config: Config.Int, expected: INTEGER },
  { name: "HALF_OPEN_MAX_CALLS", path: ["halfOpenMaxCalls"], config: Config.Int, expected: INTEGER },
  { name: "HALF_OPEN_TIMEOUT", path: ["halfOpenTimeout", "duration"], config: duration, expected: DURATION },
  {
    name: "HALF_OPEN_TIMEOUT_ACTION",
    path: ["halfOpenTimeout", "onTimeout"],
    config: literal(["reopen", "interrupt"]),
    expected: `"reopen" or "interrupt"`
  },
  { name: "FAILURE_RATE_THRESHOLD", path: ["failureRate", "threshold"], config: Config.Number, expected: RATE },
  { name: "FAILURE_RATE_MINIMUM_CALLS", path: ["failureRate", "minimumCalls"], config: Config.Int, expected: INTEGER },
  { name: "FAILURE_RATE_WINDOW", path: ["failureRate", "window"], config: countOrDuration, expected: WINDOW },
  { name: "SLOW_CALL_DURATION", path: ["slowCall", "duration"], config: duration, expected: DURATION },
  { name: "SLOW_CALL_RATE_THRESHOLD", path: ["slowCall", "rateThreshold"], config: Config.Number, expected: RATE },
  { name: "SLOW_CALL_MINIMUM_CALLS", path: ["slowCall", "minimumCalls"], config: Config.Int, expected: INTEGER },
  { name: "SLOW_CALL_WINDOW", path: ["slowCall", "window"], config: countOrDuration, expected: WINDOW },
  { name: "EXCLUDE", path: ["exclude"], config: tags, expected: "a comma-separated list of _tags" },
  {
    name: "MODE",
    path: ["mode"],
    config: literal(["normal", "disabled", "metricsOnly"]),
    expected: `"normal", "disabled" or "metricsOnly"`
  },
  { name: "EVENT_BUFFER_SIZE", path: ["eventBufferSize"], config: Config.Int, expected: INTEGER },
  {
    name: "METRICS_CIRCUIT_SERIES",
    path: ["metrics", "circuitSeries"],
    config: Config.Int,
    expected: `an integer >= 0 and <= ${MAX_CIRCUIT_SERIES}`
  },
  { name: "MAX_CIRCUITS", path: ["maxCircuits"], config: Config.Number, expected: "an integer >= 1, or Infinity" },
  { name: "IDLE_TIMEOUT", path: ["idleTimeout"], config: duration, expected: "a duration of at least 1 second" }
]

const pathName = (setting: Setting): string => setting.path.join(".")

/** @internal */
export interface ConfigOptions {
  readonly prefix: string
  readonly defaults?: CB.Options | undefined
}

/** One setting's value, if its variable is set; a value not of its type fails naming the variable. */
const readSetting = (domain: string, prefix: string, setting: Setting) =>
  Config.option(setting.config(setting.name)).pipe(
    Config.nested(prefix),
    Effect.catch(() =>
      // The text as given, for the message.
      Effect.flatMap(Effect.option(Config.String(setting.name).pipe(Config.nested(prefix))), (raw) =>
        Effect.fail(
          new CircuitBreakerConfigError({
            domain,
            field: `${prefix}_${setting.name}`,
            value: Option.getOrUndefined(raw),
            expected: setting.expected
          })
        )
      )
    )
  )

/** Reads the settings over the defaults. */
const readOptions = (domain: string, { defaults = {}, prefix }: ConfigOptions) =>
  Effect.gen(function* () {
    const options: Record<string, unknown> = { ...defaults }
    for (const setting of settings) {
      const value = yield* readSetting(domain, prefix, setting)
      if (Option.isNone(value)) continue
      const [key, nestedKey] = setting.path
      if (nestedKey === undefined) {
        options[key] = value.value
      } else {
        const current = options[key]
        options[key] = { ...(typeof current === "object" && current !== null ? current : {}), [nestedKey]: value.value }
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
