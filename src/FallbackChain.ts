/**
 * An ordered chain of providers for one kind of answer: the first that succeeds answers, under one time budget,
 * optionally hedged, with a last-known-good memory, and with every degradation visible (logs, metrics, a span).
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const greetings = FallbackChain.make<string>("greetings").pipe(
 *   FallbackChain.add("live", (name: string) => Effect.fail(new Error(`no greeting service for ${name}`))),
 *   FallbackChain.add("static", (name) => Effect.succeed(`Hello, ${name}`))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* FallbackChain.execute(greetings, "Ada", { budget: "2 seconds" })
 *   return `${result.value} (from ${result.source})` // "Hello, Ada (from static)"
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Context, Duration, Effect, Metric } from "effect"
import type { Inspectable } from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import type * as Types from "effect/Types"
import type { CircuitBreaker } from "./CircuitBreaker.ts"
import * as internal from "./internal/fallbackChain.ts"
import * as errors from "./internal/fallbackChainErrors.ts"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: "~effect-fallback/FallbackChain" = internal.TypeId

/**
 * An ordered list of providers of `A` for an `Input`. `E` holds the failures that stop the chain (those outside a
 * provider's `on`), `R` the services the providers and their breakers need. A chain is an immutable value:
 * `add` returns a new chain.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const chain: FallbackChain.FallbackChain<string, number> = FallbackChain.make<string>("lengths").pipe(
 *   FallbackChain.add("exact", (s) => Effect.succeed(s.length))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FallbackChain<in Input, out A = never, out E = never, out R = never> extends Pipeable, Inspectable {
  readonly [TypeId]: {
    readonly _Input: Types.Contravariant<Input>
    readonly _A: Types.Covariant<A>
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
  }
  readonly name: string
  readonly providers: ReadonlyArray<Provider>
  /** Execute options applied to every call unless `execute` overrides them. */
  readonly options: ExecuteOptions
}

/**
 * What a chain tells about one of its providers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  readonly name: string
  readonly index: number
  /** `lastKnownGood` for the provider added by `lastKnownGood`. */
  readonly kind: "effect" | "lastKnownGood"
  readonly timeout: Duration.Duration | undefined
  readonly concurrency: number | undefined
  /** The circuit id, when the provider runs through a breaker. */
  readonly circuit: string | undefined
}

/**
 * Why a provider did not answer: it `failed` (a failure matched by its `on`, or a defect with `defects: true`), it
 * `timedOut` (its `timeout` or its share of the budget), it was `rejected` at once (an open circuit, or its
 * concurrency limit), or it was `skipped` because the budget was gone.
 *
 * @since 0.1.0
 * @category models
 */
export type FailureReason = errors.FailureReason

/**
 * One provider that did not answer. `error` is the provider's failure, a `ProviderTimeout`, a `CircuitOpenError`,
 * a `ConcurrencyLimitExceeded` or a `LastKnownGoodUnavailable`; `undefined` when it was skipped. `latency` is how
 * long it ran.
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * const describe = (failure: FallbackChain.ProviderFailure) => `${failure.source}: ${failure.reason}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderFailure extends errors.ProviderFailure {}

/**
 * The answer of a chain and how it was obtained.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const headers = (result: FallbackChain.FallbackResult<unknown>): Record<string, string> =>
 *   result.isFallback ? { "X-Fallback-Source": result.source, "X-Data-Freshness": "degraded" } : {}
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FallbackResult<out A> {
  readonly value: A
  /** The name of the provider that answered. */
  readonly source: string
  /** Its position in the chain; 0 is the primary. */
  readonly index: number
  /** `true` when a provider other than the primary answered. */
  readonly isFallback: boolean
  /** How long the answering provider took. */
  readonly latency: Duration.Duration
  /** How long the whole call took. */
  readonly elapsed: Duration.Duration
  /** What the providers before it did, in chain order. */
  readonly failures: ReadonlyArray<ProviderFailure>
  /** The age of the value when it came from `lastKnownGood`. */
  readonly staleness: Duration.Duration | undefined
}

/**
 * Options of one provider, besides `on`. `on` (which failures move to the next provider) is typed by `add`'s
 * overloads: a non-empty list of `_tag`s of the provider's error type, a refinement, or a predicate; omitted, every
 * typed failure moves on. Failures it does not match stop the chain and propagate, and stay in the error type.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderOptions<B = never> = {
  /** Also move on when the provider dies with a defect. Default `false`: a defect stops the chain. */
  readonly defects?: boolean | undefined
  /** The provider's own limit; it is interrupted past it and recorded as `timedOut`. */
  readonly timeout?: Duration.Input | undefined
  /**
   * At most this many calls of the provider at once; calls over it are rejected at once with
   * `ConcurrencyLimitExceeded` (reason `rejected`) rather than queued, so a fallback storm cannot pile up on a
   * weak fallback.
   */
  readonly concurrency?: number | undefined
} & (
  | {
      /** A domain breaker's service key: an open circuit skips the provider at once (reason `rejected`). */
      readonly breaker: Context.Key<B, CircuitBreaker>
      /** The circuit id within that breaker. */
      readonly id: string
    }
  | { readonly breaker?: undefined; readonly id?: undefined }
)

/**
 * What `add` returns when `on` names a tag the provider never fails with: the chain cannot be used, and the
 * compiler names the offending tags.
 *
 * @since 0.1.0
 * @category type-level
 */
export interface UnknownTags<Tags> {
  readonly "`on` names tags the provider never fails with": Tags
}

/**
 * `Ok` when every tag in `Tag` is a tag of `E`, else `UnknownTags`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type CheckTags<E, Tag extends string, Ok> = [Exclude<Tag, Types.Tags<E>>] extends [never]
  ? Ok
  : UnknownTags<Exclude<Tag, Types.Tags<E>>>

/**
 * Options of a call. Given to `make`, they apply to every call of the chain; given to `execute`, they override.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExecuteOptions {
  /**
   * A total time budget. Provider `i` of `n` gets `min(remaining, remaining / (n - i))` of what is left when it
   * starts and is interrupted past it; when nothing is left, the remaining providers are skipped.
   */
  readonly budget?: Duration.Input | undefined
  /**
   * Hedging: when the provider started last has not answered after this delay, the next one starts beside it.
   * The first success wins and the others are interrupted (they are not counted as failures).
   */
  readonly hedge?: Duration.Input | undefined
}

/**
 * Options of `lastKnownGood`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LastKnownGoodOptions<in Input> {
  /** The memory key of an input. Default `String(input)`. */
  readonly key?: ((input: Input) => string) | undefined
  /** A remembered value older than this is never served: stale data can be worse than an error. */
  readonly maxStaleness: Duration.Input
  /** How many keys are remembered; the least recently used is forgotten first. */
  readonly capacity: number
  /** The provider's name in results, logs and metrics. Default `"last_known_good"`. */
  readonly name?: string | undefined
}

/**
 * Every provider failed, timed out, was rejected or was skipped. The message lists each of them.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const chain = FallbackChain.make<void>("nothing").pipe(
 *   FallbackChain.add("broken", () => Effect.fail("down"))
 * )
 * const handled = FallbackChain.execute(chain, undefined).pipe(
 *   Effect.catchTag("AllFallbacksExhausted", (e) => Effect.succeed(e.failures.length)) // 1
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const AllFallbacksExhausted: typeof errors.AllFallbacksExhausted = errors.AllFallbacksExhausted

/**
 * @since 0.1.0
 * @category errors
 */
export type AllFallbacksExhausted = errors.AllFallbacksExhausted

/**
 * A provider did not answer within its `timeout` (`cause: "timeout"`) or its share of the budget
 * (`cause: "budget"`). Found in `ProviderFailure.error` with reason `timedOut`.
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * const isBudget = (error: unknown) => error instanceof FallbackChain.ProviderTimeout && error.cause === "budget"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ProviderTimeout: typeof errors.ProviderTimeout = errors.ProviderTimeout

/**
 * @since 0.1.0
 * @category errors
 */
export type ProviderTimeout = errors.ProviderTimeout

/**
 * A provider already ran `concurrency` calls; this one was rejected at once (reason `rejected`).
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * const wasShed = (failure: FallbackChain.ProviderFailure) =>
 *   failure.error instanceof FallbackChain.ConcurrencyLimitExceeded
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ConcurrencyLimitExceeded: typeof errors.ConcurrencyLimitExceeded = errors.ConcurrencyLimitExceeded

/**
 * @since 0.1.0
 * @category errors
 */
export type ConcurrencyLimitExceeded = errors.ConcurrencyLimitExceeded

/**
 * The last-known-good provider had nothing to serve: no value remembered for the key (`reason: "missing"`), or one
 * older than `maxStaleness` (`reason: "tooStale"`, with its `staleness`).
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * const tooOld = (error: unknown) =>
 *   error instanceof FallbackChain.LastKnownGoodUnavailable && error.reason === "tooStale"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const LastKnownGoodUnavailable: typeof errors.LastKnownGoodUnavailable = errors.LastKnownGoodUnavailable

/**
 * @since 0.1.0
 * @category errors
 */
export type LastKnownGoodUnavailable = errors.LastKnownGoodUnavailable

/**
 * A chain built with bad settings (an empty or duplicate provider name, a negative duration, a concurrency of 0,
 * `lastKnownGood` before any provider). Thrown by the constructor that received it; `execute` dies with it for bad
 * execute options.
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * try {
 *   FallbackChain.make<string>("c", { budget: "-1 seconds" })
 * } catch (error) {
 *   console.log((error as FallbackChain.FallbackChainConfigError).field) // "budget"
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const FallbackChainConfigError: typeof errors.FallbackChainConfigError = errors.FallbackChainConfigError

/**
 * @since 0.1.0
 * @category errors
 */
export type FallbackChainConfigError = errors.FallbackChainConfigError

/**
 * Is this value a `FallbackChain`?
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * FallbackChain.isFallbackChain(FallbackChain.make("c")) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isFallbackChain: (u: unknown) => u is FallbackChain<never, unknown, unknown, unknown> =
  internal.isFallbackChain

/**
 * An empty chain named `name` (the name labels its logs, metrics and span). `options` apply to every call.
 *
 * ```ts
 * import { FallbackChain } from "effect-fallback"
 *
 * const recommendations = FallbackChain.make<string>("recommendations", { budget: "2 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <Input = void>(name: string, options?: ExecuteOptions) => FallbackChain<Input> = internal.make as any

/**
 * Appends a provider. Data-last (in a pipe) and data-first.
 *
 * ```ts
 * import { Data, Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
 * class BadRequest extends Data.TaggedError("BadRequest")<{}> {}
 * declare const live: (id: string) => Effect.Effect<Array<string>, Unavailable | BadRequest>
 *
 * const chain = FallbackChain.make<string>("recommendations").pipe(
 *   // BadRequest stops the chain: the result's error type keeps it
 *   FallbackChain.add("ml_service", live, { on: ["Unavailable"], timeout: "1 second" }),
 *   FallbackChain.add("static", () => Effect.succeed(["bestseller"]), { concurrency: 1000 })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const add: {
  <Input, A2, E2, R2, const Tag extends string, B = never>(
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: readonly [Tag, ...Array<Tag>] }
  ): CheckTags<
    E2,
    Tag,
    <A, E, R>(
      self: FallbackChain<Input, A, E, R>
    ) => FallbackChain<Input, A | A2, E | Types.ExcludeTag<E2, Tag>, R | R2 | B>
  >
  <Input, A2, E2, R2, Matched extends E2, B = never>(
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: (error: NoInfer<E2>) => error is Matched }
  ): <A, E, R>(
    self: FallbackChain<Input, A, E, R>
  ) => FallbackChain<Input, A | A2, E | Exclude<E2, Matched>, R | R2 | B>
  <Input, A2, E2, R2, B = never>(
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: (error: NoInfer<E2>) => boolean }
  ): <A, E, R>(self: FallbackChain<Input, A, E, R>) => FallbackChain<Input, A | A2, E | E2, R | R2 | B>
  <Input, A2, E2, R2, B = never>(
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options?: ProviderOptions<B> & { readonly on?: undefined }
  ): <A, E, R>(self: FallbackChain<Input, A, E, R>) => FallbackChain<Input, A | A2, E, R | R2 | B>
  <Input, A, E, R, A2, E2, R2, const Tag extends string, B = never>(
    self: FallbackChain<Input, A, E, R>,
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: readonly [Tag, ...Array<Tag>] }
  ): CheckTags<E2, Tag, FallbackChain<Input, A | A2, E | Types.ExcludeTag<E2, Tag>, R | R2 | B>>
  <Input, A, E, R, A2, E2, R2, Matched extends E2, B = never>(
    self: FallbackChain<Input, A, E, R>,
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: (error: NoInfer<E2>) => error is Matched }
  ): FallbackChain<Input, A | A2, E | Exclude<E2, Matched>, R | R2 | B>
  <Input, A, E, R, A2, E2, R2, B = never>(
    self: FallbackChain<Input, A, E, R>,
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options: ProviderOptions<B> & { readonly on: (error: NoInfer<E2>) => boolean }
  ): FallbackChain<Input, A | A2, E | E2, R | R2 | B>
  <Input, A, E, R, A2, E2, R2, B = never>(
    self: FallbackChain<Input, A, E, R>,
    name: string,
    provider: (input: Input) => Effect.Effect<A2, E2, R2>,
    options?: ProviderOptions<B> & { readonly on?: undefined }
  ): FallbackChain<Input, A | A2, E, R | R2 | B>
} = internal.add as any

/**
 * Appends a provider that serves the primary's latest answer for the same key when the providers before it failed.
 * The chain remembers every answer of its primary (provider 0) in a bounded least-recently-used memory; a value
 * older than `maxStaleness` is never served. Results from it carry their `staleness`.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * declare const live: (userId: string) => Effect.Effect<Array<string>, Error>
 *
 * const chain = FallbackChain.make<string>("recommendations").pipe(
 *   FallbackChain.add("ml_service", live),
 *   FallbackChain.lastKnownGood({ key: (userId) => userId, maxStaleness: "10 minutes", capacity: 10_000 }),
 *   FallbackChain.add("static", () => Effect.succeed(["bestseller"]))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const lastKnownGood: {
  <Input>(
    options: LastKnownGoodOptions<Input>
  ): <A, E, R>(self: FallbackChain<Input, A, E, R>) => FallbackChain<Input, A, E, R>
  <Input, A, E, R>(
    self: FallbackChain<Input, A, E, R>,
    options: LastKnownGoodOptions<Input>
  ): FallbackChain<Input, A, E, R>
} = internal.lastKnownGood as any

/**
 * Runs the providers in order until one succeeds. Fails with `AllFallbacksExhausted` when none did, or with a
 * provider's failure that its `on` does not match. Data-first and data-last.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const chain = FallbackChain.make<number>("double").pipe(
 *   FallbackChain.add("slow", (n) => Effect.sleep("5 seconds").pipe(Effect.as(n * 2))),
 *   FallbackChain.add("fast", (n) => Effect.succeed(n + n))
 * )
 *
 * // after 100 ms without an answer from "slow", "fast" starts too and wins
 * const program = chain.pipe(FallbackChain.execute(21, { hedge: "100 millis", budget: "1 second" }))
 * ```
 *
 * @since 0.1.0
 * @category execution
 */
export const execute: {
  // Data-first comes first: `execute(chain, undefined)` on a `make<void>` chain also fits the data-last signature
  // (with the chain as the input), and TypeScript takes the first overload that fits.
  <Input, A, E, R>(
    self: FallbackChain<Input, A, E, R>,
    input: Input,
    options?: ExecuteOptions
  ): Effect.Effect<FallbackResult<A>, E | AllFallbacksExhausted, R>
  <Input>(
    input: Input,
    options?: ExecuteOptions
  ): <A, E, R>(self: FallbackChain<Input, A, E, R>) => Effect.Effect<FallbackResult<A>, E | AllFallbacksExhausted, R>
} = internal.execute as any

/**
 * The metrics every chain updates, for dashboards and alerts. Attributes: `chain` and `source` (the provider),
 * plus `reason` on `providerFailures`. Read one series with `Metric.value(Metric.withAttributes(metric, {...}))`.
 *
 * - `fallback_activations_total{chain,source}`: answers given by a provider other than the primary.
 * - `fallback_latency_seconds{chain,source}`: latency of the provider that answered (histogram).
 * - `fallback_exhausted_total{chain}`: calls for which every provider failed.
 * - `fallback_provider_failures_total{chain,source,reason}`: failures, timeouts, rejections and skips.
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { FallbackChain } from "effect-fallback"
 *
 * const activations = Metric.value(
 *   Metric.withAttributes(FallbackChain.metrics.activations, { chain: "recommendations", source: "static" })
 * ) // Effect<{ count: number, ... }>
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly activations: Metric.Counter<number>
  readonly latency: Metric.Histogram<number>
  readonly exhausted: Metric.Counter<number>
  readonly providerFailures: Metric.Counter<number>
} = {
  activations: internal.activationsTotal,
  latency: internal.latencySeconds,
  exhausted: internal.exhaustedTotal,
  providerFailures: internal.providerFailuresTotal
}
