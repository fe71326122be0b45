/**
 * Ref-backed circuit breakers provided as Layer services: one breaker per domain, one isolated circuit per id. The
 * `Ref` of a layer build holds the breaker's circuits (a `Map` from id to circuit that gains a circuit on its first
 * use); each circuit is a synchronous state machine changed in place.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class UsersBreaker extends CircuitBreaker.Service<UsersBreaker>()("app/UsersBreaker") {}
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* UsersBreaker
 *   return yield* Effect.succeed("profile").pipe(breaker.protect("GetUserProfile"))
 * }).pipe(Effect.provide(CircuitBreaker.layer(UsersBreaker, { failureThreshold: 3, resetTimeout: "30 seconds" })))
 * ```
 *
 * @since 0.1.0
 */
import type { Context, Duration, Effect, Layer, Metric, Schedule, Stream } from "effect"
import * as internal from "./internal/circuitBreaker.ts"
import * as internalConfig from "./internal/circuitBreakerConfig.ts"
import * as internalMetrics from "./internal/circuitBreakerMetrics.ts"
import * as errors from "./internal/circuitBreakerErrors.ts"
import * as internalRedis from "./internal/redisCircuitBreaker.ts"

/**
 * The three states of a circuit.
 *
 * @since 0.1.0
 * @category models
 */
export type State = "Closed" | "Open" | "HalfOpen"

/**
 * How a circuit treats calls: `normal` enforces, `disabled` admits everything and records nothing,
 * `metricsOnly` records and reports outcomes and transitions but never rejects a call.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = "normal" | "disabled" | "metricsOnly"

/**
 * Why a circuit changed state.
 *
 * @since 0.1.0
 * @category models
 */
export type TransitionReason =
  | "failureThreshold"
  | "failureRate"
  | "slowCallRate"
  | "resetTimeout"
  | "trialSucceeded"
  | "trialFailed"
  | "halfOpenTimeout"
  | "forcedOpen"
  | "manualClose"
  | "reset"

/**
 * A state change of one circuit, as published on `breaker.transitions`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly domain: string
  readonly id: string
  readonly from: State
  readonly to: State
  /** Epoch milliseconds of the breaker's `Clock`. */
  readonly at: number
  readonly reason: TransitionReason
}

/**
 * What the circuit made of one call.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure" | "ignored" | "rejected"

/**
 * One call outcome or rejection, as published on `breaker.events`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallEvent {
  readonly domain: string
  readonly id: string
  readonly outcome: Outcome
  /** `true` when the call took strictly longer than `slowCall.duration` (never for ignored calls). */
  readonly slow: boolean
  /** Milliseconds the call ran (0 for rejections). */
  readonly durationMillis: number
  readonly at: number
  /** The circuit's state after the outcome was recorded. */
  readonly state: State
}

/**
 * A snapshot of one circuit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly domain: string
  readonly id: string
  readonly state: State
  readonly mode: Mode
  /** `true` while the circuit is held open by `open(id)`. */
  readonly forced: boolean
  readonly consecutiveFailures: number
  readonly halfOpenSuccesses: number
  readonly halfOpenInFlight: number
  /** Outcomes recorded since the circuit was created or reset. */
  readonly successes: number
  readonly failures: number
  readonly ignored: number
  readonly rejected: number
  readonly slow: number
  /** Outcomes currently in the rate window. */
  readonly windowCalls: number
  /** Failure rate in the window, `undefined` until `minimumCalls` outcomes are in it. */
  readonly failureRate: number | undefined
  /** Slow-call rate in the window, `undefined` until `minimumCalls` outcomes are in it. */
  readonly slowCallRate: number | undefined
  /** Epoch millis of the last opening, while Open or HalfOpen. */
  readonly openedAt: number | undefined
  /** Time left before an Open circuit admits a trial call. */
  readonly retryAfter: Duration.Duration | undefined
  /** Consecutive openings, the index into the `resetTimeout` schedule. */
  readonly openings: number
}

/**
 * Which failures a circuit ignores: a non-empty list of `_tag`s, or a predicate.
 *
 * @since 0.1.0
 * @category models
 */
export type FailureFilter = ReadonlyArray<string> | ((error: unknown) => boolean)

/**
 * The settings of a domain breaker. Every circuit of the domain uses them.
 *
 * @since 0.1.0
 * @category options
 */
export interface Options {
  /** Counted failures in a row that open a Closed circuit. Default 5, an integer >= 1. */
  readonly failureThreshold?: number | undefined
  /**
   * How long an opening lasts before trial calls are admitted. Default 60 seconds. A `Schedule` gives growing
   * backoff: the n-th consecutive opening lasts the schedule's n-th delay.
   */
  readonly resetTimeout?: Duration.Input | Schedule.Schedule<unknown, unknown> | undefined
  /** Upper bound of any opening, including retry-after hints. Default: unbounded. */
  readonly maxResetTimeout?: Duration.Input | undefined
  /**
   * How long a circuit must stay Closed before the consecutive-openings count (the schedule index) starts over.
   * Default: the last opening's duration.
   */
  readonly backoffResetAfter?: Duration.Input | undefined
  /** Successes in HalfOpen that close the circuit. Default 1, an integer >= 1. */
  readonly successThreshold?: number | undefined
  /** Trial calls admitted at once in HalfOpen; others are rejected. Default 1, an integer >= 1. */
  readonly halfOpenMaxCalls?: number | undefined
  /**
   * A HalfOpen circuit whose trials have not decided within this time goes back to Open (`onTimeout: "reopen"`,
   * the default), or its trial calls are interrupted and counted as failures (`onTimeout: "interrupt"`).
   */
  readonly halfOpenTimeout?:
    | Duration.Input
    | { readonly duration: Duration.Input; readonly onTimeout?: "reopen" | "interrupt" | undefined }
    | undefined
  /** Trip on the failure rate of a sliding window, beside `failureThreshold`. */
  readonly failureRate?:
    | {
        /** Rate in (0, 1] at or above which the circuit opens. */
        readonly threshold: number
        /** Outcomes needed in the window before the rate is defined. Default 10. */
        readonly minimumCalls?: number | undefined
        /** The last N outcomes (a number) or the outcomes of the last T (a duration string or Duration). */
        readonly window: number | Duration.Input
      }
    | undefined
  /** Trip on the rate of slow calls (successes or failures slower than `duration`). */
  readonly slowCall?:
    | {
        readonly duration: Duration.Input
        /** Rate in (0, 1] at or above which the circuit opens. */
        readonly rateThreshold: number
        /** Outcomes needed before the slow rate is defined; defaults to `failureRate.minimumCalls` or 10. */
        readonly minimumCalls?: number | undefined
        /** The rate window; defaults to `failureRate.window` or the last 100 outcomes. */
        readonly window?: number | Duration.Input | undefined
      }
    | undefined
  /** Failures that are neither successes nor failures for the circuit. */
  readonly exclude?: FailureFilter | undefined
  /** Successful values that count as failures (the value is still returned). */
  readonly isFailure?: ((value: unknown) => boolean) | undefined
  /** A retry-after hint carried by a failure (e.g. a Retry-After header); it lengthens the opening it causes. */
  readonly retryAfter?: ((error: unknown) => Duration.Input | undefined) | undefined
  /** The mode new circuits start in. Default `normal`. */
  readonly mode?: Mode | undefined
  /** Capacity of the `events` buffer; slow subscribers lose the oldest events. Default 1024. */
  readonly eventBufferSize?: number | undefined
  /**
   * What the breaker's metrics cover beyond the domain's own series. See `MetricsOptions`.
   *
   * @since 0.3.0
   */
  readonly metrics?: MetricsOptions | undefined
  /**
   * The most circuits the breaker keeps before it drops idle ones, least recently used first. Default 100,000
   * (a few tens of MB at most, see docs/CircuitBreaker.md), an integer >= 1 or `Infinity`. Beyond it, a new circuit
   * first drops an idle one (Closed, nothing counted, not forced, in the breaker's mode); failing that, the least
   * recently used Closed one with counts, or an Open one whose opening is over. A circuit still Open, HalfOpen or
   * forced circuits, and circuits switched to another mode, are never dropped, so they may take the breaker past the
   * cap (it comes back to it once they end). A dropped circuit comes back Closed with empty counts on its next use.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { CircuitBreaker } from "effect-fallback"
   *
   * class TenantsBreaker extends CircuitBreaker.Service<TenantsBreaker>()("app/TenantsBreaker") {}
   *
   * // One circuit per tenant: at most 10,000 kept, and none left idle for more than 15 minutes.
   * const TenantsBreakerLive = CircuitBreaker.layer(TenantsBreaker, { maxCircuits: 10_000, idleTimeout: "15 minutes" })
   *
   * const call = (tenant: string) =>
   *   TenantsBreaker.use((breaker) => Effect.succeed("ok").pipe(breaker.protect(tenant)))
   * ```
   *
   * @since 0.3.0
   * @category options
   */
  readonly maxCircuits?: number | undefined
  /**
   * Drops a circuit left idle (Closed, nothing counted, not forced, in the breaker's mode) for this long, checked by
   * a background fiber of the breaker every quarter of it: a circuit goes between one and 1.25 idle timeouts after
   * its last call. At least 1 second. Default: none (only `maxCircuits` drops circuits).
   *
   * ```ts
   * import { CircuitBreaker } from "effect-fallback"
   *
   * class UsersBreaker extends CircuitBreaker.Service<UsersBreaker>()("app/UsersBreaker") {}
   *
   * const UsersBreakerLive = CircuitBreaker.layer(UsersBreaker, { idleTimeout: "10 minutes" })
   * ```
   *
   * @since 0.3.0
   * @category options
   */
  readonly idleTimeout?: Duration.Input | undefined
}

/**
 * The metric options of a breaker. The domain's series (calls by outcome, transitions, circuits per state, call
 * durations) are always exported, whatever the number of circuits. Series of a single circuit (labelled `circuit`:
 * its calls, transitions, state and rates) are exported for at most `circuitSeries` circuits: the first ones
 * created; a circuit that is dropped gives its place to the next one created. So the number of series a breaker
 * exports is capped, however many circuit ids it sees.
 *
 * ```ts
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class TenantsBreaker extends CircuitBreaker.Service<TenantsBreaker>()("app/TenantsBreaker") {}
 *
 * // One circuit per tenant: the domain's series only, no series per tenant.
 * const TenantsBreakerLive = CircuitBreaker.layer(TenantsBreaker, { metrics: { circuitSeries: 0 } })
 * ```
 *
 * @since 0.3.0
 * @category options
 */
export interface MetricsOptions {
  /**
   * How many circuits get series of their own: an integer from 0 (none) to 10,000. Default 100. From configuration:
   * `<PREFIX>_METRICS_CIRCUIT_SERIES`.
   */
  readonly circuitSeries?: number | undefined
}

/**
 * Options of `protectStream`.
 *
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class FeedBreaker extends CircuitBreaker.Service<FeedBreaker>()("app/FeedBreaker") {}
 *
 * // A HalfOpen trial succeeds only when the whole feed was read, not when a consumer stopped after a first page.
 * const firstPage = Effect.gen(function* () {
 *   const breaker = yield* FeedBreaker
 *   return yield* Stream.make(1, 2, 3).pipe(
 *     breaker.protectStream("feed", { trialSuccess: "completion" }),
 *     Stream.take(2),
 *     Stream.runCollect
 *   )
 * })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface StreamOptions {
  /**
   * What makes a HalfOpen trial stream a success: `"firstItem"` (default), its first item when the consumer stops
   * early; `"completion"`, only its completion (a trial stopped early then decides nothing and returns its permit).
   */
  readonly trialSuccess?: "firstItem" | "completion" | undefined
}

/**
 * A domain breaker: one isolated circuit per id.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  readonly domain: string
  /** Runs an effect through the circuit `id`; fails with `CircuitOpenError` when the circuit does not admit it. */
  readonly protect: (id: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpenError, R>
  /**
   * Runs a stream through the circuit `id`: asked once when the stream starts; completion records a success, a
   * counted failure at any item records a failure. A consumer that stops after the first item records a success
   * (for a HalfOpen trial, only with `trialSuccess: "firstItem"`, the default); one that stops before it records
   * nothing and returns any HalfOpen permit.
   */
  readonly protectStream: (
    id: string,
    options?: StreamOptions
  ) => <A, E, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, E | CircuitOpenError, R>
  /** The state of a circuit; an Open circuit past its reset timeout reads HalfOpen. */
  readonly state: (id: string) => Effect.Effect<State>
  readonly stats: (id: string) => Effect.Effect<Stats>
  /** Snapshots of every circuit this breaker has created. */
  readonly circuits: Effect.Effect<ReadonlyArray<Stats>>
  /** State changes of every circuit, from the moment of subscription. */
  readonly transitions: Stream.Stream<Transition>
  /** Every call outcome and rejection, from the moment of subscription (a sliding buffer). */
  readonly events: Stream.Stream<CallEvent>
  /** Opens the circuit and holds it open until `close` or `reset`. */
  readonly open: (id: string) => Effect.Effect<void>
  /** Closes the circuit and clears its counts. */
  readonly close: (id: string) => Effect.Effect<void>
  /** Forgets everything about the circuit: Closed, counts and backoff cleared. */
  readonly reset: (id: string) => Effect.Effect<void>
  /** Switches the circuit's mode at run time. */
  readonly setMode: (id: string, mode: Mode) => Effect.Effect<void>
}

/**
 * Declares the service key of a domain breaker.
 *
 * ```ts
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("app/PaymentsBreaker") {}
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export const Service: <Self>() => <const Key extends string>(
  key: Key
) => Context.ServiceClass<Self, Key, CircuitBreaker> = internal.Service

/**
 * A service key of a domain breaker.
 *
 * @since 0.1.0
 * @category services
 */
export type Key<Self> = Context.Key<Self, CircuitBreaker>

/**
 * Raised instead of running a call when its circuit does not admit it. Built without a stack trace, so a rejection
 * is cheap.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * const handled = (call: Effect.Effect<string, CircuitBreaker.CircuitOpenError>) =>
 *   call.pipe(Effect.catchTag("CircuitOpenError", (e) => Effect.succeed(`${e.id} is ${e.state}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const CircuitOpenError: typeof errors.CircuitOpenError = errors.CircuitOpenError

/**
 * The instance type of `CircuitOpenError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CircuitOpenError = errors.CircuitOpenError

/**
 * Is this value a `CircuitOpenError`?
 *
 * ```ts
 * import { CircuitBreaker } from "effect-fallback"
 *
 * CircuitBreaker.isCircuitOpenError(new Error("boom")) // false
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const isCircuitOpenError: typeof errors.isCircuitOpenError = errors.isCircuitOpenError

/**
 * A breaker setting out of its allowed range, reported when the layer builds.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class B extends CircuitBreaker.Service<B>()("B") {}
 * const failed = Effect.flip(Effect.provide(B.use(Effect.succeed), CircuitBreaker.layer(B, { failureThreshold: 0 })))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const CircuitBreakerConfigError: typeof errors.CircuitBreakerConfigError = errors.CircuitBreakerConfigError

/**
 * The instance type of `CircuitBreakerConfigError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CircuitBreakerConfigError = errors.CircuitBreakerConfigError

/**
 * Builds a domain breaker: one `Ref` of circuits per layer build (a `Map` from id to circuit, which gains a circuit
 * on first use), one isolated circuit per id, its state kept in this process.
 *
 * ```ts
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class RequestsBreaker extends CircuitBreaker.Service<RequestsBreaker>()("app/RequestsBreaker") {}
 * const RequestsBreakerLive = CircuitBreaker.layer(RequestsBreaker, { failureThreshold: 5, resetTimeout: "60 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: <Self>(
  key: Context.Key<Self, CircuitBreaker>,
  options?: Options
) => Layer.Layer<Self, CircuitBreakerConfigError> = internal.layer

/**
 * Builds a domain breaker from configuration read through Effect `Config` (the environment by default): one variable
 * per setting, named `<prefix>_<SETTING>`, e.g. `PAYMENTS_BREAKER_FAILURE_THRESHOLD=3`,
 * `PAYMENTS_BREAKER_RESET_TIMEOUT="30 seconds"`, `PAYMENTS_BREAKER_FAILURE_RATE_WINDOW=100`. Unset variables keep
 * `defaults` (then the built-in defaults). A value that does not parse or is out of range fails the layer with a
 * `CircuitBreakerConfigError` naming the variable and the allowed range. The README lists every setting.
 *
 * ```ts
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("app/PaymentsBreaker") {}
 *
 * const PaymentsBreakerLive = CircuitBreaker.layerConfig(PaymentsBreaker, {
 *   prefix: "PAYMENTS_BREAKER",
 *   defaults: { failureThreshold: 5, exclude: ["CardDeclined"] }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: <Self>(
  key: Context.Key<Self, CircuitBreaker>,
  options: { readonly prefix: string; readonly defaults?: Options | undefined }
) => Layer.Layer<Self, CircuitBreakerConfigError> = internalConfig.layerConfig

/**
 * Builds a breaker as an Effect, for use without a service key (tests, scripts).
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("adhoc", { failureThreshold: 2 })
 *   return yield* breaker.state("any")
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  domain: string,
  options?: Options
) => Effect.Effect<CircuitBreaker, CircuitBreakerConfigError, import("effect").Scope.Scope> = internal.make

/**
 * The breaker's metrics, without attributes. Domain-level series carry `domain` (the breaker's domain) and are
 * exported whatever the number of circuits: `calls` (with `outcome`: `success`, `failure`, `ignored`, `rejected`,
 * `slow`; slow calls are counted as `slow` and as their success or failure), `transitions` (with `from` and `to`),
 * `circuits` (with `state`: how many circuits are in each state) and `callDuration` (seconds; recorded for policies
 * that time calls: `slowCall`, a time window, and for trial calls).
 *
 * Per-circuit series carry `domain` and `circuit` (the circuit id) and exist only for the circuits given series of
 * their own (`Options.metrics.circuitSeries`, by default the first 100 created): `circuitCalls` (with `outcome`),
 * `circuitTransitions` (with `from` and `to`), `state` (0 Closed, 1 HalfOpen, 2 Open) and, for circuits with a rate
 * window, `failureRate` and `slowCallRate` (NaN until `minimumCalls` outcomes are in the window). A family is either
 * domain-level or per-circuit, so summing one by `domain` never counts a call twice. Label values are strings.
 *
 * Series live in the `Metric.MetricRegistry` current when the breaker was built. When the breaker's scope closes they
 * keep their last values (an exporter's final flush at shutdown still reports them) until a breaker with the same
 * domain (and circuit) replaces them. A circuit dropped while the breaker runs loses its own series.
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * const rejections = Metric.value(
 *   Metric.withAttributes(CircuitBreaker.metrics.calls, { domain: "app/Users", outcome: "rejected" })
 * )
 * const openCircuits = Metric.value(
 *   Metric.withAttributes(CircuitBreaker.metrics.circuits, { domain: "app/Users", state: "Open" })
 * )
 * const getUserRejections = Metric.value(
 *   Metric.withAttributes(CircuitBreaker.metrics.circuitCalls, {
 *     domain: "app/Users",
 *     circuit: "GetUser",
 *     outcome: "rejected"
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly calls: Metric.Counter<number>
  readonly transitions: Metric.Counter<number>
  /** @since 0.3.0 */
  readonly circuits: Metric.Gauge<number>
  readonly callDuration: Metric.Histogram<number>
  /** @since 0.3.0 */
  readonly circuitCalls: Metric.Counter<number>
  /** @since 0.3.0 */
  readonly circuitTransitions: Metric.Counter<number>
  readonly state: Metric.Gauge<number>
  readonly failureRate: Metric.Gauge<number>
  readonly slowCallRate: Metric.Gauge<number>
} = internalMetrics.metrics

/**
 * Builds a domain breaker whose circuits are shared by every process that uses the same `prefix` and service key,
 * through Effect's `Redis` service. Calls never wait on Redis: admission reads the process's own circuits, outcomes
 * are sent in batches every `flushInterval` (a Lua script trips the circuit from the aggregate of all processes), and
 * transitions reach the other processes through pub/sub, within about `flushInterval` plus the pub/sub latency. Only
 * a HalfOpen trial asks Redis first, for one of the `halfOpenMaxCalls` permits of the whole cluster, waiting at most
 * `commandTimeout`. When Redis is unreachable the circuits run on local state and re-sync when it is back. Provide
 * `Redis` with `NodeRedis.layer({ ..., disableOfflineQueue: true })`, so commands fail at once during an outage.
 * See docs/Redis.md.
 *
 * ```ts
 * import { NodeRedis } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { CircuitBreaker } from "effect-fallback"
 *
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("app/PaymentsBreaker") {}
 *
 * const PaymentsBreakerLive = CircuitBreaker.layerRedis(PaymentsBreaker, { failureThreshold: 5 }, {
 *   prefix: "shop:",
 *   flushInterval: "100 millis"
 * }).pipe(Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379", disableOfflineQueue: true })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = <Self>(
  key: Context.Key<Self, CircuitBreaker>,
  options: Options = {},
  redis: internalRedis.RedisOptions = {}
): Layer.Layer<Self, CircuitBreakerConfigError, import("effect/persistence").Redis.Redis> =>
  internalRedis.layer(key, options, redis)
