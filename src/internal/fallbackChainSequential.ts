import type { Cause, Fiber, Tracer } from "effect"
import { Effect } from "effect"
import type { FallbackChainImpl, Settings } from "./fallbackChain.ts"
import { type Result, Run } from "./fallbackChainRun.ts"

/**
 * Runs the providers one after the other. The continuation object is the run itself (its `onSuccess` and
 * `onFailure` fields), so one attempt allocates no closure; an attempt that is already an Exit (a last-known-good
 * lookup, an `Effect.succeed`) is consumed without a fiber step.
 *
 * @internal
 */
export class SequentialRun extends Run {
  current = 0
  attemptStartedAt = 0

  constructor(
    chain: FallbackChainImpl,
    input: unknown,
    settings: Settings,
    fiber: Fiber.Fiber<unknown, unknown>,
    span: Tracer.Span | undefined,
    startedAt?: number
  ) {
    super(chain, input, settings, fiber, span, startedAt)
  }

  readonly onSuccess = (value: unknown): Effect.Effect<Result<unknown>> =>
    this.answer(this.chain.providers[this.current], value, this.attemptStartedAt)

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<Result<unknown>, unknown, unknown> =>
    this.failed(this.current, cause, this.attemptStartedAt)

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
    this.current = index
    this.attemptStartedAt = now
    return Effect.matchCauseEffectEager(this.attempt(providers[index], share, now), this)
  }
}
