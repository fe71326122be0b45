import type { Clock as ClockNs, Fiber as FiberNs } from "effect"
import { Cause, Clock, Context, Duration, Effect, Exit, LogLevel, Tracer } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import type * as FallbackChain from "../FallbackChain.ts"
import type { FallbackChainImpl, ProviderDef, Settings } from "./fallbackChain.ts"
import {
  AllFallbacksExhausted,
  ConcurrencyLimitExceeded,
  describeError,
  type FailureReason,
  reasonText,
  LastKnownGoodUnavailable,
  type ProviderFailure,
  ProviderTimeout
} from "./fallbackChainErrors.ts"
import type { LastKnownGoodMemory, Remembered } from "./fallbackChainMemory.ts"
import { isRejectionOf } from "./rejection.ts"

/**
 * The answer of one call. `latency` and `elapsed` are built on first read: a healthy call that nobody times does
 * not pay for two `Duration`s.
 *
 * @internal
 */
export class Result<A> implements FallbackChain.FallbackResult<A> {
  readonly value: A
  readonly source: string
  readonly index: number
  readonly isFallback: boolean
  readonly failures: ReadonlyArray<ProviderFailure>
  readonly staleness: Duration.Duration | undefined
  readonly latencyNanos: number
  readonly elapsedNanos: number
  #latency: Duration.Duration | undefined
  #elapsed: Duration.Duration | undefined
  constructor(
    value: A,
    provider: ProviderDef,
    latencyNanos: number,
    elapsedNanos: number,
    failures: ReadonlyArray<ProviderFailure>,
    staleness: Duration.Duration | undefined
  ) {
    this.value = value
    this.source = provider.name
    this.index = provider.index
    this.isFallback = provider.index > 0
    this.latencyNanos = latencyNanos
    this.elapsedNanos = elapsedNanos
    this.failures = failures
    this.staleness = staleness
  }
  get latency(): Duration.Duration {
    return (this.#latency ??= nanosToDuration(this.latencyNanos))
  }
  get elapsed(): Duration.Duration {
    return (this.#elapsed ??= nanosToDuration(this.elapsedNanos))
  }
  toJSON() {
    return {
      value: this.value,
      source: this.source,
      index: this.index,
      isFallback: this.isFallback,
      latency: Duration.format(this.latency),
      elapsed: Duration.format(this.elapsed),
      failures: this.failures,
      staleness: this.staleness === undefined ? undefined : Duration.format(this.staleness)
    }
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/** @internal */
export interface Classified {
  readonly reason: FailureReason
  readonly error: unknown
}

/** @internal */
export const noFailures: ReadonlyArray<ProviderFailure> = []

const nanosToDuration = (nanos: number): Duration.Duration => Duration.millis(nanos / 1e6)

const byIndex = (a: ProviderFailure, b: ProviderFailure) => a.index - b.index

/**
 * The state of one `execute`: what both engines (sequential and hedged) share. One instance per call, with the
 * chain's precompiled providers, so the per-call work is a handful of field writes.
 *
 * @internal
 */
export abstract class Run {
  readonly chain: FallbackChainImpl
  readonly input: unknown
  readonly settings: Settings
  readonly fiber: FiberNs.Fiber<unknown, unknown>
  /** The call's span; `undefined` when the tracer is disabled. */
  readonly span: Tracer.Span | undefined
  readonly clock: ClockNs.Clock
  readonly startedAt: number
  readonly deadline: number
  failures: Array<ProviderFailure> | undefined = undefined
  budgetExhausted = false

  constructor(
    chain: FallbackChainImpl,
    input: unknown,
    settings: Settings,
    fiber: FiberNs.Fiber<unknown, unknown>,
    span: Tracer.Span | undefined,
    startedAt?: number
  ) {
    this.chain = chain
    this.input = input
    this.settings = settings
    this.fiber = fiber
    this.span = span
    this.clock = fiber.getRef(Clock.Clock)
    this.startedAt = startedAt ?? this.now()
    this.deadline = this.startedAt + settings.budgetNanos
  }

  now(): number {
    return Number(this.clock.monotonicTimeNanosUnsafe())
  }

  /** Log lines are only built when they will be written: describing an error is the costly part of a failure. */
  logs(level: LogLevel.LogLevel): boolean {
    return !LogLevel.isGreaterThan(this.fiber.cache.minimumLogLevel, level)
  }

  /** The budget split: provider `i` of `n` gets `min(remaining, remaining / (n - i))`; `<= 0` when the budget is gone. */
  share(index: number, now: number): number {
    if (this.settings.budget === undefined) return Infinity
    const remaining = this.deadline - now
    return Math.min(remaining, remaining / (this.chain.providers.length - index))
  }

  /** The provider's call, wrapped with its timeout, circuit, concurrency limit and share of the budget. */
  attempt(provider: ProviderDef, share: number, now: number): Effect.Effect<unknown, unknown, unknown> {
    if (provider.memory !== undefined) return this.recall(provider, provider.memory, now)
    let effect = guarded(provider, this.input, this.fiber)
    if (share !== Infinity) {
      const timeout = nanosToDuration(share)
      const chain = this.chain.name
      effect = Effect.timeoutOrElse(effect, {
        duration: timeout,
        orElse: () => Effect.fail(new ProviderTimeout({ chain, source: provider.name, timeout, cause: "budget" }))
      })
    }
    return provider.limiter === undefined ? effect : provider.limiter.guard(effect)
  }

  /** A last-known-good provider answers synchronously: an Exit, which the engines consume without a fiber step. */
  recall(
    provider: ProviderDef,
    memory: LastKnownGoodMemory,
    now: number
  ): Effect.Effect<Remembered, LastKnownGoodUnavailable> {
    let key: string
    try {
      key = memory.key(this.input)
    } catch (defect) {
      // A `key` that throws fails this provider (recorded and logged as failed); the chain goes on.
      return Effect.fail(defect) as Effect.Effect<never, LastKnownGoodUnavailable>
    }
    const entry = memory.recall(key, now)
    if (entry !== undefined && !memory.isTooStale(entry, now)) return Effect.succeed(entry)
    return Effect.fail(
      new LastKnownGoodUnavailable({
        chain: this.chain.name,
        source: provider.name,
        key,
        reason: entry === undefined ? "missing" : "tooStale",
        staleness: entry === undefined ? undefined : nanosToDuration(now - entry.at),
        maxStaleness: nanosToDuration(memory.maxStalenessNanos)
      })
    )
  }

  /**
   * What a failed attempt means for the chain, or `undefined` when the failure must stop the chain and propagate:
   * interruption, a defect without `defects: true`, or a failure outside the provider's `on`.
   */
  classify(provider: ProviderDef, cause: Cause.Cause<unknown>): Classified | undefined {
    let failure: unknown
    let failed = false
    for (const reason of cause.reasons) {
      if (reason._tag === "Die") return provider.defects ? { reason: "failed", error: reason.defect } : undefined
      if (reason._tag === "Fail" && !failed) {
        failed = true
        failure = reason.error
      }
    }
    if (!failed) return undefined
    if (failure instanceof ProviderTimeout && this.isOwn(provider, failure))
      return { reason: "timedOut", error: failure }
    if (failure instanceof ConcurrencyLimitExceeded && this.isOwn(provider, failure)) {
      return { reason: "rejected", error: failure }
    }
    if (provider.breaker !== undefined && this.isRejection(provider.breaker, failure)) {
      return { reason: "rejected", error: failure }
    }
    return provider.isTrigger(failure) ? { reason: "failed", error: failure } : undefined
  }

  /** The provider's own circuit said no (a `CircuitOpenError` of another breaker or circuit is a failure). */
  isRejection(breaker: NonNullable<ProviderDef["breaker"]>, failure: unknown): boolean {
    return isRejectionOf(Context.getUnsafe(this.fiber.context, breaker.key), breaker.circuit)(failure)
  }

  isOwn(provider: ProviderDef, error: { readonly chain: string; readonly source: string }): boolean {
    return error.source === provider.name && error.chain === this.chain.name
  }

  recordFailure(provider: ProviderDef, classified: Classified, latencyNanos: number): Effect.Effect<void> {
    const { error, reason } = classified
    this.failures ??= []
    this.failures.push({
      source: provider.name,
      index: provider.index,
      reason,
      error,
      latency: nanosToDuration(latencyNanos)
    })
    provider.failureCounters[reason].updateUnsafe(1, this.fiber.context)
    this.span?.event("fallback.provider_failed", this.clock.currentTimeNanosUnsafe(), {
      "fallback.source": provider.name,
      "fallback.reason": reason
    })
    if (!this.logs("Warn")) return Effect.void
    return Effect.logWarning(
      `provider "${provider.name}" of chain "${this.chain.name}" ${reasonText[reason]}: ${describeError(error)}`
    ).pipe(Effect.annotateLogs(provider.failureAnnotations[reason]))
  }

  /** The budget is gone: every provider from `index` on is recorded as skipped, without running. */
  skipFrom(index: number): Effect.Effect<void> {
    const providers = this.chain.providers
    this.budgetExhausted = true
    this.failures ??= []
    const skipped: Array<string> = []
    for (let i = index; i < providers.length; i++) {
      const provider = providers[i]
      this.failures.push({
        source: provider.name,
        index: provider.index,
        reason: "skipped",
        error: undefined,
        latency: Duration.zero
      })
      provider.failureCounters.skipped.updateUnsafe(1, this.fiber.context)
      skipped.push(provider.name)
    }
    return skipped.length === 0 || !this.logs("Warn")
      ? Effect.void
      : Effect.logWarning(`time budget of chain "${this.chain.name}" exhausted, skipping ${skipped.join(", ")}`).pipe(
          Effect.annotateLogs(this.chain.logAnnotations)
        )
  }

  answer(provider: ProviderDef, value: unknown, attemptStartedAt: number): Effect.Effect<Result<unknown>> {
    const now = this.now()
    const context = this.fiber.context
    let staleness: Duration.Duration | undefined
    if (provider.memory !== undefined) {
      const remembered = value as Remembered
      value = remembered.value
      staleness = nanosToDuration(now - remembered.at)
    }
    const latency = now - attemptStartedAt
    observeAnswer(provider, latency, context, this.span)
    const failures = this.failures === undefined ? noFailures : this.failures.sort(byIndex)
    const result = new Result(value, provider, latency, now - this.startedAt, failures, staleness)
    if (provider.index === 0) {
      const thrown = remember(this.chain, this.input, value, now)
      return thrown === undefined ? Effect.succeed(result) : Effect.as(this.keyThrew(thrown), result)
    }
    provider.activations.updateUnsafe(1, context)
    if (!this.logs("Warn")) return Effect.succeed(result)
    return Effect.as(
      Effect.logWarning(
        `fallback activated in chain "${this.chain.name}": ${this.chain.providers[0].name} -> ${provider.name}`
      ).pipe(Effect.annotateLogs(provider.logAnnotations)),
      result
    )
  }

  /** A last-known-good's `key` threw on the primary's answer: the answer stands, not remembered, and it is logged. */
  keyThrew(thrown: { readonly source: string; readonly defect: unknown }): Effect.Effect<void> {
    return Effect.logError(
      `the key of "${thrown.source}" in chain "${this.chain.name}" threw; the primary's answer is not remembered`,
      Cause.die(thrown.defect)
    ).pipe(Effect.annotateLogs(this.chain.logAnnotations))
  }

  exhausted(): Effect.Effect<never, AllFallbacksExhausted> {
    this.chain.exhausted.updateUnsafe(1, this.fiber.context)
    this.span?.attribute("fallback.exhausted", true)
    const error = new AllFallbacksExhausted({
      chain: this.chain.name,
      failures: this.failures === undefined ? noFailures : this.failures.sort(byIndex),
      budget: this.settings.budget,
      budgetExhausted: this.budgetExhausted,
      elapsed: nanosToDuration(this.now() - this.startedAt)
    })
    if (!this.logs("Error")) return Effect.fail(error)
    return Effect.andThen(
      Effect.logError(error.message).pipe(Effect.annotateLogs(this.chain.logAnnotations)),
      Effect.fail(error)
    )
  }
}

/**
 * The primary answered: every last-known-good of the chain remembers the value. A `key` that throws is reported
 * (the first one), and the others still remember.
 *
 * @internal
 */
export const remember = (
  chain: FallbackChainImpl,
  input: unknown,
  value: unknown,
  now: number
): { readonly source: string; readonly defect: unknown } | undefined => {
  const memories = chain.memories
  let thrown: { readonly source: string; readonly defect: unknown } | undefined
  for (let i = 0; i < memories.length; i++) {
    try {
      memories[i].remember(input, value, now)
    } catch (defect) {
      thrown ??= { source: memories[i].source, defect }
    }
  }
  return thrown
}

/**
 * What every answer records: the provider's latency histogram and the call's span attributes.
 *
 * @internal
 */
export const observeAnswer = (
  provider: ProviderDef,
  latencyNanos: number,
  context: Context.Context<never>,
  span: Tracer.Span | undefined
): void => {
  provider.latency.updateUnsafe(latencyNanos / 1e9, context)
  if (span !== undefined) {
    span.attribute("fallback.source", provider.name)
    span.attribute("fallback.is_fallback", provider.index > 0)
  }
}

/**
 * The call of a provider that is not a last-known-good, with its own timeout, circuit and concurrency limit (the
 * chain's budget share is the engine's business).
 *
 * @internal
 */
export const guarded = (
  provider: ProviderDef,
  input: unknown,
  fiber: FiberNs.Fiber<unknown, unknown>
): Effect.Effect<unknown, unknown, unknown> => {
  let effect = provider.run(input)
  if (provider.timeoutOptions !== undefined) effect = Effect.timeoutOrElse(effect, provider.timeoutOptions)
  if (provider.breaker !== undefined) {
    effect = Context.getUnsafe(fiber.context, provider.breaker.key).protect(provider.breaker.circuit)(effect)
  }
  return effect
}

/**
 * Runs the providers one after the other: a whole call of a chain without hedge reads here. The run is its own
 * continuation (its `onSuccess` and `onFailure` fields), so an attempt allocates no closure, and an attempt that is
 * already an Exit (`Effect.succeed`, a last-known-good lookup) is answered in the same step.
 *
 * Under a span, an asynchronous attempt runs with the span as parent: the fiber's context is switched to it in a
 * step after the continuation is on the stack (so an interruption at the scheduler's yield point between the two
 * cannot leave the span behind), and switched back in the continuation, which sees every exit. That is one frame
 * where `Effect.provideService` takes two, on the healthy call's path.
 *
 * @internal
 */
export class SequentialRun extends Run {
  current = 0
  attemptStartedAt = 0
  readonly outerContext: Context.Context<never> = this.fiber.context
  /** The caller's context with the span as parent, built on the first asynchronous attempt. */
  spanContext: Context.Context<never> | undefined = undefined
  pending: Effect.Effect<unknown, unknown, unknown> = Effect.void
  entered = false

  readonly onSuccess = (value: unknown): Effect.Effect<Result<unknown>> => {
    this.leaveSpan()
    return this.answer(this.chain.providers[this.current], value, this.attemptStartedAt)
  }

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<Result<unknown>, unknown, unknown> => {
    this.leaveSpan()
    return this.failed(this.current, cause, this.attemptStartedAt)
  }

  readonly enterSpan = (fiber: FiberNs.Fiber<unknown, unknown>): Effect.Effect<unknown, unknown, unknown> => {
    this.spanContext ??= Context.add(this.outerContext, Tracer.ParentSpan, this.span as Tracer.Span)
    fiber.setContext(this.spanContext)
    this.entered = true
    return this.pending
  }

  leaveSpan(): void {
    if (this.entered) {
      this.entered = false
      this.fiber.setContext(this.outerContext)
    }
  }

  /** Provider `index`, started at `attemptStartedAt`, failed: the chain goes on after it, or stops with the cause. */
  failed(
    index: number,
    cause: Cause.Cause<unknown>,
    attemptStartedAt: number
  ): Effect.Effect<Result<unknown>, unknown, unknown> {
    const provider = this.chain.providers[index]
    const classified = this.classify(provider, cause)
    if (classified === undefined) return Effect.failCause(cause)
    return Effect.flatMap(this.recordFailure(provider, classified, this.now() - attemptStartedAt), () =>
      this.from(index + 1, this.now())
    )
  }

  from(index: number, now: number): Effect.Effect<Result<unknown>, unknown, unknown> {
    const providers = this.chain.providers
    if (index >= providers.length) return this.exhausted()
    const share = this.share(index, now)
    if (share <= 0) return Effect.andThen(this.skipFrom(index), this.exhausted())
    return this.await(index, this.attempt(providers[index], share, now), now)
  }

  /** Waits for provider `index`'s attempt, started at `now`. */
  await(
    index: number,
    attempt: Effect.Effect<unknown, unknown, unknown>,
    now: number
  ): Effect.Effect<Result<unknown>, unknown, unknown> {
    this.current = index
    this.attemptStartedAt = now
    if (Exit.isExit(attempt)) {
      return attempt._tag === "Success" ? this.onSuccess(attempt.value) : this.onFailure(attempt.cause)
    }
    if (this.span === undefined) return Effect.matchCauseEffect(attempt, this)
    this.pending = attempt
    return Effect.matchCauseEffect(Effect.withFiber(this.enterSpan), this)
  }
}

/**
 * A call of a chain without hedge. The healthy call of a chain without budget or last-known-good, whose primary
 * answers at once (an Exit), is answered without building the run: it is the cheapest call there is, and the run's
 * state would only be thrown away.
 *
 * @internal
 */
export const sequential = (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings,
  fiber: FiberNs.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined
): Effect.Effect<Result<unknown>, unknown, unknown> => {
  const primary = chain.providers[0]
  if (primary === undefined || settings.budget !== undefined || chain.memories.length > 0) {
    const run = new SequentialRun(chain, input, settings, fiber, span)
    return run.from(0, run.startedAt)
  }
  const clock = fiber.getRef(Clock.Clock)
  const startedAt = Number(clock.monotonicTimeNanosUnsafe())
  const attempt =
    primary.limiter === undefined
      ? guarded(primary, input, fiber)
      : primary.limiter.guard(guarded(primary, input, fiber))
  if (Exit.isExit(attempt) && attempt._tag === "Success") {
    const latency = Number(clock.monotonicTimeNanosUnsafe()) - startedAt
    observeAnswer(primary, latency, fiber.context, span)
    return Exit.succeed(new Result(attempt.value, primary, latency, latency, noFailures, undefined))
  }
  return new SequentialRun(chain, input, settings, fiber, span, startedAt).await(0, attempt, startedAt)
}
