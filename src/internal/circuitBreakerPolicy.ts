/**
 * Turns user `Options` into a validated `Policy`, failing with a `CircuitBreakerConfigError` that names the field.
 */
import { Duration, Effect, Exit, Option, Schedule } from "effect"
import type { CircuitBreakerConfigError, Options } from "../CircuitBreaker.ts"
import type { Policy } from "./circuit.ts"
import type { WindowSpec } from "./window.ts"

/** Openings beyond this many reuse the schedule's last delay; the table is computed once per breaker. */
const SCHEDULED_OPENINGS = 64

/** Time windows are split into at most this many buckets (and buckets of at least 100 ms). */
const MAX_BUCKETS = 20

const DEFAULT_RATE_WINDOW = 100
const DEFAULT_MINIMUM_CALLS = 10

type Fail = (field: string, value: unknown, expected: string) => CircuitBreakerConfigError

const isInt = (n: unknown, min: number): n is number => typeof n === "number" && Number.isInteger(n) && n >= min

const isRate = (n: unknown): n is number => typeof n === "number" && n > 0 && n <= 1

const millisOf = (input: unknown): number | undefined => {
  const decoded = Duration.fromInput(input as Duration.Input)
  if (Option.isNone(decoded)) return undefined
  const millis = Duration.toMillis(decoded.value)
  return Number.isNaN(millis) || millis < 0 ? undefined : millis
}

/** Replays the schedule against a simulated clock, so `upTo`/`during` measure time spent open, not wall time. */
const scheduleTable = (schedule: Schedule.Schedule<unknown, unknown>): Effect.Effect<ReadonlyArray<number>> =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(schedule)
    const delays: Array<number> = []
    let now = 0
    for (let attempt = 1; attempt <= SCHEDULED_OPENINGS; attempt++) {
      const result = yield* Effect.exit(step(now, attempt))
      if (Exit.isFailure(result)) break
      const millis = Duration.toMillis(result.value[1])
      delays.push(millis)
      now += millis
    }
    return delays
  })

const windowSpec = (window: unknown, field: string, fail: Fail): WindowSpec | CircuitBreakerConfigError => {
  if (typeof window === "number") {
    return isInt(window, 1)
      ? { _tag: "Count", size: window }
      : fail(field, window, "an integer >= 1 (a count of calls) or a positive duration")
  }
  const millis = millisOf(window)
  if (millis === undefined || millis <= 0 || !Number.isFinite(millis)) {
    return fail(field, window, "a positive finite duration or an integer >= 1 (a count of calls)")
  }
  return { _tag: "Time", millis, buckets: Math.max(1, Math.min(MAX_BUCKETS, Math.floor(millis / 100))) }
}

const isConfigError = (u: unknown): u is CircuitBreakerConfigError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "CircuitBreakerConfigError"

/** @internal */
export const resolvePolicy = (
  domain: string,
  options: Options,
  fail: Fail
): Effect.Effect<Policy, CircuitBreakerConfigError> =>
  Effect.gen(function* () {
    const failureThreshold = options.failureThreshold ?? 5
    if (!isInt(failureThreshold, 1)) return yield* fail("failureThreshold", failureThreshold, "an integer >= 1")
    const successThreshold = options.successThreshold ?? 1
    if (!isInt(successThreshold, 1)) return yield* fail("successThreshold", successThreshold, "an integer >= 1")
    const halfOpenMaxCalls = options.halfOpenMaxCalls ?? 1
    if (!isInt(halfOpenMaxCalls, 1)) return yield* fail("halfOpenMaxCalls", halfOpenMaxCalls, "an integer >= 1")

    const maxResetMillis =
      options.maxResetTimeout === undefined ? Number.POSITIVE_INFINITY : millisOf(options.maxResetTimeout)
    if (maxResetMillis === undefined || maxResetMillis <= 0) {
      return yield* fail("maxResetTimeout", options.maxResetTimeout, "a positive duration")
    }

    const resetTimeout = options.resetTimeout ?? "60 seconds"
    let openingMillis: (openings: number) => number
    if (Schedule.isSchedule(resetTimeout)) {
      const table = yield* scheduleTable(resetTimeout as Schedule.Schedule<unknown, unknown>)
      if (table.length === 0) return yield* fail("resetTimeout", "a schedule", "a schedule that recurs at least once")
      openingMillis = (n) => table[Math.min(n, table.length) - 1]!
    } else {
      const millis = millisOf(resetTimeout)
      if (millis === undefined || millis <= 0) {
        return yield* fail("resetTimeout", resetTimeout, "a positive duration or a Schedule")
      }
      openingMillis = () => millis
    }

    let backoffResetMillis: number | undefined
    if (options.backoffResetAfter !== undefined) {
      backoffResetMillis = millisOf(options.backoffResetAfter)
      if (backoffResetMillis === undefined) {
        return yield* fail("backoffResetAfter", options.backoffResetAfter, "a duration >= 0")
      }
    }

    let halfOpenTimeout: Policy["halfOpenTimeout"]
    if (options.halfOpenTimeout !== undefined) {
      const spec = options.halfOpenTimeout
      const isObject = typeof spec === "object" && spec !== null && "duration" in spec
      const millis = millisOf(isObject ? spec.duration : spec)
      if (millis === undefined || millis <= 0) {
        return yield* fail("halfOpenTimeout", isObject ? spec.duration : spec, "a positive duration")
      }
      const onTimeout = isObject ? (spec.onTimeout ?? "reopen") : "reopen"
      if (onTimeout !== "reopen" && onTimeout !== "interrupt") {
        return yield* fail("halfOpenTimeout.onTimeout", onTimeout, `"reopen" or "interrupt"`)
      }
      halfOpenTimeout = { millis, onTimeout }
    }

    let window: WindowSpec | undefined
    let failureRate: Policy["failureRate"]
    if (options.failureRate !== undefined) {
      const { minimumCalls = DEFAULT_MINIMUM_CALLS, threshold } = options.failureRate
      if (!isRate(threshold)) return yield* fail("failureRate.threshold", threshold, "a rate in (0, 1]")
      if (!isInt(minimumCalls, 1)) return yield* fail("failureRate.minimumCalls", minimumCalls, "an integer >= 1")
      const spec = windowSpec(options.failureRate.window, "failureRate.window", fail)
      if (isConfigError(spec)) return yield* spec
      window = spec
      // As in resilience4j, a count window smaller than minimumCalls is full at its size: the rate is defined then.
      failureRate = {
        threshold,
        minimumCalls: spec._tag === "Count" ? Math.min(minimumCalls, spec.size) : minimumCalls
      }
    }

    let slowCall: Policy["slowCall"]
    if (options.slowCall !== undefined) {
      const { rateThreshold } = options.slowCall
      const millis = millisOf(options.slowCall.duration)
      if (millis === undefined || millis <= 0) {
        return yield* fail("slowCall.duration", options.slowCall.duration, "a positive duration")
      }
      if (!isRate(rateThreshold)) return yield* fail("slowCall.rateThreshold", rateThreshold, "a rate in (0, 1]")
      const minimumCalls = options.slowCall.minimumCalls ?? failureRate?.minimumCalls ?? DEFAULT_MINIMUM_CALLS
      if (!isInt(minimumCalls, 1)) return yield* fail("slowCall.minimumCalls", minimumCalls, "an integer >= 1")
      if (options.slowCall.window !== undefined) {
        if (window !== undefined) {
          return yield* fail(
            "slowCall.window",
            options.slowCall.window,
            "omitted when failureRate.window is set (both rates share one window)"
          )
        }
        const spec = windowSpec(options.slowCall.window, "slowCall.window", fail)
        if (isConfigError(spec)) return yield* spec
        window = spec
      }
      window ??= { _tag: "Count", size: DEFAULT_RATE_WINDOW }
      slowCall = {
        millis,
        rateThreshold,
        minimumCalls: window._tag === "Count" ? Math.min(minimumCalls, window.size) : minimumCalls
      }
    }

    const mode = options.mode ?? "normal"
    if (mode !== "normal" && mode !== "disabled" && mode !== "metricsOnly") {
      return yield* fail("mode", mode, `"normal", "disabled" or "metricsOnly"`)
    }

    const exclude = options.exclude
    let isExcluded: (error: unknown) => boolean = () => false
    if (typeof exclude === "function") {
      isExcluded = exclude
    } else if (exclude !== undefined) {
      if (!Array.isArray(exclude) || exclude.some((tag) => typeof tag !== "string")) {
        return yield* fail("exclude", exclude, "an array of _tag strings or a predicate")
      }
      const tags = new Set<string>(exclude)
      isExcluded = (error) =>
        typeof error === "object" && error !== null && tags.has((error as { _tag?: unknown })._tag as string)
    }

    const hint = options.retryAfter
    const retryAfterMillis =
      hint === undefined
        ? undefined
        : (error: unknown) => {
            const input = hint(error)
            return input === undefined ? undefined : millisOf(input)
          }

    return {
      domain,
      failureThreshold,
      successThreshold,
      halfOpenMaxCalls,
      openingMillis,
      maxResetMillis,
      backoffResetMillis,
      halfOpenTimeout,
      failureRate,
      slowCall,
      window,
      isExcluded,
      isFailureValue: options.isFailure,
      retryAfterMillis,
      mode,
      closedNeedsClock: slowCall !== undefined || window?._tag === "Time"
    }
  })
