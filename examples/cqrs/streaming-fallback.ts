// python-cqrs's streaming handler fallback (seed 000, examples/streaming_handler_fallback.py) on the mediator:
// StreamItemsCommand streams results for item ids a, b, c, d; the primary handler loses its connection after two items
// and the fallback stream takes over from its start, so the client receives primary, primary, then fallback x4. Each
// item's ItemProcessed event is published before the item is delivered; the primary's third item failed, so its
// event is dropped. A second binding resumes after the delivered items with `emitted`, and goes through a circuit
// breaker (python-cqrs skips the breaker for streams). Run with `node examples/cqrs/streaming-fallback.ts`; exits 1
// when the items or events differ from the expected.
import { Console, Data, Effect, Layer, Schema, Stream } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"

class StreamItemResult extends Schema.Class<StreamItemResult>("StreamItemResult")({
  itemId: Schema.String,
  status: Schema.Literals(["processed", "from_fallback"]),
  source: Schema.Literals(["primary", "fallback"])
}) {}

class StreamItemsCommand extends Mediator.StreamRequest<StreamItemsCommand>()(
  "StreamItemsCommand",
  {
    itemIds: Schema.Array(Schema.String)
  },
  { response: StreamItemResult }
) {}

class ResumableStreamItems extends Mediator.StreamRequest<ResumableStreamItems>()(
  "ResumableStreamItems",
  {
    itemIds: Schema.Array(Schema.String)
  },
  { response: StreamItemResult }
) {}

class ItemProcessed extends Mediator.Event<ItemProcessed>()("ItemProcessed", {
  itemId: Schema.String,
  source: Schema.String
}) {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly message: string }> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly message: string }> {}

class StreamsBreaker extends CircuitBreaker.Service<StreamsBreaker>()("example/StreamsBreaker") {}

// Yields results until the third item, where the connection is lost (after raising that item's event).
const primaryStreamItems = (request: {
  readonly itemIds: ReadonlyArray<string>
}): Stream.Stream<StreamItemResult, ConnectionError | TimeoutError> =>
  Stream.fromIterable(request.itemIds.entries()).pipe(
    Stream.mapEffect(([i, itemId]) =>
      Mediator.emit(new ItemProcessed({ itemId, source: "primary" })).pipe(
        Effect.andThen(
          i >= 2
            ? Effect.fail(new ConnectionError({ message: "Stream connection lost" }))
            : Effect.succeed(new StreamItemResult({ itemId, status: "processed", source: "primary" }))
        )
      )
    )
  )

const fallbackStreamItems = (itemIds: ReadonlyArray<string>) =>
  Stream.fromIterable(itemIds).pipe(
    Stream.mapEffect((itemId) =>
      Mediator.emit(new ItemProcessed({ itemId, source: "fallback" })).pipe(
        Effect.as(new StreamItemResult({ itemId, status: "from_fallback", source: "fallback" }))
      )
    )
  )

const timeline: Array<string> = []

const MediatorLive = Mediator.layer({
  requests: [
    Mediator.bind(StreamItemsCommand, {
      primary: primaryStreamItems,
      fallback: (request) => fallbackStreamItems(request.itemIds),
      on: ["ConnectionError", "TimeoutError"]
    }),
    Mediator.bind(ResumableStreamItems, {
      primary: primaryStreamItems,
      fallback: (request, _trigger, { emitted }) => fallbackStreamItems(request.itemIds.slice(emitted)),
      on: ["ConnectionError", "TimeoutError"],
      breaker: StreamsBreaker
    })
  ],
  events: [
    Mediator.subscribe(ItemProcessed, (event) =>
      Effect.sync(() => timeline.push(`event ${event.itemId} ${event.source}`))
    )
  ]
}).pipe(Layer.provideMerge(CircuitBreaker.layer(StreamsBreaker, { failureThreshold: 1 })))

const consume = (label: string, items: Stream.Stream<StreamItemResult, unknown, Mediator.Mediator>) =>
  Effect.gen(function* () {
    yield* Console.log(label)
    timeline.length = 0
    const delivered: Array<string> = []
    yield* Stream.runForEach(items, (item) =>
      Effect.sync(() => {
        delivered.push(`${item.itemId} ${item.source}`)
        timeline.push(`item ${item.itemId} ${item.source}`)
      }).pipe(Effect.andThen(Console.log(`  ${item.itemId} ${item.source} (${item.status})`)))
    )
    return { delivered, timeline: [...timeline] }
  })

const program = Effect.gen(function* () {
  const itemIds = ["a", "b", "c", "d"]
  const fromStart = yield* consume("fallback from its start:", Mediator.stream(new StreamItemsCommand({ itemIds })))
  const resumed = yield* consume(
    "fallback resuming after the delivered items, through a breaker:",
    Mediator.stream(new ResumableStreamItems({ itemIds }))
  )
  const breaker = yield* StreamsBreaker
  const state = yield* breaker.state("ResumableStreamItems")
  yield* Console.log(`  the stream failure was recorded on its circuit: ${state}`)
  return { fromStart, resumed: resumed.delivered, state }
}).pipe(Effect.provide(MediatorLive))

const expected = {
  fromStart: {
    delivered: ["a primary", "b primary", "a fallback", "b fallback", "c fallback", "d fallback"],
    timeline: [
      "event a primary",
      "item a primary",
      "event b primary",
      "item b primary",
      "event a fallback",
      "item a fallback",
      "event b fallback",
      "item b fallback",
      "event c fallback",
      "item c fallback",
      "event d fallback",
      "item d fallback"
    ]
  },
  resumed: ["a primary", "b primary", "c fallback", "d fallback"],
  state: "Open"
}

Effect.runPromise(program).then(
  (actual) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      console.error(`unexpected:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`)
      process.exit(1)
    }
    console.log("ok: primary, primary, then the fallback's items, each with its own events")
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
