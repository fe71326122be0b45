import type { Fiber as FiberNs, Tracer } from "effect"
import { Effect, Exit, Fiber, Option, Queue } from "effect"
import type { FallbackChainImpl, ProviderDef, Settings } from "./fallbackChain.ts"
import { type Result, Run } from "./fallbackChainRun.ts"

interface Outcome {
  readonly provider: ProviderDef
  readonly startedAt: number
  readonly exit: Exit.Exit<unknown, unknown>
}

/**
 * Polly-style hedging: when the provider launched last has not answered after the hedge delay, the next one is
 * launched beside it; a handled failure launches the next one at once. The first success wins and the attempts
 * still running are interrupted; they are not failures, so they do not appear in `failures`.
 *
 * @internal
 */
export class HedgedRun extends Run {
  readonly running = new Map<number, FiberNs.Fiber<void>>()
  readonly queue: Queue.Queue<Outcome>
  next = 0
  lastLaunchAt = 0

  constructor(
    chain: FallbackChainImpl,
    input: unknown,
    settings: Settings,
    fiber: FiberNs.Fiber<unknown, unknown>,
    span: Tracer.Span | undefined,
    queue: Queue.Queue<Outcome>
  ) {
    super(chain, input, settings, fiber, span)
    this.queue = queue
  }

  hasMore(): boolean {
    return this.next < this.chain.providers.length
  }

  /** Nanoseconds until the next hedge is due; `Infinity` when no provider is left to launch. */
  untilHedge(): number {
    return this.hasMore() ? this.lastLaunchAt + this.settings.hedgeNanos - this.now() : Infinity
  }

  launchNext(): Effect.Effect<void, never, unknown> {
    const index = this.next++
    const provider = this.chain.providers[index]
    const now = this.now()
    const share = this.share(index, now)
    if (share <= 0) {
      this.next = this.chain.providers.length
      return this.skipFrom(index)
    }
    this.lastLaunchAt = now
    const attempt = Effect.flatMap(Effect.exit(this.attempt(provider, share, now)), (exit) =>
      Queue.offer(this.queue, { provider, startedAt: now, exit })
    )
    return Effect.map(Effect.forkChild(attempt, { startImmediately: true }), (fiber) => {
      this.running.set(index, fiber as FiberNs.Fiber<void>)
    })
  }

  interruptRunning(): Effect.Effect<void> {
    if (this.running.size === 0) return Effect.void
    const fibers = Array.from(this.running.values())
    this.running.clear()
    return Fiber.interruptAll(fibers)
  }
}

const takeWithin = (queue: Queue.Queue<Outcome>, nanos: number) => Effect.timeoutOption(Queue.take(queue), nanos / 1e6)

/** @internal */
export const hedged = Effect.fnUntraced(function* (
  chain: FallbackChainImpl,
  input: unknown,
  settings: Settings,
  fiber: FiberNs.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined
): Effect.fn.Return<Result<unknown>, unknown, unknown> {
  const run = new HedgedRun(chain, input, settings, fiber, span, yield* Queue.unbounded<Outcome>())
  while (true) {
    if (run.running.size === 0) {
      if (!run.hasMore()) return yield* run.exhausted()
      yield* run.launchNext()
      continue
    }
    const wait = run.untilHedge()
    if (wait <= 0) {
      yield* run.launchNext()
      continue
    }
    let outcome: Outcome
    if (wait === Infinity) {
      outcome = yield* Queue.take(run.queue)
    } else {
      const taken = yield* takeWithin(run.queue, wait)
      if (Option.isNone(taken)) {
        yield* run.launchNext()
        continue
      }
      outcome = taken.value
    }
    run.running.delete(outcome.provider.index)
    if (Exit.isSuccess(outcome.exit)) {
      yield* run.interruptRunning()
      return yield* run.answer(outcome.provider, outcome.exit.value, outcome.startedAt)
    }
    const classified = run.classify(outcome.provider, outcome.exit.cause)
    if (classified === undefined) {
      yield* run.interruptRunning()
      return yield* Effect.failCause(outcome.exit.cause)
    }
    yield* run.recordFailure(outcome.provider, classified, run.now() - outcome.startedAt)
    if (run.hasMore()) yield* run.launchNext()
  }
})
