import { Duration, Effect, Metric } from "effect";
import type * as Context from "effect/Context";
import type * as CircuitBreaker from "../CircuitBreaker.ts";
import type * as FallbackChain from "../FallbackChain.ts";
import { ConcurrencyLimitExceeded, ProviderTimeout } from "./fallbackChainErrors.ts";
import { LastKnownGoodMemory } from "./fallbackChainMemory.ts";
import type { Result } from "./fallbackChainRun.ts";
/** @internal */
export declare const TypeId: "~effect-fallback/FallbackChain";
/** @internal */
export declare const activationsTotal: Metric.Counter<number>;
/** @internal */
export declare const latencySeconds: Metric.Histogram<number>;
/** @internal */
export declare const exhaustedTotal: Metric.Counter<number>;
/** @internal */
export declare const providerFailuresTotal: Metric.Counter<number>;
/**
 * Counts the calls a provider is running. The count belongs to the provider as added, so every chain derived from
 * the one it was added to shares it: the limit protects the dependency, whichever chain calls it.
 *
 * @internal
 */
export declare class Limiter {
    readonly limit: number;
    inFlight: number;
    readonly rejection: Effect.Effect<never, ConcurrencyLimitExceeded>;
    readonly acquire: Effect.Effect<boolean>;
    readonly release: Effect.Effect<void>;
    constructor(chain: string, source: string, limit: number);
    guard<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConcurrencyLimitExceeded, R>;
}
/**
 * One provider, compiled once when it is added: everything the engine needs per call is precomputed here.
 *
 * @internal
 */
export interface ProviderDef extends FallbackChain.Provider {
    readonly run: (input: unknown) => Effect.Effect<unknown, unknown, unknown>;
    readonly memory: LastKnownGoodMemory | undefined;
    readonly isTrigger: (error: unknown) => boolean;
    readonly defects: boolean;
    readonly breaker: {
        readonly key: Context.Key<unknown, CircuitBreaker.CircuitBreaker>;
        readonly circuit: string;
    } | undefined;
    readonly timeoutOptions: {
        readonly duration: Duration.Duration;
        readonly orElse: () => Effect.Effect<never, ProviderTimeout>;
    } | undefined;
    readonly limiter: Limiter | undefined;
    readonly latency: Metric.Histogram<number>;
    readonly activations: Metric.Counter<number>;
    readonly failureCounters: Readonly<Record<FallbackChain.FailureReason, Metric.Counter<number>>>;
    readonly logAnnotations: Readonly<Record<string, string>>;
    readonly failureAnnotations: Readonly<Record<FallbackChain.FailureReason, Readonly<Record<string, string>>>>;
}
/** @internal */
export interface Settings {
    readonly budget: Duration.Duration | undefined;
    readonly budgetNanos: number;
    readonly hedge: Duration.Duration | undefined;
    readonly hedgeNanos: number;
}
/** @internal */
export interface FallbackChainImpl extends FallbackChain.FallbackChain<unknown, unknown, unknown, unknown> {
    readonly providers: ReadonlyArray<ProviderDef>;
    readonly memories: ReadonlyArray<LastKnownGoodMemory>;
    readonly settings: Settings;
    readonly spanName: string;
    readonly spanOptions: {
        readonly attributes: Readonly<Record<string, unknown>>;
    };
    readonly exhausted: Metric.Counter<number>;
    readonly logAnnotations: Readonly<Record<string, string>>;
}
/** @internal */
export declare const isFallbackChain: (u: unknown) => u is FallbackChain.FallbackChain<never, unknown, unknown, unknown>;
/** @internal */
export declare const resolveSettings: (chain: string, options: FallbackChain.ExecuteOptions) => Settings;
/** @internal */
export declare const make: (name: string, options?: FallbackChain.ExecuteOptions) => FallbackChainImpl;
interface RawProviderOptions {
    readonly on?: unknown;
    readonly defects?: boolean | undefined;
    readonly breaker?: Context.Key<unknown, CircuitBreaker.CircuitBreaker> | undefined;
    readonly id?: string | undefined;
    readonly timeout?: Duration.Input | undefined;
    readonly concurrency?: number | undefined;
}
/** @internal */
export declare const add: {
    (name: string, provider: (input: unknown) => Effect.Effect<unknown, unknown, unknown>, options?: RawProviderOptions): (self: FallbackChainImpl) => FallbackChainImpl;
    (self: FallbackChainImpl, name: string, provider: (input: unknown) => Effect.Effect<unknown, unknown, unknown>, options?: RawProviderOptions): FallbackChainImpl;
};
/** @internal */
export declare const lastKnownGood: {
    (options: FallbackChain.LastKnownGoodOptions<unknown>): (self: FallbackChainImpl) => FallbackChainImpl;
    (self: FallbackChainImpl, options: FallbackChain.LastKnownGoodOptions<unknown>): FallbackChainImpl;
};
/** @internal */
export declare const execute: {
    (input: unknown, options?: FallbackChain.ExecuteOptions): (self: FallbackChainImpl) => Effect.Effect<Result<unknown>, unknown, unknown>;
    (self: FallbackChainImpl, input: unknown, options?: FallbackChain.ExecuteOptions): Effect.Effect<Result<unknown>, unknown, unknown>;
};
export {};
