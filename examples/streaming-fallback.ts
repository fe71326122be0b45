// The streaming fallback of python-cqrs (seed 000): StreamItems streams results for item ids a, b, c, d; the primary
// loses its connection after two items and the fallback stream takes over. The client keeps what the primary already
// delivered and then receives the fallback's items from the start (primary, primary, fallback x4). A second run shows
// a fallback that resumes after the delivered items using `emitted`. Run with `node examples/streaming-fallback.ts`;
// exits 1 when the items differ from the expected.
import { Console, Data, Effect, Stream } from "effect"
import { Fallback } from "effect-fallback"

class StreamItemsCommand extends Data.TaggedClass("StreamItemsCommand")<{ readonly itemIds: ReadonlyArray<string> }> {}

class StreamItemResult extends Data.Class<{
  readonly itemId: string
  readonly status: "processed" | "from_fallback"
  readonly source: "primary" | "fallback"
}> {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{ readonly message: string }> {}
class TimeoutError extends Data.TaggedError("TimeoutError")<{ readonly message: string }> {}

// Yields results until the third item, where the connection is lost.
const primaryHandler = (request: StreamItemsCommand): Stream.Stream<StreamItemResult, ConnectionError | TimeoutError> =>
  Stream.fromIterable(request.itemIds.entries()).pipe(
    Stream.mapEffect(([i, itemId]) =>
      i >= 2
        ? Effect.fail(new ConnectionError({ message: "Stream connection lost" }))
        : Effect.succeed(new StreamItemResult({ itemId, status: "processed", source: "primary" }))
    )
  )

const fallbackHandler = (itemIds: ReadonlyArray<string>) =>
  Stream.fromIterable(itemIds).pipe(
    Stream.map((itemId) => new StreamItemResult({ itemId, status: "from_fallback", source: "fallback" }))
  )

const request = new StreamItemsCommand({ itemIds: ["a", "b", "c", "d"] })

// As in the seed: the fallback stream is consumed from its start.
const streamItems = primaryHandler(request).pipe(
  Fallback.stream(fallbackHandler(request.itemIds), { on: ["ConnectionError", "TimeoutError"] })
)

// Resuming: the fallback function learns how many items the primary delivered.
const streamItemsResuming = primaryHandler(request).pipe(
  Fallback.stream((_failure, { emitted }) => fallbackHandler(request.itemIds.slice(emitted)), {
    on: ["ConnectionError", "TimeoutError"]
  })
)

const collect = (label: string, items: Stream.Stream<StreamItemResult, TimeoutError | ConnectionError>) =>
  Effect.gen(function* () {
    yield* Console.log(label)
    const seen: Array<string> = []
    yield* Stream.runForEach(items, (item) =>
      Effect.sync(() => seen.push(`${item.itemId} ${item.source}`)).pipe(
        Effect.andThen(Console.log(`  ${item.itemId} ${item.source} (${item.status})`))
      )
    )
    return seen
  })

const program = Effect.gen(function* () {
  const fromStart = yield* collect("fallback from its start:", streamItems)
  const resumed = yield* collect("fallback resuming after the delivered items:", streamItemsResuming)
  return { fromStart, resumed }
})

const expected = {
  fromStart: ["a primary", "b primary", "a fallback", "b fallback", "c fallback", "d fallback"],
  resumed: ["a primary", "b primary", "c fallback", "d fallback"]
}

Effect.runPromise(program).then(
  (actual) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      console.error(`unexpected items:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`)
      process.exit(1)
    }
    console.log("ok: the client saw primary, primary, then the fallback's items")
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
