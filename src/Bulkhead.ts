/**
 * A bulkhead limits how many calls run at once against one dependency, with an optional bounded line of waiting
 * calls; calls beyond both fail at once with `BulkheadFull` instead of piling up. Built on Effect's `Semaphore`.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const bulkhead = yield* Bulkhead.make({ name: "inventory", maxConcurrent: 10, maxQueue: 20 })
 *   return yield* Effect.succeed(42).pipe(bulkhead.protect)
 * })
 * ```
 *
 * @since 0.2.0
 */
import type { Context, Effect, Layer, Metric } from "effect"
import * as internal from "./internal/bulkhead.ts"
import * as errors from "./internal/bulkheadErrors.ts"
import * as internalMetrics from "./internal/bulkheadMetrics.ts"

/**
 * The settings of a bulkhead.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Names the bulkhead in errors and in the `bulkhead` attribute of its metrics. Default `"default"`. */
  readonly name?: string | undefined
  /** Calls running at once. An integer from 1 to 2^31 - 1. */
  readonly maxConcurrent: number
  /** Calls waiting, first in first out, for a running call to finish. An integer from 0 to 2^31 - 1, default 0. */
  readonly maxQueue?: number | undefined
}

/**
 * A snapshot of a bulkhead.
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats {
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueue: number
  /** Calls running now. */
  readonly inFlight: number
  /** Calls waiting now. */
  readonly queued: number
  /** Calls rejected since the bulkhead was made. */
  readonly rejected: number
}

/**
 * A bulkhead: `protect` runs an effect in one of `maxConcurrent` slots, waits in a line of at most `maxQueue` calls,
 * or fails at once with `BulkheadFull`. A slot is given back whatever the call's exit (success, failure, defect,
 * interruption); an interrupted waiter leaves the line.
 *
 * @since 0.2.0
 * @category models
 */
export interface Bulkhead {
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueue: number
  readonly protect: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadFull, R>
  readonly stats: Effect.Effect<Stats>
}

/**
 * Makes a bulkhead. It needs no `Scope`: it holds no fiber and no resource, only counts and a `Semaphore`.
 * Its metric series are registered in the current `MetricRegistry` and keep their last values after the bulkhead
 * is gone, until a bulkhead of the same name replaces them. Bad options fail with `BulkheadConfigError`.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const bulkhead = yield* Bulkhead.make({ name: "payments", maxConcurrent: 2 })
 *   const calls = Effect.all([Effect.never, Effect.never, Effect.void].map(bulkhead.protect), { concurrency: "unbounded" })
 *   return yield* Effect.flip(calls) // BulkheadFull: the third call finds both slots taken and no queue
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Bulkhead, BulkheadConfigError> = internal.make

/**
 * Runs an effect through a bulkhead; data-last (`effect.pipe(Bulkhead.protect(bulkhead))`) or data-first.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * const program = Effect.gen(function* () {
 *   const bulkhead = yield* Bulkhead.make({ maxConcurrent: 4 })
 *   const a = yield* Effect.succeed(1).pipe(Bulkhead.protect(bulkhead))
 *   const b = yield* Bulkhead.protect(Effect.succeed(2), bulkhead)
 *   return a + b
 * })
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const protect: {
  (bulkhead: Bulkhead): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadFull, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, bulkhead: Bulkhead): Effect.Effect<A, E | BulkheadFull, R>
} = internal.protect

/**
 * Declares the service key of a bulkhead provided by a Layer.
 *
 * ```ts
 * import { Bulkhead } from "effect-fallback"
 *
 * class InventoryBulkhead extends Bulkhead.Service<InventoryBulkhead>()("app/InventoryBulkhead") {}
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const Service: <Self>() => <const Key extends string>(key: Key) => Context.ServiceClass<Self, Key, Bulkhead> =
  internal.Service

/**
 * Provides a bulkhead under a service key; its name defaults to the key. One layer build is one bulkhead, shared by
 * everything that reads the key.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * class InventoryBulkhead extends Bulkhead.Service<InventoryBulkhead>()("app/InventoryBulkhead") {}
 *
 * const program = Effect.gen(function* () {
 *   const bulkhead = yield* InventoryBulkhead
 *   return yield* Effect.succeed("stock").pipe(bulkhead.protect)
 * }).pipe(Effect.provide(Bulkhead.layer(InventoryBulkhead, { maxConcurrent: 8, maxQueue: 16 })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: <Self>(
  key: Context.Key<Self, Bulkhead>,
  options: Options
) => Layer.Layer<Self, BulkheadConfigError> = internal.layer

/**
 * Raised at once, instead of running or queueing a call, when the bulkhead's slots and line are all taken. Built
 * without a stack trace, so a rejection is cheap.
 *
 * ```ts
 * import { Effect } from "effect"
 * import type { Bulkhead } from "effect-fallback"
 *
 * const handled = (call: Effect.Effect<string, Bulkhead.BulkheadFull>) =>
 *   call.pipe(Effect.catchTag("BulkheadFull", (e) => Effect.succeed(`${e.bulkhead} is busy`)))
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const BulkheadFull: typeof errors.BulkheadFull = errors.BulkheadFull

/**
 * The instance type of `BulkheadFull`.
 *
 * @since 0.2.0
 * @category errors
 */
export type BulkheadFull = errors.BulkheadFull

/**
 * Is this value a `BulkheadFull`?
 *
 * ```ts
 * import { Bulkhead } from "effect-fallback"
 *
 * Bulkhead.isBulkheadFull(new Error("boom")) // false
 * ```
 *
 * @since 0.2.0
 * @category guards
 */
export const isBulkheadFull: typeof errors.isBulkheadFull = errors.isBulkheadFull

/**
 * A bulkhead setting out of its allowed range (or of the wrong type), naming the field and the range.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * const failed = Effect.flip(Bulkhead.make({ maxConcurrent: 0 })) // maxConcurrent must be an integer from 1 to ...
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const BulkheadConfigError: typeof errors.BulkheadConfigError = errors.BulkheadConfigError

/**
 * The instance type of `BulkheadConfigError`.
 *
 * @since 0.2.0
 * @category errors
 */
export type BulkheadConfigError = errors.BulkheadConfigError

/**
 * The bulkhead's metrics, without attributes; every series carries `bulkhead` (the name). `inFlight` and `queued`
 * are gauges read when metrics are collected; `rejected` counts `BulkheadFull` rejections.
 *
 * ```ts
 * import { Metric } from "effect"
 * import { Bulkhead } from "effect-fallback"
 *
 * const queued = Metric.value(Metric.withAttributes(Bulkhead.metrics.queued, { bulkhead: "payments" }))
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const metrics: {
  readonly inFlight: Metric.Gauge<number>
  readonly queued: Metric.Gauge<number>
  readonly rejected: Metric.Counter<number>
} = internalMetrics.metrics
