import type { Cause, Fiber, Tracer } from "effect";
import { Effect } from "effect";
import type { FallbackChainImpl, Settings } from "./fallbackChain.ts";
import { type Result, Run } from "./fallbackChainRun.ts";
/**
 * Runs the providers one after the other. The continuation object is the run itself (its `onSuccess` and
 * `onFailure` fields), so one attempt allocates no closure; an attempt that is already an Exit (a last-known-good
 * lookup, an `Effect.succeed`) is consumed without a fiber step.
 *
 * @internal
 */
export declare class SequentialRun extends Run {
    current: number;
    attemptStartedAt: number;
    constructor(chain: FallbackChainImpl, input: unknown, settings: Settings, fiber: Fiber.Fiber<unknown, unknown>, span: Tracer.Span | undefined);
    readonly onSuccess: (value: unknown) => Effect.Effect<Result<unknown>>;
    readonly onFailure: (cause: Cause.Cause<unknown>) => Effect.Effect<Result<unknown>, unknown, unknown>;
    from(index: number, now: number): Effect.Effect<Result<unknown>, unknown, unknown>;
}
