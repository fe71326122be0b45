import type { Cause, Clock as ClockNs, Fiber } from "effect"
import { Clock, Context, Effect, Exit, Tracer } from "effect"
import type { FallbackChainImpl, Settings } from "./fallbackChain.ts"
import { guarded, noFailures, observeAnswer, remember, Result } from "./fallbackChainRun.ts"
import { SequentialRun } from "./fallbackChainSequential.ts"

/**
 * The healthy call of a chain without budget or hedge: the primary is attempted with no engine state, and the
 * sequential engine is only built when it fails. An attempt that is already an Exit (`Effect.succeed`, a cached
 * value) is answered in the same step; otherwise one continuation object waits for it.
 *
 * @internal
 */
export const primaryFirst = (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings,
  fiber: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined
): Effect.Effect<Result<unknown>, unknown, unknown> => {
  const primary = chain.providers[0]
  const clock = fiber.getRef(Clock.Clock)
  const startedAt = Number(clock.monotonicTimeNanosUnsafe())
  const effect =
    primary.limiter === undefined
      ? guarded(primary, input, fiber)
      : primary.limiter.guard(guarded(primary, input, fiber))
  if (Exit.isExit(effect)) {
    return effect._tag === "Success"
      ? answered(chain, input, fiber, span, startedAt, Number(clock.monotonicTimeNanosUnsafe()), effect.value)
      : fallBack(chain, input, settings, fiber, span, startedAt, effect.cause)
  }
  return new PendingPrimary(chain, input, settings, fiber, span, clock, startedAt).await(effect)
}

const answered = (
  chain: FallbackChainImpl,
  input: unknown,
  fiber: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined,
  startedAt: number,
  now: number,
  value: unknown
): Exit.Exit<Result<unknown>> => {
  const primary = chain.providers[0]
  const latency = now - startedAt
  remember(chain, input, value, now)
  observeAnswer(primary, latency, fiber.context, span)
  return Exit.succeed(new Result(value, primary, latency, latency, noFailures, undefined))
}

/** The primary failed: the sequential engine records it and goes on from the second provider, under the call's span. */
const fallBack = (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings,
  fiber: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined,
  startedAt: number,
  cause: Cause.Cause<unknown>
): Effect.Effect<Result<unknown>, unknown, unknown> => {
  const rest = new SequentialRun(chain, input, settings, fiber, span, startedAt).failed(0, cause, startedAt)
  return span === undefined ? rest : Effect.provideService(rest, Tracer.ParentSpan, span)
}

/**
 * Waits for an asynchronous primary. The span becomes the parent of the primary's own spans by switching the fiber's
 * context directly and switching it back in the continuation, which sees every exit (interruption included): one
 * frame instead of the two of `Effect.provideService`. The switch happens in a step after the continuation is on the
 * stack, so an interruption at the scheduler's yield point between the two cannot leave the span in the context.
 */
class PendingPrimary {
  readonly chain: FallbackChainImpl
  readonly input: unknown
  readonly settings: Settings
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly span: Tracer.Span | undefined
  readonly clock: ClockNs.Clock
  readonly startedAt: number
  readonly outerContext: Context.Context<never>
  attempt: Effect.Effect<unknown, unknown, unknown> = Effect.void

  constructor(
    chain: FallbackChainImpl,
    input: unknown,
    settings: Settings,
    fiber: Fiber.Fiber<unknown, unknown>,
    span: Tracer.Span | undefined,
    clock: ClockNs.Clock,
    startedAt: number
  ) {
    this.chain = chain
    this.input = input
    this.settings = settings
    this.fiber = fiber
    this.span = span
    this.clock = clock
    this.startedAt = startedAt
    this.outerContext = fiber.context
  }

  await(effect: Effect.Effect<unknown, unknown, unknown>): Effect.Effect<Result<unknown>, unknown, unknown> {
    if (this.span === undefined) return Effect.matchCauseEffect(effect, this)
    this.attempt = effect
    return Effect.matchCauseEffect(Effect.withFiber(this.enterSpan), this)
  }

  readonly enterSpan = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<unknown, unknown, unknown> => {
    fiber.setContext(Context.add(this.outerContext, Tracer.ParentSpan, this.span as Tracer.Span))
    return this.attempt
  }

  readonly onSuccess = (value: unknown): Effect.Effect<Result<unknown>> => {
    const now = Number(this.clock.monotonicTimeNanosUnsafe())
    if (this.span !== undefined) this.fiber.setContext(this.outerContext)
    return answered(this.chain, this.input, this.fiber, this.span, this.startedAt, now, value)
  }

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<Result<unknown>, unknown, unknown> => {
    if (this.span !== undefined) this.fiber.setContext(this.outerContext)
    return fallBack(this.chain, this.input, this.settings, this.fiber, this.span, this.startedAt, cause)
  }
}
