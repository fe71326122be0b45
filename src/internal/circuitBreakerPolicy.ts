/**
 * Turns user `Options` into a validated `Policy`, once per breaker, failing with a `CircuitBreakerConfigError` that
 * names the field (see `circuitBreakerValidate.ts`).
 */
import { Duration, Effect, Exit, Schedule } from "effect"
import type { Options } from "../CircuitBreaker.ts"
import type { Policy } from "./circuit.ts"
import type { CircuitBreakerConfigError } from "./circuitBreakerErrors.ts"
import { consecutiveFailures } from "./circuitTripConsecutive.ts"
import { failureRate as failureRateRule } from "./circuitTripFailureRate.ts"
import type { TripRule } from "./circuitTripRule.ts"
import { slowCallRate } from "./circuitTripSlowCallRate.ts"
import { millisOf, Validate } from "./circuitBreakerValidate.ts"
import { tagMatcher } from "./failure.ts"
import type { WindowSpec } from "./window.ts"

/** Openings beyond this many reuse the schedule's last delay; the table is computed once per breaker. */
const SCHEDULED_OPENINGS = 64

/** Time windows are split into at most this many buckets (and buckets of at least 100 ms). */
const MAX_BUCKETS = 20

const DEFAULT_RATE_WINDOW = 100

/** A count window keeps one byte per call: bounded so that a circuit never reserves more than 100 KB. */
const MAX_COUNT_WINDOW = 100_000
const DEFAULT_MINIMUM_CALLS = 10

type Check<A> = Effect.Effect<A, CircuitBreakerConfigError>

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

/** Millis of the n-th consecutive opening (n >= 1). */
const openingMillis = (check: Validate, resetTimeout: unknown): Check<(openings: number) => number> => {
  if (Schedule.isSchedule(resetTimeout)) {
    return Effect.flatMap(scheduleTable(resetTimeout as Schedule.Schedule<unknown, unknown>), (table) =>
      table.length === 0
        ? check.fail("resetTimeout", "a schedule", "a schedule that recurs at least once")
        : table.every(Number.isFinite)
          ? Effect.succeed((n: number) => table[Math.min(n, table.length) - 1]!)
          : check.fail("resetTimeout", "a schedule", "a schedule of finite delays (an opening always ends)")
    )
  }
  // An opening always ends by itself (a circuit held open is `open(id)`): in memory and on Redis alike.
  return Effect.map(
    check.finiteDuration("resetTimeout", resetTimeout, "a positive duration or a Schedule (finite: an opening ends)"),
    (millis) => () => millis
  )
}

const windowSpec = (check: Validate, field: string, window: unknown): Check<WindowSpec> => {
  if (typeof window === "number") {
    return Effect.map(
      Number.isInteger(window) && window >= 1 && window <= MAX_COUNT_WINDOW
        ? Effect.succeed(window)
        : check.fail(
            field,
            window,
            `an integer >= 1 (a count of calls, at most ${MAX_COUNT_WINDOW}) or a positive duration`
          ),
      (size): WindowSpec => ({ _tag: "Count", size })
    )
  }
  return Effect.map(
    check.finiteDuration(field, window, "a positive finite duration or an integer >= 1 (a count of calls)"),
    (millis): WindowSpec => ({
      _tag: "Time",
      millis,
      buckets: Math.max(1, Math.min(MAX_BUCKETS, Math.floor(millis / 100)))
    })
  )
}

const halfOpenTimeoutOf = (check: Validate, spec: Options["halfOpenTimeout"]): Check<Policy["halfOpenTimeout"]> =>
  Effect.gen(function* () {
    if (spec === undefined) return undefined
    const isObject = typeof spec === "object" && spec !== null && ("duration" in spec || "onTimeout" in spec)
    const millis = yield* check.positiveDuration(
      isObject ? "halfOpenTimeout.duration" : "halfOpenTimeout",
      isObject ? spec.duration : spec
    )
    const onTimeout = yield* check.literal(
      "halfOpenTimeout.onTimeout",
      isObject ? (spec.onTimeout ?? "reopen") : "reopen",
      ["reopen", "interrupt"],
      `"reopen" or "interrupt"`
    )
    return { millis, onTimeout }
  })

/** The rate policies and the window they share. */
const ratesOf = (check: Validate, options: Options) =>
  Effect.gen(function* () {
    const failureRateOptions = yield* check.group(
      "failureRate",
      options.failureRate,
      "an object { threshold, window, minimumCalls? }"
    )
    const slowCallOptions = yield* check.group(
      "slowCall",
      options.slowCall,
      "an object { duration, rateThreshold, minimumCalls?, window? }"
    )
    let window: WindowSpec | undefined
    let failureRate: Policy["failureRate"]
    if (failureRateOptions !== undefined) {
      const threshold = yield* check.rate("failureRate.threshold", failureRateOptions.threshold)
      const minimumCalls = yield* check.integer(
        "failureRate.minimumCalls",
        failureRateOptions.minimumCalls ?? DEFAULT_MINIMUM_CALLS
      )
      window = yield* windowSpec(check, "failureRate.window", failureRateOptions.window)
      // As in resilience4j, a count window smaller than minimumCalls is full at its size: the rate is defined then.
      failureRate = {
        threshold,
        minimumCalls: window._tag === "Count" ? Math.min(minimumCalls, window.size) : minimumCalls
      }
    }
    let slowCall: Policy["slowCall"]
    if (slowCallOptions !== undefined) {
      const millis = yield* check.positiveDuration("slowCall.duration", slowCallOptions.duration)
      const rateThreshold = yield* check.rate("slowCall.rateThreshold", slowCallOptions.rateThreshold)
      const minimumCalls = yield* check.integer(
        "slowCall.minimumCalls",
        slowCallOptions.minimumCalls ?? failureRate?.minimumCalls ?? DEFAULT_MINIMUM_CALLS
      )
      if (slowCallOptions.window !== undefined) {
        if (window !== undefined) {
          return yield* check.fail(
            "slowCall.window",
            slowCallOptions.window,
            "omitted when failureRate.window is set (both rates share one window)"
          )
        }
        window = yield* windowSpec(check, "slowCall.window", slowCallOptions.window)
      }
      window ??= { _tag: "Count", size: DEFAULT_RATE_WINDOW }
      slowCall = {
        millis,
        rateThreshold,
        minimumCalls: window._tag === "Count" ? Math.min(minimumCalls, window.size) : minimumCalls
      }
    }
    return { window, failureRate, slowCall }
  })

const exclusionOf = (check: Validate, exclude: Options["exclude"]): Check<(error: unknown) => boolean> => {
  if (exclude === undefined) return Effect.succeed(() => false)
  if (typeof exclude === "function") return Effect.succeed(exclude)
  if (!Array.isArray(exclude) || exclude.some((tag) => typeof tag !== "string")) {
    return check.fail("exclude", exclude, "an array of _tag strings or a predicate")
  }
  return Effect.succeed(exclude.length === 0 ? () => false : tagMatcher(exclude))
}

/** @internal */
export const resolvePolicy = (domain: string, options: Options): Check<Policy> =>
  Effect.gen(function* () {
    const check = new Validate(domain)
    const failureThreshold = yield* check.integer("failureThreshold", options.failureThreshold ?? 5)
    const successThreshold = yield* check.integer("successThreshold", options.successThreshold ?? 1)
    const halfOpenMaxCalls = yield* check.integer("halfOpenMaxCalls", options.halfOpenMaxCalls ?? 1)
    const maxResetMillis =
      options.maxResetTimeout === undefined
        ? Number.POSITIVE_INFINITY
        : yield* check.positiveDuration("maxResetTimeout", options.maxResetTimeout)
    const opening = yield* openingMillis(check, options.resetTimeout ?? "60 seconds")
    const backoffResetMillis =
      options.backoffResetAfter === undefined
        ? undefined
        : yield* check.duration("backoffResetAfter", options.backoffResetAfter)
    const halfOpenTimeout = yield* halfOpenTimeoutOf(check, options.halfOpenTimeout)
    const { failureRate, slowCall, window } = yield* ratesOf(check, options)
    const mode = yield* check.mode("mode", options.mode ?? "normal")
    const isExcluded = yield* exclusionOf(check, options.exclude)
    const isFailureValue = yield* check.callback("isFailure", options.isFailure, "a predicate (value) => boolean")
    const hint = yield* check.callback(
      "retryAfter",
      options.retryAfter,
      "a function (error) => Duration.Input | undefined"
    )
    const retryAfterMillis =
      hint === undefined
        ? undefined
        : (error: unknown) => {
            const input = hint(error)
            return input === undefined ? undefined : millisOf(input)
          }

    const tripRules: Array<TripRule> = [consecutiveFailures(failureThreshold)]
    if (failureRate !== undefined) tripRules.push(failureRateRule(failureRate.threshold, failureRate.minimumCalls))
    if (slowCall !== undefined) tripRules.push(slowCallRate(slowCall.rateThreshold, slowCall.minimumCalls))

    return {
      domain,
      failureThreshold,
      successThreshold,
      halfOpenMaxCalls,
      openingMillis: opening,
      maxResetMillis,
      backoffResetMillis,
      halfOpenTimeout,
      failureRate,
      slowCall,
      window,
      tripRules,
      isExcluded,
      isFailureValue,
      retryAfterMillis,
      mode,
      closedNeedsClock: slowCall !== undefined || window?._tag === "Time"
    }
  })
