import { Duration, Effect, Layer } from "effect"
import type { Context } from "effect"
import { Headers, HttpRouter, HttpServerResponse } from "effect/http"
import type { CircuitBreaker, Stats } from "../CircuitBreaker.ts"
import type * as H from "../Health.ts"
import { HealthConfigError } from "./healthErrors.ts"

const finiteOrNull = (value: number | undefined): number | null =>
  value === undefined || !Number.isFinite(value) ? null : value

const criticalTest = (critical: H.ReportOptions["critical"]): ((stats: Stats) => boolean) => {
  if (critical === undefined) return () => false
  if (typeof critical === "function") {
    return (stats) => {
      try {
        return critical(stats) === true
      } catch {
        return true // a predicate that throws cannot clear a circuit: treat it as critical
      }
    }
  }
  if (!Array.isArray(critical) || critical.some((id) => typeof id !== "string")) {
    throw new HealthConfigError({
      field: "critical",
      value: critical,
      expected: 'an array of circuit ids ("id" or "domain/id") or a predicate'
    })
  }
  const ids = new Set(critical)
  return (stats) => ids.has(stats.id) || ids.has(`${stats.domain}/${stats.id}`)
}

const circuitReport = (stats: Stats, critical: boolean): H.CircuitReport => ({
  domain: stats.domain,
  id: stats.id,
  state: stats.state,
  mode: stats.mode,
  forced: stats.forced,
  critical,
  retryAfterMillis: stats.retryAfter === undefined ? null : finiteOrNull(Duration.toMillis(stats.retryAfter)),
  failureRate: finiteOrNull(stats.failureRate),
  slowCallRate: finiteOrNull(stats.slowCallRate),
  successes: stats.successes,
  failures: stats.failures,
  rejected: stats.rejected
})

/** @internal */
export const report = (
  breakers: ReadonlyArray<CircuitBreaker>,
  options: H.ReportOptions = {}
): Effect.Effect<H.Report> => {
  // Options from untyped code that cannot mean anything die with the one error shape, naming the field.
  if (!Array.isArray(breakers as unknown)) {
    return Effect.die(new HealthConfigError({ field: "breakers", value: breakers, expected: "an array of breakers" }))
  }
  let isCritical: (stats: Stats) => boolean
  try {
    isCritical = criticalTest(options.critical)
  } catch (error) {
    return Effect.die(error)
  }
  return Effect.map(
    Effect.forEach(breakers, (breaker) => breaker.circuits),
    (domains) => {
      const circuits = domains.flat().map((stats) => circuitReport(stats, isCritical(stats)))
      return {
        status: circuits.every((circuit) => circuit.state === "Closed") ? "ok" : "degraded",
        ready: !circuits.some((circuit) => circuit.critical && circuit.state === "Open"),
        circuits
      }
    }
  )
}

const notReady = (report: H.Report): HttpServerResponse.HttpServerResponse => {
  const open = report.circuits.filter((circuit) => circuit.critical && circuit.state === "Open")
  const waits = open.flatMap((circuit) => (circuit.retryAfterMillis === null ? [] : [circuit.retryAfterMillis]))
  const headers =
    waits.length === 0
      ? undefined
      : { "retry-after": Headers.formatRetryAfter(Headers.retryAfterDuration(Math.min(...waits))) }
  return HttpServerResponse.jsonUnsafe(
    { ready: false, open: open.map((circuit) => `${circuit.domain}/${circuit.id}`) },
    { status: 503, headers }
  )
}

/** @internal */
export const layerHttp = <const Keys extends ReadonlyArray<Context.Key<any, CircuitBreaker>>>(
  options: H.HttpOptions<Keys>
): Layer.Layer<never, never, HttpRouter.HttpRouter | H.Identifiers<Keys>> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      if (!Array.isArray(options.breakers) || options.breakers.length === 0) {
        return yield* Effect.die(
          new HealthConfigError({
            field: "breakers",
            value: options.breakers,
            expected: "a non-empty array of breaker service keys"
          })
        )
      }
      for (const field of ["path", "readinessPath"] as const) {
        const path = options[field]
        if (path !== undefined && (typeof path !== "string" || !path.startsWith("/"))) {
          return yield* Effect.die(new HealthConfigError({ field, value: path, expected: 'a path starting with "/"' }))
        }
      }
      criticalTest(options.critical)
      const breakers: Array<CircuitBreaker> = []
      for (const key of options.breakers) breakers.push(yield* key)
      const read = report(breakers, options)
      yield* router.add(
        "GET",
        options.path ?? "/health",
        Effect.map(read, (body) => HttpServerResponse.jsonUnsafe(body))
      )
      yield* router.add(
        "GET",
        options.readinessPath ?? "/ready",
        Effect.map(read, (body) => (body.ready ? HttpServerResponse.jsonUnsafe({ ready: true }) : notReady(body)))
      )
    })
  ) as Layer.Layer<never, never, HttpRouter.HttpRouter | H.Identifiers<Keys>>
