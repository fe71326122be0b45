/**
 * Sagas: steps that `act` on an immutable context and `compensate` when a later step fails, with step fallbacks
 * (optionally through a circuit breaker), built on Effect's durable workflow engine (`effect/workflow`). Each step
 * and each compensation runs as an `Activity`, so a resumed execution never runs a completed step again.
 *
 * ```ts
 * import { Data, Effect, Schema } from "effect"
 * import { WorkflowEngine } from "effect/workflow"
 * import { Saga } from "effect-fallback"
 *
 * class Declined extends Data.TaggedError("Declined")<{}> {}
 * const Order = Schema.Struct({ id: Schema.String, reservation: Schema.optional(Schema.String) })
 *
 * const OrderSaga = Saga.make("OrderSaga", {
 *   context: Order,
 *   steps: (step) => [
 *     step("Reserve", {
 *       act: (order) => Effect.succeed({ ...order, reservation: `r-${order.id}` }),
 *       compensate: (order) => Effect.log(`release ${order.reservation}`)
 *     }),
 *     step("Charge", { act: () => Effect.fail(new Declined()) })
 *   ]
 * })
 *
 * const program = Saga.run(OrderSaga, { id: "42" }, { executionId: "order-42" }).pipe(
 *   Effect.provide(Saga.layer(OrderSaga)),
 *   Effect.provide(WorkflowEngine.layerMemory)
 * ) // SagaFailed at Charge, with Reserve compensated
 * ```
 *
 * @since 0.2.0
 */
import type { Effect, Layer, Option, Schedule, Schema, Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Pipeable } from "effect/Pipeable"
import type { Covariant, Tags } from "effect/Types"
import type { Workflow, WorkflowEngine } from "effect/workflow"
import type * as CircuitBreaker from "./CircuitBreaker.ts"
import * as internal from "./internal/saga.ts"
import * as errors from "./internal/sagaErrors.ts"
import * as internalMetrics from "./internal/sagaMetrics.ts"
import type * as model from "./internal/sagaModel.ts"

/**
 * @since 0.2.0
 * @category symbols
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.2.0
 * @category symbols
 */
export const StepTypeId: typeof internal.StepTypeId = internal.StepTypeId

/**
 * One step of a saga over the context `C`: `act` returns the next context, `compensate` undoes it and receives the
 * context `act` returned. `E` holds the step's typed failures (a fallback's `on` selects among them), `R` the
 * services its effects (and its breaker) need.
 *
 * @since 0.2.0
 * @category models
 */
export interface Step<in out C, out E = unknown, out R = never> extends Pipeable {
  readonly [StepTypeId]: {
    readonly _C: (_: C) => C
    readonly _E: Covariant<E>
    readonly _R: Covariant<R>
  }
  readonly name: string
}

/**
 * A saga named `Name` over the context `C` whose steps need the services `R`. A saga is an immutable value; its
 * `workflow` is the `effect/workflow` definition it runs as (for `interrupt` / `resume` by engine execution id).
 *
 * @since 0.2.0
 * @category models
 */
export interface Saga<out Name extends string, in out C, out R = never> extends Pipeable {
  readonly [TypeId]: { readonly _C: (_: C) => C; readonly _R: Covariant<R>; readonly _Name: Covariant<Name> }
  readonly name: Name
  readonly context: Schema.Codec<C, any>
  readonly workflow: Workflow.Any
}

/**
 * Why a step failed, in a plain, stored form: the failure's `_tag` (or `Error` name), its message, and whether it
 * was a defect.
 *
 * @since 0.2.0
 * @category models
 */
export type StepError = model.StepError

/**
 * A compensation that still failed after the saga's `compensationRetry` schedule.
 *
 * @since 0.2.0
 * @category models
 */
export type FailedCompensation = model.FailedCompensation

/**
 * Every step ran: the context returned by the last step, and the steps that ran (a fallback under its own name).
 *
 * @since 0.2.0
 * @category models
 */
export type Completed<C> = model.Completed<C>

/**
 * A step failed (its fallback too, if it had one that the failure selected) and every step that ran before it was
 * compensated, last first, each once.
 *
 * @since 0.2.0
 * @category models
 */
export type SagaFailed<C> = model.SagaFailed<C>

/**
 * A step failed and at least one compensation kept failing after its retry schedule: the saga is not consistent
 * and needs attention. Holds the step's failure and every compensation failure; the other steps were compensated.
 *
 * @since 0.2.0
 * @category models
 */
export type CompensationFailed<C> = model.CompensationFailed<C>

/**
 * The outcome of a saga execution.
 *
 * @since 0.2.0
 * @category models
 */
export type Result<C> = model.Result<C>

/**
 * The context type of a saga.
 *
 * @since 0.2.0
 * @category utils
 */
export type Context<S> = S extends Saga<infer _Name, infer C, infer _R> ? C : never

/**
 * The services a step, or a saga's steps, need.
 *
 * @since 0.2.0
 * @category utils
 */
export type Services<S> =
  S extends Step<infer _C, infer _E, infer R> ? R : S extends Saga<infer _Name, infer _C, infer R> ? R : never

/**
 * Raised, when a saga is built, for options the compiler would have rejected (from untyped code) and for two steps
 * with the same name: it names the constructor, the field, what was expected and what was given.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Saga } from "effect-fallback"
 *
 * try {
 *   Saga.step("", { act: (n: number) => Effect.succeed(n) })
 * } catch (error) {
 *   // InvalidSagaOptions: Saga.step: name must be a non-empty string, got ""
 * }
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const InvalidSagaOptions: typeof errors.InvalidSagaOptions = errors.InvalidSagaOptions

/**
 * The instance type of `InvalidSagaOptions`.
 *
 * @since 0.2.0
 * @category errors
 */
export type InvalidSagaOptions = errors.InvalidSagaOptions

/**
 * A step: `act` returns the next context; `compensate` (optional) undoes the step and receives the context `act`
 * returned. Both run at least once when a process dies in the middle of them (the engine runs an interrupted
 * activity again), so they must be idempotent: the saga's execution id and the step name make a natural
 * idempotency key. A thrown exception is a defect: it fails the step and never selects a fallback.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Saga } from "effect-fallback"
 *
 * interface Order { readonly id: string; readonly reservation?: string }
 *
 * const reserve = Saga.step("ReserveInventory", {
 *   act: (order: Order) => Effect.succeed({ ...order, reservation: `r-${order.id}` }),
 *   compensate: (order) => Effect.log(`release ${order.reservation}`)
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const step: <C, E = never, R = never, E2 = never, R2 = never>(
  name: string,
  options: {
    readonly act: (context: C) => Effect.Effect<C, E, R>
    readonly compensate?: ((context: C) => Effect.Effect<unknown, E2, R2>) | undefined
  }
) => Step<C, NoInfer<E>, NoInfer<R | R2>> = internal.step as any

/**
 * How a step falls back: `on` selects the failures (a non-empty list of `_tag`s of the step's errors, or a
 * predicate; omitted: every typed failure), `breaker` + `id` put the primary behind a circuit.
 *
 * @since 0.2.0
 * @category models
 */
export type FallbackOptions<E, Self> = {
  readonly on?: NonEmptyReadonlyArray<Tags<E>> | ((error: E) => boolean) | undefined
} & (
  | { readonly breaker: CircuitBreaker.Key<Self>; readonly id: string }
  | { readonly breaker?: undefined; readonly id?: string | undefined }
)

/**
 * Gives a step a fallback step, run with the context as it was before the primary (contexts are immutable, so
 * nothing the primary did leaks into it) when the primary fails with a selected failure, or at once, without the
 * primary, when the primary's circuit does not admit the call. The step that actually ran is the one compensated
 * if a later step fails. `on` is decided inside the step's activity; the engine stores only the outcome.
 *
 * ```ts
 * import { Data, Effect } from "effect"
 * import { CircuitBreaker, Saga } from "effect-fallback"
 *
 * class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
 * class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("app/PaymentsBreaker") {}
 * interface Order { readonly id: string; readonly paidWith?: string }
 *
 * const charge = Saga.step("ChargePayment", {
 *   act: (_: Order): Effect.Effect<Order, ConnectionError> => Effect.fail(new ConnectionError())
 * }).pipe(
 *   Saga.withFallback(
 *     Saga.step("ChargeBackupProvider", {
 *       act: (order: Order): Effect.Effect<Order> => Effect.succeed({ ...order, paidWith: "backup" })
 *     }),
 *     { on: ["ConnectionError"], breaker: PaymentsBreaker, id: "ChargePayment" }
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const withFallback: {
  <C, E, E2, R2, Self = never>(
    fallback: Step<C, E2, R2>,
    options?: FallbackOptions<E, Self>
  ): <R>(self: Step<C, E, R>) => Step<C, NoInfer<E | E2>, NoInfer<R | R2 | Self>>
  <C, E, R, E2, R2, Self = never>(
    self: Step<C, E, R>,
    fallback: Step<C, E2, R2>,
    options?: FallbackOptions<E, Self>
  ): Step<C, NoInfer<E | E2>, NoInfer<R | R2 | Self>>
} = internal.withFallback as any

/**
 * `Saga.step` for the context `C`, as `make` passes it to a `steps` function, so inline `act` and `compensate`
 * functions get the context type without annotations.
 *
 * @since 0.2.0
 * @category models
 */
export type StepConstructor<C> = <E = never, R = never, E2 = never, R2 = never>(
  name: string,
  options: {
    readonly act: (context: C) => Effect.Effect<C, E, R>
    readonly compensate?: ((context: C) => Effect.Effect<unknown, E2, R2>) | undefined
  }
) => Step<C, NoInfer<E>, NoInfer<R | R2>>

/**
 * Defines a saga: a name (the workflow's tag: keep it stable, stored executions refer to it), the context schema
 * (the engine stores contexts encoded with it), the steps in order, and the retry schedule of each compensation
 * (default: 3 attempts, 1 s then 2 s apart, as python-cqrs). Step names must be distinct, fallbacks included.
 * `steps` is an array of steps, or a function of a `step` constructor that knows the context type (handy for inline
 * `act` functions, whose parameter TypeScript cannot infer inside the array form).
 *
 * ```ts
 * import { Effect, Schedule, Schema } from "effect"
 * import { Saga } from "effect-fallback"
 *
 * const Order = Schema.Struct({ id: Schema.String, shipped: Schema.Boolean })
 *
 * const OrderSaga = Saga.make("OrderSaga", {
 *   context: Order,
 *   steps: (step) => [step("Ship", { act: (order) => Effect.succeed({ ...order, shipped: true }) })],
 *   compensationRetry: Schedule.exponential("1 second").pipe(Schedule.upTo({ times: 3 }))
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: <
  const Name extends string,
  C,
  const Steps extends NonEmptyReadonlyArray<Step<NoInfer<C>, any, any>>
>(
  name: Name,
  options: {
    readonly context: Schema.Codec<C, any>
    readonly steps: Steps | ((step: StepConstructor<C>) => Steps)
    readonly compensationRetry?: Schedule.Schedule<unknown, unknown> | undefined
  }
) => Saga<Name, C, Services<Steps[number]>> = internal.make as any

/**
 * Registers the saga with the current `WorkflowEngine` (the embedded `WorkflowEngine.layerMemory`, or
 * `ClusterWorkflowEngine` for durable executions) and provides the services its steps need. On the cluster engine,
 * building this layer is also what lets a process resume the saga's unfinished executions.
 *
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { WorkflowEngine } from "effect/workflow"
 * import { Saga } from "effect-fallback"
 *
 * const Ping = Saga.make("Ping", {
 *   context: Schema.Struct({ n: Schema.Number }),
 *   steps: (step) => [step("Inc", { act: ({ n }) => Effect.succeed({ n: n + 1 }) })]
 * })
 * const Live = Saga.layer(Ping).pipe(Layer.provideMerge(WorkflowEngine.layerMemory))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: <Name extends string, C, R>(
  saga: Saga<Name, C, R>
) => Layer.Layer<
  never,
  never,
  | WorkflowEngine.WorkflowEngine
  | Exclude<R, WorkflowEngine.WorkflowInstance | WorkflowEngine.WorkflowEngine | Scope.Scope>
> = internal.layer as any

/**
 * Runs the saga with `context` as the execution `executionId` and waits for its result. The id is the idempotency
 * key: running the same id again joins the execution (or returns its stored result) instead of starting another.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { WorkflowEngine } from "effect/workflow"
 * import { Saga } from "effect-fallback"
 *
 * const Ping = Saga.make("Ping", {
 *   context: Schema.Struct({ n: Schema.Number }),
 *   steps: (step) => [step("Inc", { act: ({ n }) => Effect.succeed({ n: n + 1 }) })]
 * })
 *
 * const program = Effect.gen(function* () {
 *   const result = yield* Saga.run(Ping, { n: 1 }, { executionId: "ping-1" })
 *   if (result._tag === "Completed") yield* Effect.log(result.context.n) // 2
 * }).pipe(Effect.provide(Saga.layer(Ping)), Effect.provide(WorkflowEngine.layerMemory))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const run: {
  <C>(
    context: NoInfer<C>,
    options: { readonly executionId: string }
  ): <Name extends string, R>(saga: Saga<Name, C, R>) => Effect.Effect<Result<C>, never, WorkflowEngine.WorkflowEngine>
  <Name extends string, C, R>(
    saga: Saga<Name, C, R>,
    context: NoInfer<C>,
    options: { readonly executionId: string }
  ): Effect.Effect<Result<C>, never, WorkflowEngine.WorkflowEngine>
} = internal.run as any

/**
 * The result of the execution `executionId` (the id given to `run`), once it has finished; `None` while it runs,
 * is suspended, or when the engine does not know it.
 *
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { WorkflowEngine } from "effect/workflow"
 * import { Saga } from "effect-fallback"
 *
 * const Ping = Saga.make("Ping", {
 *   context: Schema.Struct({ n: Schema.Number }),
 *   steps: (step) => [step("Inc", { act: ({ n }) => Effect.succeed({ n: n + 1 }) })]
 * })
 *
 * const program = Effect.gen(function* () {
 *   yield* Saga.run(Ping, { n: 1 }, { executionId: "ping-1" })
 *   const status = yield* Saga.status(Ping, "ping-1")
 *   if (Option.isSome(status)) yield* Effect.log(status.value._tag) // "Completed"
 * }).pipe(Effect.provide(Saga.layer(Ping)), Effect.provide(WorkflowEngine.layerMemory))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const status: <Name extends string, C, R>(
  saga: Saga<Name, C, R>,
  executionId: string
) => Effect.Effect<Option.Option<Result<C>>, never, WorkflowEngine.WorkflowEngine> = internal.status as any

/**
 * The engine's execution id of `executionId` (a hash of the saga's name and the id), for
 * `saga.workflow`'s `interrupt` / `resume` and the engine's own tables.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Saga } from "effect-fallback"
 *
 * const Ping = Saga.make("Ping", {
 *   context: Schema.Struct({ n: Schema.Number }),
 *   steps: (step) => [step("Inc", { act: ({ n }) => Effect.succeed({ n: n + 1 }) })]
 * })
 * const id = Saga.engineExecutionId(Ping, "ping-1") // Effect<string>: 32 hex characters
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const engineExecutionId: <Name extends string, C, R>(
  saga: Saga<Name, C, R>,
  executionId: string
) => Effect.Effect<string> = internal.engineExecutionId as any

/**
 * The saga metrics, without attributes: `sagas` (`saga_executions_total{saga,outcome}`, outcome `completed`,
 * `failed` or `compensation_failed`), `stepFailures` (`saga_step_failures_total{saga,step}`), `compensations`
 * (`saga_compensations_total{saga,step,outcome}`, outcome `compensated` or `failed`) and `fallbacks`
 * (`saga_fallbacks_total{saga,step,fallback}`).
 *
 * ```ts
 * import { Metric } from "effect"
 * import { Saga } from "effect-fallback"
 *
 * const failed = Metric.value(Metric.withAttributes(Saga.metrics.sagas, { saga: "OrderSaga", outcome: "failed" }))
 * ```
 *
 * @since 0.2.0
 * @category metrics
 */
export const metrics: typeof internalMetrics.metrics = internalMetrics.metrics
