import { Duration } from "effect";
/** @internal */
export type FailureReason = "failed" | "timedOut" | "rejected" | "skipped";
/** @internal */
export interface ProviderFailure {
    readonly source: string;
    readonly index: number;
    readonly reason: FailureReason;
    readonly error: unknown;
    readonly latency: Duration.Duration;
}
/** @internal */
export declare const describeError: (error: unknown) => string;
/** @internal */
export declare const reasonText: Readonly<Record<FailureReason, string>>;
declare const AllFallbacksExhausted_base: new <A extends Record<string, any> = {}>(args: import("effect/Types").VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P]; }>) => import("effect/Cause").YieldableError & {
    readonly _tag: "AllFallbacksExhausted";
} & Readonly<A>;
/** @internal */
export declare class AllFallbacksExhausted extends AllFallbacksExhausted_base<{
    readonly chain: string;
    readonly failures: ReadonlyArray<ProviderFailure>;
    readonly budget: Duration.Duration | undefined;
    readonly budgetExhausted: boolean;
    readonly elapsed: Duration.Duration;
}> {
    constructor(args: {
        readonly chain: string;
        readonly failures: ReadonlyArray<ProviderFailure>;
        readonly budget: Duration.Duration | undefined;
        readonly budgetExhausted: boolean;
        readonly elapsed: Duration.Duration;
    });
    get message(): string;
}
declare const ProviderTimeout_base: new <A extends Record<string, any> = {}>(args: import("effect/Types").VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P]; }>) => import("effect/Cause").YieldableError & {
    readonly _tag: "ProviderTimeout";
} & Readonly<A>;
/** @internal */
export declare class ProviderTimeout extends ProviderTimeout_base<{
    readonly chain: string;
    readonly source: string;
    readonly timeout: Duration.Duration;
    readonly cause: "timeout" | "budget";
}> {
    constructor(args: {
        readonly chain: string;
        readonly source: string;
        readonly timeout: Duration.Duration;
        readonly cause: "timeout" | "budget";
    });
    get message(): string;
}
declare const ConcurrencyLimitExceeded_base: new <A extends Record<string, any> = {}>(args: import("effect/Types").VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P]; }>) => import("effect/Cause").YieldableError & {
    readonly _tag: "ConcurrencyLimitExceeded";
} & Readonly<A>;
/** @internal */
export declare class ConcurrencyLimitExceeded extends ConcurrencyLimitExceeded_base<{
    readonly chain: string;
    readonly source: string;
    readonly limit: number;
}> {
    constructor(args: {
        readonly chain: string;
        readonly source: string;
        readonly limit: number;
    });
    get message(): string;
}
declare const LastKnownGoodUnavailable_base: new <A extends Record<string, any> = {}>(args: import("effect/Types").VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P]; }>) => import("effect/Cause").YieldableError & {
    readonly _tag: "LastKnownGoodUnavailable";
} & Readonly<A>;
/** @internal */
export declare class LastKnownGoodUnavailable extends LastKnownGoodUnavailable_base<{
    readonly chain: string;
    readonly source: string;
    readonly key: string;
    readonly reason: "missing" | "tooStale";
    readonly staleness: Duration.Duration | undefined;
    readonly maxStaleness: Duration.Duration;
}> {
    constructor(args: {
        readonly chain: string;
        readonly source: string;
        readonly key: string;
        readonly reason: "missing" | "tooStale";
        readonly staleness: Duration.Duration | undefined;
        readonly maxStaleness: Duration.Duration;
    });
    get message(): string;
}
declare const FallbackChainConfigError_base: new <A extends Record<string, any> = {}>(args: import("effect/Types").VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P]; }>) => import("effect/Cause").YieldableError & {
    readonly _tag: "FallbackChainConfigError";
} & Readonly<A>;
/** @internal */
export declare class FallbackChainConfigError extends FallbackChainConfigError_base<{
    readonly chain: string;
    readonly field: string;
    readonly value: unknown;
    readonly expected: string;
}> {
    get message(): string;
}
export {};
