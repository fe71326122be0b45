/**
 * A live circuit dashboard for Effect's `HttpRouter`: one self-contained page (no CDN, works offline) that shows every
 * circuit of the given breakers as it changes state, with its call rates, and a Server-Sent Events stream behind it.
 * See docs/Dashboard.md.
 *
 * ```ts
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { CircuitBreaker, Dashboard } from "effect-fallback"
 * import { createServer } from "node:http"
 *
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("shop/Payments") {}
 *
 * const Server = HttpRouter.serve(Dashboard.layer([PaymentsBreaker])).pipe(
 *   Layer.provide(CircuitBreaker.layer(PaymentsBreaker, { failureThreshold: 5 })),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8080, host: "127.0.0.1" }))
 * ) // serves http://127.0.0.1:8080/circuits
 * ```
 *
 * @since 0.2.0
 */
import type { Context, Duration, Effect, Layer } from "effect"
import type { HttpRouter, HttpServerRequest } from "effect/http"
import type { CircuitBreaker } from "./CircuitBreaker.ts"
import * as internal from "./internal/dashboard.ts"
import * as internalOptions from "./internal/dashboardOptions.ts"

/**
 * The settings of a dashboard.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Where the page is served; the stream is at `<path>/events`, the controls at `<path>/control`. Default `/circuits`. */
  readonly path?: `/${string}` | undefined
  /**
   * Enables the manual controls (`open`, `close`, `reset`, `setMode`, POST only) for the requests it admits; it is
   * also asked when a page connects, to decide whether the page shows the controls. A check that fails, dies or
   * throws refuses the request. Without it the dashboard is read-only.
   */
  readonly authorize?: ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>) | undefined
  /** How often the page is updated; calls are counted per interval. Default 1 second, from 50 ms to 1 minute. */
  readonly sampleInterval?: Duration.Input | undefined
  /** Samples kept per tile for its chart. Default 60, an integer from 1 to 600. */
  readonly historySamples?: number | undefined
  /** Closed circuits per domain that get a tile (the others are counted). Default 20, an integer from 0 to 1000. */
  readonly maxClosedPerDomain?: number | undefined
  /** Tiles per domain, whatever their state. Default 200, an integer from 1 to 10000. */
  readonly maxTilesPerDomain?: number | undefined
  /** Transitions listed on the page (and sent per interval at most). Default 20, an integer from 1 to 1000. */
  readonly recentTransitions?: number | undefined
}

/**
 * A dashboard setting out of its allowed range (or no breaker, or two breakers of one domain), reported when the
 * layer builds.
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { CircuitBreaker, Dashboard } from "effect-fallback"
 *
 * class B extends CircuitBreaker.Service<B>()("B") {}
 * const failed = Effect.flip(
 *   Layer.build(
 *     Dashboard.layer([B], { sampleInterval: "1 millis" }).pipe(
 *       Layer.provide(CircuitBreaker.layer(B)),
 *       Layer.provide(HttpRouter.layer)
 *     )
 *   )
 * ).pipe(Effect.scoped) // DashboardConfigError: sampleInterval must be a duration from 50 ms to 1 minute
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const DashboardConfigError: typeof internalOptions.DashboardConfigError = internalOptions.DashboardConfigError

/**
 * The instance type of `DashboardConfigError`.
 *
 * @since 0.2.0
 * @category errors
 */
export type DashboardConfigError = internalOptions.DashboardConfigError

/**
 * Adds the dashboard's routes to the current `HttpRouter`: `GET <path>` (the page), `GET <path>/events` (the
 * Server-Sent Events stream) and `POST <path>/control` (the manual controls, refused unless `authorize` admits the
 * request). The breakers are followed from the moment the layer is built until its scope closes.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, Dashboard } from "effect-fallback"
 *
 * class UsersBreaker extends CircuitBreaker.Service<UsersBreaker>()("app/Users") {}
 * class OrdersBreaker extends CircuitBreaker.Service<OrdersBreaker>()("app/Orders") {}
 *
 * // Controls for requests that carry the operator's token (EventSource sends cookies, not headers).
 * const Routes = Dashboard.layer([UsersBreaker, OrdersBreaker], {
 *   path: "/ops/circuits",
 *   authorize: (request) => Effect.succeed(request.cookies["ops-token"] === process.env.OPS_TOKEN)
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: <const Keys extends ReadonlyArray<Context.Key<any, CircuitBreaker>>>(
  breakers: Keys,
  options?: Options
) => Layer.Layer<
  never,
  DashboardConfigError,
  HttpRouter.HttpRouter | (Keys[number] extends Context.Key<infer I, any> ? I : never)
> = internal.layer
