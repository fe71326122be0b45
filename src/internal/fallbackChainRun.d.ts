import type { Cause, Clock as ClockNs, Fiber as FiberNs, Tracer } from "effect";
import { Duration, Effect, LogLevel } from "effect";
import type * as FallbackChain from "../FallbackChain.ts";
import type { FallbackChainImpl, ProviderDef, Settings } from "./fallbackChain.ts";
import { AllFallbacksExhausted, type FailureReason, LastKnownGoodUnavailable, type ProviderFailure } from "./fallbackChainErrors.ts";
import type { LastKnownGoodMemory, Remembered } from "./fallbackChainMemory.ts";
import { NodeInspectSymbol } from "effect/Inspectable";
/**
 * The answer of one call. `latency` and `elapsed` are built on first read: a healthy call that nobody times does
 * not pay for two `Duration`s.
 *
 * @internal
 */
export declare class Result<A> implements FallbackChain.FallbackResult<A> {
    #private;
    readonly value: A;
    readonly source: string;
    readonly index: number;
    readonly isFallback: boolean;
    readonly failures: ReadonlyArray<ProviderFailure>;
    readonly staleness: Duration.Duration | undefined;
    readonly latencyNanos: number;
    readonly elapsedNanos: number;
    constructor(value: A, provider: ProviderDef, latencyNanos: number, elapsedNanos: number, failures: ReadonlyArray<ProviderFailure>, staleness: Duration.Duration | undefined);
    get latency(): Duration.Duration;
    get elapsed(): Duration.Duration;
    toJSON(): {
        value: A;
        source: string;
        index: number;
        isFallback: boolean;
        latency: string;
        elapsed: string;
        failures: readonly ProviderFailure[];
        staleness: string | undefined;
    };
    [NodeInspectSymbol](): {
        value: A;
        source: string;
        index: number;
        isFallback: boolean;
        latency: string;
        elapsed: string;
        failures: readonly ProviderFailure[];
        staleness: string | undefined;
    };
}
/** @internal */
export interface Classified {
    readonly reason: FailureReason;
    readonly error: unknown;
}
/**
 * The state of one `execute`: what both engines (sequential and hedged) share. One instance per call, with the
 * chain's precompiled providers, so the per-call work is a handful of field writes.
 *
 * @internal
 */
export declare abstract class Run {
    readonly chain: FallbackChainImpl;
    readonly input: unknown;
    readonly settings: Settings;
    readonly fiber: FiberNs.Fiber<unknown, unknown>;
    /** The call's span; `undefined` when the tracer is disabled. */
    readonly span: Tracer.Span | undefined;
    readonly clock: ClockNs.Clock;
    readonly startedAt: number;
    readonly deadline: number;
    failures: Array<ProviderFailure> | undefined;
    budgetExhausted: boolean;
    constructor(chain: FallbackChainImpl, input: unknown, settings: Settings, fiber: FiberNs.Fiber<unknown, unknown>, span: Tracer.Span | undefined);
    now(): number;
    /** Log lines are only built when they will be written: describing an error is the costly part of a failure. */
    logs(level: LogLevel.LogLevel): boolean;
    /** The seed's split: provider `i` of `n` gets `min(remaining, remaining / (n - i))`; `<= 0` when the budget is gone. */
    share(index: number, now: number): number;
    /** The provider's call, wrapped with its timeout, circuit, concurrency limit and share of the budget. */
    attempt(provider: ProviderDef, share: number, now: number): Effect.Effect<unknown, unknown, unknown>;
    /** A last-known-good provider answers synchronously: an Exit, which the engines consume without a fiber step. */
    recall(provider: ProviderDef, memory: LastKnownGoodMemory, now: number): Effect.Effect<Remembered, LastKnownGoodUnavailable>;
    /**
     * What a failed attempt means for the chain, or `undefined` when the failure must stop the chain and propagate:
     * interruption, a defect without `defects: true`, or a failure outside the provider's `on`.
     */
    classify(provider: ProviderDef, cause: Cause.Cause<unknown>): Classified | undefined;
    isOwn(provider: ProviderDef, error: {
        readonly chain: string;
        readonly source: string;
    }): boolean;
    recordFailure(provider: ProviderDef, classified: Classified, latencyNanos: number): Effect.Effect<void>;
    /** The budget is gone: every provider from `index` on is recorded as skipped, without running. */
    skipFrom(index: number): Effect.Effect<void>;
    answer(provider: ProviderDef, value: unknown, attemptStartedAt: number): Effect.Effect<Result<unknown>>;
    exhausted(): Effect.Effect<never, AllFallbacksExhausted>;
}
