/**
 * Health and readiness of the circuits of given domain breakers, as data (`Health.report`) and as `HttpRouter` routes
 * (`Health.layerHttp`): `/health` reports every circuit (state, retryAfter, rates, counts) as JSON; `/ready` answers
 * 503 while a circuit marked critical is Open.
 *
 * ```ts
 * import { CircuitBreaker, Health } from "effect-fallback"
 *
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("app/PaymentsBreaker") {}
 * class SearchBreaker extends CircuitBreaker.Service<SearchBreaker>()("app/SearchBreaker") {}
 *
 * // GET /health and GET /ready on the application's HttpRouter; not ready while Charge is Open
 * const HealthRoutes = Health.layerHttp({ breakers: [PaymentsBreaker, SearchBreaker], critical: ["Charge"] })
 * ```
 *
 * @since 0.2.0
 */
import type { Context, Effect, Layer } from "effect"
import type { HttpRouter } from "effect/http"
import type { CircuitBreaker, Mode, State, Stats } from "./CircuitBreaker.ts"
import * as internal from "./internal/health.ts"
import * as errors from "./internal/healthErrors.ts"

/**
 * One circuit in a report. Durations are in milliseconds; a rate is `null` until the circuit's window has
 * `minimumCalls` outcomes (or when the circuit has no window).
 *
 * @since 0.2.0
 * @category models
 */
export interface CircuitReport {
  readonly domain: string
  readonly id: string
  readonly state: State
  readonly mode: Mode
  readonly forced: boolean
  readonly critical: boolean
  /** Time left before an Open circuit admits a trial call; `null` unless Open (and for a forced opening). */
  readonly retryAfterMillis: number | null
  readonly failureRate: number | null
  readonly slowCallRate: number | null
  readonly successes: number
  readonly failures: number
  readonly rejected: number
}

/**
 * The circuits of the given breakers: `status` is `"ok"` when every circuit is Closed, `"degraded"` otherwise;
 * `ready` is `false` while a critical circuit is Open.
 *
 * @since 0.2.0
 * @category models
 */
export interface Report {
  readonly status: "ok" | "degraded"
  readonly ready: boolean
  readonly circuits: ReadonlyArray<CircuitReport>
}

/**
 * Which circuits are critical: circuit ids (`"Charge"`, matched in every domain) or `"domain/id"` strings, or a
 * predicate on a circuit's stats (one that throws counts the circuit as critical).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReportOptions {
  readonly critical?: ReadonlyArray<string> | ((circuit: Stats) => boolean) | undefined
}

/**
 * The settings of `layerHttp`.
 *
 * @since 0.2.0
 * @category models
 */
export interface HttpOptions<Keys extends ReadonlyArray<Context.Key<any, CircuitBreaker>>> extends ReportOptions {
  /** Service keys of the domain breakers to report. */
  readonly breakers: Keys
  /** Default `/health`. */
  readonly path?: `/${string}` | undefined
  /** Default `/ready`. */
  readonly readinessPath?: `/${string}` | undefined
}

/**
 * The services a list of breaker keys stands for.
 *
 * @since 0.2.0
 * @category models
 */
export type Identifiers<Keys extends ReadonlyArray<Context.Key<any, any>>> =
  Keys[number] extends Context.Key<infer I, any> ? I : never

/**
 * Reads every circuit of the given breakers. Options of the wrong type (from untyped code: a `critical` that is
 * neither an array of ids nor a predicate, `breakers` that is not an array) die with `HealthConfigError`.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, Health } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const payments = yield* CircuitBreaker.make("payments")
 *   yield* payments.open("Charge")
 *   const report = yield* Health.report([payments], { critical: ["Charge"] })
 *   return report.ready // false
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const report: (breakers: ReadonlyArray<CircuitBreaker>, options?: ReportOptions) => Effect.Effect<Report> =
  internal.report

/**
 * Adds two routes to the `HttpRouter`: `GET /health` answers 200 with the `Report` as JSON; `GET /ready` answers
 * 200 `{ "ready": true }`, or 503 `{ "ready": false, "open": ["domain/id", ...] }` while a critical circuit is Open,
 * with a `Retry-After` of the shortest time left before one of them admits a trial. Options of the wrong type (from
 * untyped code: no breakers, a path without a leading `/`, a `critical` that is neither ids nor a predicate) make
 * the layer die with `HealthConfigError`, naming the field.
 *
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { createServer } from "node:http"
 * import { CircuitBreaker, Health } from "effect-fallback"
 *
 * class ApiBreaker extends CircuitBreaker.Service<ApiBreaker>()("app/ApiBreaker") {}
 *
 * const ServerLive = HttpRouter.serve(
 *   Health.layerHttp({ breakers: [ApiBreaker], critical: (circuit) => circuit.id.startsWith("payments") })
 * ).pipe(
 *   Layer.provide(CircuitBreaker.layer(ApiBreaker)),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 }))
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerHttp: <const Keys extends ReadonlyArray<Context.Key<any, CircuitBreaker>>>(
  options: HttpOptions<Keys>
) => Layer.Layer<never, never, HttpRouter.HttpRouter | Identifiers<Keys>> = internal.layerHttp

/**
 * An option that cannot mean anything (from untyped code), naming the field, what was expected and what was given.
 *
 * ```ts
 * import { Cause, Effect, Exit } from "effect"
 * import { CircuitBreaker, Health } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const payments = yield* CircuitBreaker.make("payments")
 *   const exit = yield* Effect.exit(Health.report([payments], { critical: "Charge" as any }))
 *   return Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined // HealthConfigError: critical must be ...
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const HealthConfigError: typeof errors.HealthConfigError = errors.HealthConfigError

/**
 * The instance type of `HealthConfigError`.
 *
 * @since 0.2.0
 * @category errors
 */
export type HealthConfigError = errors.HealthConfigError
