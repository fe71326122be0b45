// An order saga (python-cqrs's saga with a step fallback, on Effect's workflow engine): reserve inventory, charge the
// payment (a backup provider takes over when the primary provider is unreachable or its circuit is open), ship.
// A mediator request handler starts the saga, with the order id as the saga's execution id.
// 1. the primary payment provider is down: the backup charges the order and the saga completes;
// 2. shipping fails: the backup charge is refunded (not the primary's: it never charged) and the stock released,
//    last first; the handler answers with the failed step;
// 3. the same order id again: the stored result is returned, no step runs twice.
// Run with `node examples/saga-order.ts`; exits 1 when an outcome differs from the expected.
import { Console, Data, Effect, Layer, Schema } from "effect"
import { Activity, WorkflowEngine } from "effect/workflow"
import { CircuitBreaker, Mediator, Saga } from "effect-fallback"
import { makeChecker } from "./_check.ts"

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly provider: string }> {}
class InvalidAddress extends Data.TaggedError("InvalidAddress")<{ readonly address: string }> {}
class PaymentsBreaker extends CircuitBreaker.Service<PaymentsBreaker>()("example/PaymentsBreaker") {}

const OrderContext = Schema.Struct({
  orderId: Schema.String,
  amount: Schema.Number,
  address: Schema.String,
  reservation: Schema.optional(Schema.String),
  payment: Schema.optional(Schema.Struct({ provider: Schema.String, charge: Schema.String })),
  shipment: Schema.optional(Schema.String)
})
type OrderContext = typeof OrderContext.Type

// The outside world: what each service did, in order.
const journal: Array<string> = []
const record = (line: string) => Effect.sync(() => journal.push(line))

// Act and compensate run at least once (a crash in the middle runs them again): the idempotency key of the
// execution and step lets the real services drop a repeated call.
const reserve = (order: OrderContext): Effect.Effect<OrderContext, never, WorkflowEngine.WorkflowInstance> =>
  Effect.gen(function* () {
    const key = yield* Activity.idempotencyKey("ReserveInventory")
    yield* record(`inventory: reserve ${order.orderId} (key ${key.slice(0, 8)})`)
    return { ...order, reservation: `res-${order.orderId}` }
  })
const release = (order: OrderContext) => record(`inventory: release ${order.reservation}`)

const chargePrimary = (order: OrderContext): Effect.Effect<OrderContext, ConnectionError> =>
  Effect.andThen(
    record(`payments: primary provider unreachable for ${order.orderId}`),
    Effect.fail(new ConnectionError({ provider: "primary" }))
  )
const refundPrimary = (order: OrderContext) => record(`payments: primary refunds ${order.payment?.charge}`)
const chargeBackup = (order: OrderContext): Effect.Effect<OrderContext> =>
  Effect.as(record(`payments: backup charges ${order.amount} for ${order.orderId}`), {
    ...order,
    payment: { provider: "backup", charge: `bk-${order.orderId}` }
  })
const refundBackup = (order: OrderContext) => record(`payments: backup refunds ${order.payment?.charge}`)

const ship = (order: OrderContext): Effect.Effect<OrderContext, InvalidAddress> =>
  order.address === ""
    ? Effect.andThen(
        record(`shipping: no address for ${order.orderId}`),
        Effect.fail(new InvalidAddress({ address: "" }))
      )
    : Effect.as(record(`shipping: ship ${order.orderId}`), { ...order, shipment: `sh-${order.orderId}` })
const cancelShipment = (order: OrderContext) => record(`shipping: cancel ${order.shipment}`)

const OrderSaga = Saga.make("OrderSaga", {
  context: OrderContext,
  steps: [
    Saga.step("ReserveInventory", { act: reserve, compensate: release }),
    Saga.step("ChargePayment", { act: chargePrimary, compensate: refundPrimary }).pipe(
      Saga.withFallback(Saga.step("ChargeBackupProvider", { act: chargeBackup, compensate: refundBackup }), {
        on: ["ConnectionError"],
        breaker: PaymentsBreaker,
        id: "ChargePayment"
      })
    ),
    Saga.step("Ship", { act: ship, compensate: cancelShipment })
  ]
})

// The mediator side: PlaceOrder starts the saga (python-cqrs binds sagas in a SagaMap; here a handler runs one).
class OrderPlaced extends Schema.Class<OrderPlaced>("OrderPlaced")({
  orderId: Schema.String,
  status: Schema.Literals(["placed", "failed", "needs-attention"]),
  detail: Schema.String
}) {}

class PlaceOrder extends Mediator.Request<PlaceOrder>()(
  "PlaceOrder",
  { orderId: Schema.String, amount: Schema.Number, address: Schema.String },
  { response: OrderPlaced }
) {}

const placeOrder = (request: PlaceOrder) =>
  Effect.map(
    Saga.run(
      OrderSaga,
      { orderId: request.orderId, amount: request.amount, address: request.address },
      { executionId: request.orderId }
    ),
    (result) => {
      switch (result._tag) {
        case "Completed":
          return new OrderPlaced({
            orderId: request.orderId,
            status: "placed",
            detail: `paid via ${result.context.payment?.provider}, shipment ${result.context.shipment}`
          })
        case "SagaFailed":
          return new OrderPlaced({
            orderId: request.orderId,
            status: "failed",
            detail: `${result.step} failed (${result.error.tag}); compensated ${result.compensated.join(", ")}`
          })
        case "CompensationFailed":
          return new OrderPlaced({
            orderId: request.orderId,
            status: "needs-attention",
            detail: result.failedCompensations.map((failed) => failed.step).join(", ")
          })
      }
    }
  )

const MediatorLive = Mediator.layer({ requests: [Mediator.bind(PlaceOrder, placeOrder)] })

const AppLive = MediatorLive.pipe(
  Layer.provideMerge(Saga.layer(OrderSaga)),
  Layer.provideMerge(WorkflowEngine.layerMemory),
  Layer.provideMerge(CircuitBreaker.layer(PaymentsBreaker, { failureThreshold: 5 }))
)

const { check: expect, finish } = makeChecker()

const program = Effect.gen(function* () {
  yield* Console.log("1. the primary payment provider is down: the backup provider charges, the saga completes")
  const placed = yield* Mediator.send(new PlaceOrder({ orderId: "order-1", amount: 42, address: "1 Main St" }))
  yield* expect("order-1", [placed.status, placed.detail], ["placed", "paid via backup, shipment sh-order-1"])

  yield* Console.log("2. shipping fails: the backup charge is refunded and the stock released, last first")
  journal.length = 0
  const failed = yield* Mediator.send(new PlaceOrder({ orderId: "order-2", amount: 7, address: "" }))
  yield* expect(
    "order-2",
    [failed.status, failed.detail],
    ["failed", "Ship failed (InvalidAddress); compensated ChargeBackupProvider, ReserveInventory"]
  )
  yield* expect(
    "order-2 journal",
    journal.map((line) => line.replace(/ \(key [0-9a-f]+\)/, "")),
    [
      "inventory: reserve order-2",
      "payments: primary provider unreachable for order-2",
      "payments: backup charges 7 for order-2",
      "shipping: no address for order-2",
      "payments: backup refunds bk-order-2",
      "inventory: release res-order-2"
    ]
  )

  yield* Console.log("3. the same order id again: the stored result, nothing runs twice")
  journal.length = 0
  const again = yield* Mediator.send(new PlaceOrder({ orderId: "order-2", amount: 7, address: "" }))
  yield* expect("order-2 again", again.status, "failed")
  yield* expect("services called", journal.length, 0)
  const status = yield* Saga.status(OrderSaga, "order-2")
  yield* expect("status of order-2", status._tag === "Some" ? status.value._tag : "none", "SagaFailed")
})

Effect.runPromise(program.pipe(Effect.provide(AppLive))).then(
  () => finish("saga-order"),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
