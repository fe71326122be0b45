// Type-level specification of Saga: what the compiler infers and what it rejects. Every `@ts-expect-error` below is
// something the compiler must refuse (tsc fails if one of them compiles); `expectTypeOf` pins inferred types.
import { describe, it } from "@effect/vitest"
import { Context, Data, Effect, type Layer, Option, Schema } from "effect"
import type { WorkflowEngine } from "effect/workflow"
import { CircuitBreaker, Saga } from "effect-fallback"
import { expectTypeOf } from "vitest"

class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
class Declined extends Data.TaggedError("Declined")<{}> {}
class Inventory extends Context.Service<Inventory, { readonly reserve: (id: string) => Effect.Effect<string> }>()(
  "test/Inventory"
) {}
class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("test/TypesPaymentsBreaker") {}

const Order = Schema.Struct({ id: Schema.String, reservation: Schema.optional(Schema.String) })
type Order = typeof Order.Type

const reserve = (order: Order): Effect.Effect<Order, never, Inventory> =>
  Effect.gen(function* () {
    const inventory = yield* Inventory
    return { ...order, reservation: yield* inventory.reserve(order.id) }
  })

type LayerServices<L> = L extends Layer.Layer<never, never, infer R> ? R : never
const charge = (order: Order): Effect.Effect<Order, ConnectionError | Declined> => Effect.succeed(order)

describe("Saga types", () => {
  it("a saga's services are its steps' services and its breakers; run needs only the engine", () => {
    const saga = Saga.make("Typed", {
      context: Order,
      steps: [
        Saga.step("Reserve", { act: reserve }),
        Saga.step("Charge", { act: charge }).pipe(
          Saga.withFallback(Saga.step("Backup", { act: (order: Order) => Effect.succeed(order) }), {
            on: ["ConnectionError"],
            breaker: PaymentsBreaker,
            id: "Charge"
          })
        )
      ]
    })
    expectTypeOf(saga.name).toEqualTypeOf<"Typed">()
    expectTypeOf<Saga.Context<typeof saga>>().toEqualTypeOf<Order>()
    expectTypeOf<Saga.Services<typeof saga>>().toEqualTypeOf<Inventory | PaymentsBreaker>()
    expectTypeOf<
      LayerServices<ReturnType<typeof Saga.layer<"Typed", Order, Inventory | PaymentsBreaker>>>
    >().toEqualTypeOf<WorkflowEngine.WorkflowEngine | Inventory | PaymentsBreaker>()
    expectTypeOf(Saga.run(saga, { id: "o" }, { executionId: "o" })).toEqualTypeOf<
      Effect.Effect<Saga.Result<Order>, never, WorkflowEngine.WorkflowEngine>
    >()
    expectTypeOf(saga.pipe(Saga.run({ id: "o" }, { executionId: "o" }))).toEqualTypeOf<
      Effect.Effect<Saga.Result<Order>, never, WorkflowEngine.WorkflowEngine>
    >()
    expectTypeOf(Saga.status(saga, "o")).toEqualTypeOf<
      Effect.Effect<Option.Option<Saga.Result<Order>>, never, WorkflowEngine.WorkflowEngine>
    >()
  })

  it("the steps function gives inline act and compensate the context type", () => {
    const saga = Saga.make("Inline", {
      context: Order,
      steps: (step) => [
        step("Reserve", {
          act: (order) => Effect.succeed({ ...order, reservation: "r" }),
          compensate: (order) => Effect.log(order.reservation)
        })
      ]
    })
    expectTypeOf<Saga.Context<typeof saga>>().toEqualTypeOf<Order>()
    expectTypeOf<Saga.Services<typeof saga>>().toEqualTypeOf<never>()
  })

  it("rejects an `on` tag the step cannot fail with, a context of another type, and a breaker without an id", () => {
    // Only compiled: the calls below would throw InvalidSagaOptions or fail at run time.
    const rejected = () => {
      Saga.step("Charge", { act: charge }).pipe(
        // @ts-expect-error "Timeout" is not a failure of charge
        Saga.withFallback(Saga.step("Backup", { act: (order: Order) => Effect.succeed(order) }), { on: ["Timeout"] })
      )
      Saga.make("WrongContext", {
        context: Order,
        // @ts-expect-error a step over numbers in a saga over orders
        steps: [Saga.step("Count", { act: (n: number) => Effect.succeed(n + 1) })]
      })
      Saga.withFallback(
        Saga.step("Charge", { act: charge }),
        Saga.step("Backup", { act: (order: Order) => Effect.succeed(order) }),
        // @ts-expect-error a breaker needs the circuit id
        { breaker: PaymentsBreaker }
      )
      const typed = Saga.make("Ctx", { context: Order, steps: [Saga.step("A", { act: charge })] })
      // @ts-expect-error the context must match the saga's schema
      Saga.run(typed, { id: 1 }, { executionId: "x" })
    }
    expectTypeOf(rejected).toBeFunction()
  })
})
