import type { Fiber as FiberNs, Tracer } from "effect";
import { Effect, Exit, Queue } from "effect";
import type { FallbackChainImpl, ProviderDef, Settings } from "./fallbackChain.ts";
import { type Result, Run } from "./fallbackChainRun.ts";
interface Outcome {
    readonly provider: ProviderDef;
    readonly startedAt: number;
    readonly exit: Exit.Exit<unknown, unknown>;
}
/**
 * Polly-style hedging: when the provider launched last has not answered after the hedge delay, the next one is
 * launched beside it; a handled failure launches the next one at once. The first success wins and the attempts
 * still running are interrupted; they are not failures, so they do not appear in `failures`.
 *
 * @internal
 */
export declare class HedgedRun extends Run {
    readonly running: Map<number, FiberNs.Fiber<void, never>>;
    readonly queue: Queue.Queue<Outcome>;
    next: number;
    lastLaunchAt: number;
    constructor(chain: FallbackChainImpl, input: unknown, settings: Settings, fiber: FiberNs.Fiber<unknown, unknown>, span: Tracer.Span | undefined, queue: Queue.Queue<Outcome>);
    hasMore(): boolean;
    /** Nanoseconds until the next hedge is due; `Infinity` when no provider is left to launch. */
    untilHedge(): number;
    launchNext(): Effect.Effect<void, never, unknown>;
    interruptRunning(): Effect.Effect<void>;
}
/** @internal */
export declare const hedged: (chain: FallbackChainImpl, input: unknown, settings: Settings, fiber: FiberNs.Fiber<unknown, unknown>, span: Tracer.Span | undefined) => Effect.Effect<Result<unknown>, unknown, unknown>;
export {};
