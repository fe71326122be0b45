/**
 * Circuit breakers on Effect's `HttpClient` (`effect/http`): every request goes through a circuit of a domain
 * breaker, one circuit per host and port by default. Transport errors, 5xx, 408 and 429 count as failures; any other
 * response is a success (a 404 says nothing about the dependency's health). A request its circuit does not admit is
 * never sent and fails with `CircuitOpenError`. Responses are handed back as they came: bodies are not read or
 * buffered, so streaming responses stay streaming.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * class ApiBreaker extends CircuitBreaker.Service<ApiBreaker>()("app/ApiBreaker") {}
 *
 * const getUser = (id: string) =>
 *   Effect.gen(function* () {
 *     const client = (yield* HttpClient.HttpClient).pipe(HttpResilience.protect(yield* ApiBreaker))
 *     const response = yield* client.get(`http://users.internal/users/${id}`)
 *     return yield* response.json
 *   })
 *
 * const ApiBreakerLive = CircuitBreaker.layer(ApiBreaker, HttpResilience.breakerOptions({ failureThreshold: 5 }))
 * ```
 *
 * @since 0.2.0
 */
import type { Context, Duration, Layer } from "effect"
import type { HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import type { CircuitBreaker, CircuitOpenError, Options as BreakerOptions } from "./CircuitBreaker.ts"
import * as internal from "./internal/httpResilience.ts"
import * as errors from "./internal/httpResilienceErrors.ts"

/**
 * How requests are mapped to circuits and which responses count as failures.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The circuit of a request: `"host"` (the default) is `hostname:port`, with the scheme's default port spelled
   * out; a function of the request may key by path prefix, tenant header, etc. Ids should come from a bounded set:
   * each one is a circuit and a metric series. A request whose url does not parse (or for which the function
   * returns `undefined`) goes to the client unprotected, which fails it with its own `InvalidUrlError`.
   */
  readonly circuit?: "host" | ((request: HttpClientRequest.HttpClientRequest) => string | undefined) | undefined
  /** Which responses count as failures of the circuit. Default: 5xx, 408 and 429. */
  readonly isFailure?: ((response: HttpClientResponse.HttpClientResponse) => boolean) | undefined
}

/**
 * Decorates a client: each request runs through the circuit `options.circuit` picks, on `breaker`. Data-last
 * (`client.pipe(HttpResilience.protect(breaker, options))`) or data-first. A rejected request fails with
 * `CircuitOpenError` and is not sent. A response that counts as a failure is still returned to the caller (use
 * `HttpClient.filterStatusOk` to fail on it); a client error carrying a response (`StatusCodeError`, from a
 * `filterStatusOk` applied before this) is classified by its response. A callback that throws fails the request
 * with a defect. An option of the wrong type (from untyped code) throws `HttpResilienceConfigError` at once.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const breaker = yield* CircuitBreaker.make("payments", HttpResilience.breakerOptions({ failureThreshold: 3 }))
 *   const client = (yield* HttpClient.HttpClient).pipe(
 *     HttpResilience.protect(breaker, { circuit: (request) => new URL(request.url).pathname.split("/")[1] ?? "root" }),
 *     HttpClient.filterStatusOk
 *   )
 *   return yield* client.get("http://payments.internal/charges/42")
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const protect: {
  (
    breaker: CircuitBreaker,
    options?: Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | CircuitOpenError, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    breaker: CircuitBreaker,
    options?: Options
  ): HttpClient.HttpClient.With<E | CircuitOpenError, R>
} = internal.protect

/**
 * Decorates the `HttpClient` service itself, so every user of `HttpClient` in a program goes through the circuits of
 * the breaker behind `key`, with no code change. The service keeps `HttpClient`'s type, so a rejected request fails
 * with an `HttpClientError` whose reason is a `TransportError` caused by the `CircuitOpenError` (read it back with
 * `HttpResilience.circuitOpenError`). Nothing is sent. An option of the wrong type makes the layer die with
 * `HttpResilienceConfigError`.
 *
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * class ApiBreaker extends CircuitBreaker.Service<ApiBreaker>()("app/ApiBreaker") {}
 *
 * const HttpLive = HttpResilience.layer(ApiBreaker).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici),
 *   Layer.provide(CircuitBreaker.layer(ApiBreaker, HttpResilience.breakerOptions({ failureThreshold: 5 })))
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: <Self>(
  key: Context.Key<Self, CircuitBreaker>,
  options?: Options
) => Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | Self> = internal.layer

/**
 * Breaker options that honour `Retry-After`: a 429 or 503 response that counts as a failure and carries
 * `Retry-After` (delta-seconds or an HTTP date, parsed by Effect's `Headers.parseRetryAfter`) lengthens the opening
 * it causes to at least that delay, capped by `maxResetTimeout`. A malformed header is ignored and logged at Debug.
 * A `retryAfter` already in `options` is kept; the longer of the two hints wins.
 *
 * ```ts
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * class ApiBreaker extends CircuitBreaker.Service<ApiBreaker>()("app/ApiBreaker") {}
 *
 * const ApiBreakerLive = CircuitBreaker.layer(
 *   ApiBreaker,
 *   HttpResilience.breakerOptions({ failureThreshold: 5, resetTimeout: "10 seconds", maxResetTimeout: "5 minutes" })
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const breakerOptions: (options?: BreakerOptions) => BreakerOptions = internal.breakerOptions

/**
 * The retry-after hint of a failure recorded by `protect`, for a breaker built without `breakerOptions` (e.g.
 * `layerConfig`'s `defaults: { retryAfter: HttpResilience.retryAfter }`).
 *
 * ```ts
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * class ApiBreaker extends CircuitBreaker.Service<ApiBreaker>()("app/ApiBreaker") {}
 *
 * const ApiBreakerLive = CircuitBreaker.layerConfig(ApiBreaker, {
 *   prefix: "API_BREAKER",
 *   defaults: { retryAfter: HttpResilience.retryAfter }
 * })
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const retryAfter: (error: unknown) => Duration.Duration | undefined = internal.retryAfter

/**
 * The `CircuitOpenError` behind a rejected request: the error itself (from `protect`), or the cause of the
 * `TransportError` the `layer` form fails with; `undefined` for any other error.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 * import { HttpResilience } from "effect-fallback"
 *
 * const status = HttpClient.get("http://inventory.internal/health").pipe(
 *   Effect.map((response) => response.status),
 *   Effect.catch((error) => {
 *     const rejection = HttpResilience.circuitOpenError(error)
 *     return rejection === undefined ? Effect.fail(error) : Effect.succeed(503)
 *   })
 * )
 * ```
 *
 * @since 0.2.0
 * @category guards
 */
export const circuitOpenError: (error: unknown) => CircuitOpenError | undefined = internal.circuitOpenError

/**
 * The default failure classification: 5xx, 408 and 429 responses.
 *
 * ```ts
 * import { HttpResilience } from "effect-fallback"
 *
 * const options: HttpResilience.Options = {
 *   // a 404 on this API means its index is broken: count it too
 *   isFailure: (response) => response.status === 404 || HttpResilience.isFailureStatus(response)
 * }
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const isFailureStatus: (response: HttpClientResponse.HttpClientResponse) => boolean = internal.isFailureStatus

/**
 * An option of the wrong type given to `protect` or `layer` by untyped code, naming the field and what it must be.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 * import { CircuitBreaker, HttpResilience } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const breaker = yield* CircuitBreaker.make("api")
 *   const options = JSON.parse('{"circuit":"origin"}') as HttpResilience.Options
 *   return yield* Effect.try(() => (HttpClient.make(() => Effect.never)).pipe(HttpResilience.protect(breaker, options)))
 * })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const HttpResilienceConfigError: typeof errors.HttpResilienceConfigError = errors.HttpResilienceConfigError

/**
 * The instance type of `HttpResilienceConfigError`.
 *
 * @since 0.2.0
 * @category errors
 */
export type HttpResilienceConfigError = errors.HttpResilienceConfigError
