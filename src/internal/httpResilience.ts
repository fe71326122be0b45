import { Duration, Effect, Layer, Result } from "effect"
import type { Context } from "effect"
import { dual } from "effect/Function"
import { Headers, HttpClient, HttpClientError } from "effect/http"
import type { HttpClientRequest, HttpClientResponse } from "effect/http"
import type * as CB from "../CircuitBreaker.ts"
import type * as H from "../HttpResilience.ts"
import { isCircuitOpenError } from "./circuitBreakerErrors.ts"
import { FailedResponse, HttpResilienceConfigError, isFailedResponse } from "./httpResilienceErrors.ts"

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443" }

const parseHost = (url: string): string | undefined => {
  if (!URL.canParse(url)) return undefined
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port === "" ? (DEFAULT_PORTS[parsed.protocol] ?? "") : parsed.port}`
}

/** Circuit ids by the url's text up to its path: most requests go to a few origins, parsed once each. */
const hosts = new Map<string, string>()
const HOSTS_CAPACITY = 1024

/** `hostname:port`, the port spelled out even when it is the scheme's default; `undefined` for an unparsable url. */
export const hostOf = (request: HttpClientRequest.HttpClientRequest): string | undefined => {
  const url = request.url
  const authority = url.indexOf("://")
  if (authority === -1) return parseHost(url)
  const end = url.slice(authority + 3).search(/[/?#\\]/)
  const origin = end === -1 ? url : url.slice(0, authority + 3 + end)
  const cached = hosts.get(origin)
  if (cached !== undefined) return cached
  const host = parseHost(origin)
  if (host !== undefined) {
    if (hosts.size >= HOSTS_CAPACITY) hosts.clear()
    hosts.set(origin, host)
  }
  return host
}

/** Transport errors, 5xx, 408 and 429. @internal */
export const isFailureStatus = (response: HttpClientResponse.HttpClientResponse): boolean => {
  const status = response.status
  return status >= 500 || status === 408 || status === 429
}

/** The retry-after hint a failure carries, for the breaker's `retryAfter` option. @internal */
export const retryAfter = (error: unknown): Duration.Duration | undefined =>
  isFailedResponse(error) ? error.retryAfter : undefined

/** @internal */
export const breakerOptions = (options: CB.Options = {}): CB.Options => {
  const own = options.retryAfter
  if (own === undefined) return { ...options, retryAfter }
  return {
    ...options,
    retryAfter: (error) => {
      const hint = retryAfter(error)
      const theirs = own(error)
      if (hint === undefined) return theirs
      return theirs === undefined ? hint : Duration.max(hint, Duration.fromInputUnsafe(theirs))
    }
  }
}

const hintOf = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Duration.Duration | undefined> => {
  if (response.status !== 429 && response.status !== 503) return Effect.succeed(undefined)
  const header = response.headers["retry-after"]
  if (header === undefined) return Effect.succeed(undefined)
  const parsed = Headers.parseRetryAfter(header)
  if (Result.isFailure(parsed)) {
    return Effect.as(
      Effect.logDebug("HttpResilience: ignoring a malformed Retry-After header").pipe(
        Effect.annotateLogs({ retryAfter: header, status: response.status, url: response.request.url })
      ),
      undefined
    )
  }
  return Effect.clockWith((clock) =>
    Effect.succeed(Headers.retryAfterDelay(parsed.success, clock.currentTimeMillisUnsafe()))
  )
}

const failWith = (response: HttpClientResponse.HttpClientResponse, original: unknown) =>
  Effect.flatMap(hintOf(response), (hint) => Effect.fail(new FailedResponse({ response, retryAfter: hint, original })))

/** A client error that carries a response whose status is not a failure: the dependency answered. */
class Answered {
  readonly error: unknown
  constructor(error: unknown) {
    this.error = error
  }
}

const statusResponse = (error: unknown): HttpClientResponse.HttpClientResponse | undefined =>
  HttpClientError.isHttpClientError(error) && error.reason._tag === "StatusCodeError"
    ? error.reason.response
    : undefined

const classify = <E, R>(
  effect: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  isFailure: (response: HttpClientResponse.HttpClientResponse) => boolean
): Effect.Effect<HttpClientResponse.HttpClientResponse | Answered, E | FailedResponse, R> =>
  Effect.matchEffect(effect, {
    onSuccess: (response): Effect.Effect<HttpClientResponse.HttpClientResponse, FailedResponse> => {
      const failed = judge(isFailure, response)
      if (failed === true) return failWith(response, undefined)
      if (failed === false) return Effect.succeed(response)
      return Effect.andThen(failed, failWith(response, undefined))
    },
    onFailure: (error): Effect.Effect<Answered, E | FailedResponse> => {
      const response = statusResponse(error)
      if (response === undefined) return Effect.fail(error)
      const failed = judge(isFailure, response)
      if (failed === true) return failWith(response, error)
      if (failed === false) return Effect.succeed(new Answered(error))
      return Effect.andThen(failed, failWith(response, error))
    }
  })

/**
 * Whether a response counts as a failure. A user's `isFailure` that throws counts it as a failure (the breaker's own
 * rule for a throwing classifier), and the throw is logged: the effect returned instead of `true` does that.
 */
const judge = (
  isFailure: (response: HttpClientResponse.HttpClientResponse) => boolean,
  response: HttpClientResponse.HttpClientResponse
): boolean | Effect.Effect<void> => {
  try {
    return isFailure(response) === true
  } catch (error) {
    return Effect.logError(
      `HttpResilience: isFailure threw on ${response.request.method} ${response.request.url} (${response.status}); ` +
        "the response counts as a failure",
      error
    )
  }
}

const circuitOf = (options: H.Options): ((request: HttpClientRequest.HttpClientRequest) => string | undefined) => {
  const circuit = options.circuit
  if (circuit === undefined || circuit === "host") return hostOf
  if (typeof circuit !== "function") {
    throw new HttpResilienceConfigError({
      field: "circuit",
      value: circuit,
      expected: `"host" or a function of the request`
    })
  }
  return circuit
}

const isFailureOf = (options: H.Options): ((response: HttpClientResponse.HttpClientResponse) => boolean) => {
  const isFailure = options.isFailure
  if (isFailure === undefined) return isFailureStatus
  if (typeof isFailure !== "function") {
    throw new HttpResilienceConfigError({
      field: "isFailure",
      value: isFailure,
      expected: "a function of the response"
    })
  }
  return isFailure
}

const decorate = <E, R, E2>(
  self: HttpClient.HttpClient.With<E, R>,
  breaker: CB.CircuitBreaker,
  options: H.Options,
  rejected: (rejection: CB.CircuitOpenError, request: HttpClientRequest.HttpClientRequest) => E2
): HttpClient.HttpClient.With<E | E2, R> => {
  const circuitFor = circuitOf(options)
  const isFailure = isFailureOf(options)
  return HttpClient.transform(self, (effect, request) => {
    const id = circuitFor(request)
    if (id === undefined) return effect
    return Effect.matchEffect(breaker.protect(id)(classify(effect, isFailure)), {
      onSuccess: (value): Effect.Effect<HttpClientResponse.HttpClientResponse, E> =>
        value instanceof Answered ? Effect.fail(value.error as E) : Effect.succeed(value),
      onFailure: (error): Effect.Effect<HttpClientResponse.HttpClientResponse, E | E2> =>
        isFailedResponse(error)
          ? error.original === undefined
            ? Effect.succeed(error.response)
            : Effect.fail(error.original as E)
          : isCircuitOpenError(error)
            ? Effect.fail(rejected(error, request))
            : Effect.fail(error)
    })
  })
}

const asIs = (rejection: CB.CircuitOpenError): CB.CircuitOpenError => rejection

/** The layer's client keeps `HttpClient`'s error type: a rejection is a `TransportError` caused by it. */
const asTransportError = (
  rejection: CB.CircuitOpenError,
  request: HttpClientRequest.HttpClientRequest
): HttpClientError.HttpClientError =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request, cause: rejection, description: rejection.message })
  })

/** @internal */
export const protect: {
  (
    breaker: CB.CircuitBreaker,
    options?: H.Options
  ): <E, R>(self: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | CB.CircuitOpenError, R>
  <E, R>(
    self: HttpClient.HttpClient.With<E, R>,
    breaker: CB.CircuitBreaker,
    options?: H.Options
  ): HttpClient.HttpClient.With<E | CB.CircuitOpenError, R>
} = dual(
  (args) => HttpClient.isHttpClient(args[0]),
  <E, R>(self: HttpClient.HttpClient.With<E, R>, breaker: CB.CircuitBreaker, options: H.Options | undefined) =>
    decorate(self, breaker, typeof options === "object" && options !== null ? options : {}, asIs)
)

/** @internal */
export const circuitOpenError = (error: unknown): CB.CircuitOpenError | undefined => {
  if (isCircuitOpenError(error)) return error
  if (HttpClientError.isHttpClientError(error) && error.reason._tag === "TransportError") {
    const cause = error.reason.cause
    return isCircuitOpenError(cause) ? cause : undefined
  }
  return undefined
}

/** @internal */
export const layer = <Self>(
  key: Context.Key<Self, CB.CircuitBreaker>,
  options: H.Options = {}
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | Self> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const breaker = yield* key
      return yield* Effect.try({
        try: () => decorate(client, breaker, options, asTransportError),
        catch: (error) => error
      }).pipe(Effect.orDie)
    })
  )
