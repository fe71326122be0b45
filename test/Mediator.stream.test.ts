import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Layer, Schema, Stream } from "effect"
import { CircuitBreaker, Mediator } from "effect-fallback"

class StreamItemResult extends Schema.Class<StreamItemResult>("StreamItemResult")({
  itemId: Schema.String,
  source: Schema.String
}) {}

class ConnectionError extends Data.TaggedError("ConnectionError")<{}> {}
class Corrupt extends Schema.TaggedError<Corrupt>()("Corrupt", { itemId: Schema.String }) {}

class StreamItems extends Mediator.StreamRequest<StreamItems>()(
  "StreamItems",
  {
    itemIds: Schema.Array(Schema.String)
  },
  { response: StreamItemResult, error: Corrupt }
) {}

class ItemProcessed extends Mediator.Event<ItemProcessed>()("ItemProcessed", {
  itemId: Schema.String,
  source: Schema.String
}) {}
class StreamFinished extends Mediator.Event<StreamFinished>()("StreamFinished", { source: Schema.String }) {}

const request = new StreamItems({ itemIds: ["a", "b", "c", "d"] })
const result = (itemId: string, source: string) => new StreamItemResult({ itemId, source })
const label = (item: StreamItemResult) => `${item.itemId} ${item.source}`

/** Items produced one pull at a time, each raising ItemProcessed. */
const produce = (source: string, itemIds: ReadonlyArray<string>): Stream.Stream<StreamItemResult> =>
  Stream.fromIterable(itemIds).pipe(
    Stream.mapEffect((itemId) =>
      Mediator.emit(new ItemProcessed({ itemId, source })).pipe(Effect.as(result(itemId, source)))
    )
  )

/** `produce`, losing its connection while producing the item at `failAt` (after raising its event). */
const produceUntil = (
  source: string,
  itemIds: ReadonlyArray<string>,
  failAt: number
): Stream.Stream<StreamItemResult, ConnectionError> =>
  produce(source, itemIds.slice(0, failAt)).pipe(
    Stream.concat(
      Stream.fromEffect(
        Mediator.emit(new ItemProcessed({ itemId: itemIds[failAt], source })).pipe(
          Effect.andThen(Effect.fail(new ConnectionError()))
        )
      )
    )
  )

/** A timeline of published events and delivered items, to read what travelled with what. */
const timeline = () => {
  const entries: Array<string> = []
  const events = [
    Mediator.subscribe(ItemProcessed, (e) => Effect.sync(() => entries.push(`event ${e.itemId} ${e.source}`))),
    Mediator.subscribe(StreamFinished, (e) => Effect.sync(() => entries.push(`finished ${e.source}`)))
  ]
  const collect = <E, R>(stream: Stream.Stream<StreamItemResult, E, R>) =>
    Stream.runForEach(stream, (item) => Effect.sync(() => entries.push(`item ${label(item)}`)))
  return { entries, events, collect }
}

const itemsFallback = Mediator.bind(StreamItems, {
  primary: (req) => produceUntil("primary", req.itemIds, 2),
  fallback: (req) => produce("fallback", req.itemIds),
  on: ["ConnectionError"]
})

describe("Mediator.stream", () => {
  it.effect("streams the bound handler's items, typed by the request", () =>
    Effect.gen(function* () {
      const items = yield* Stream.runCollect(Mediator.stream(request))
      assert.deepStrictEqual(items.map(label), ["a live", "b live", "c live", "d live"])
    }).pipe(
      Effect.provide(
        Mediator.layer({
          requests: [
            Mediator.bind(StreamItems, (req) => Stream.fromIterable(req.itemIds.map((id) => result(id, "live"))))
          ]
        })
      )
    )
  )

  it.effect("an unbound streaming request fails with HandlerNotFound naming its tag", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Stream.runCollect(Mediator.stream(request)))
      assert.strictEqual(error._tag, "HandlerNotFound")
      assert.strictEqual(error.message, "no handler is bound to the streaming request StreamItems")
    }).pipe(Effect.provide(Mediator.layer({})))
  )

  it.effect("streamUnknown decodes the payload first, and fails typed on a bad one before any handler", () => {
    let started = 0
    return Effect.gen(function* () {
      const items = yield* Stream.runCollect(Mediator.streamUnknown({ _tag: "StreamItems", itemIds: ["x"] }))
      assert.deepStrictEqual((items as Array<StreamItemResult>).map(label), ["x live"])
      const error = yield* Effect.flip(Stream.runCollect(Mediator.streamUnknown({ _tag: "StreamItems", itemIds: "x" })))
      assert.isTrue(Mediator.isMessageDecodeError(error))
      assert.include((error as Mediator.MessageDecodeError).message, "cannot decode streaming request StreamItems")
      assert.strictEqual(started, 1)
    }).pipe(
      Effect.provide(
        Mediator.layer({
          requests: [
            Mediator.bind(StreamItems, (req) =>
              Stream.suspend(() => (started++, Stream.fromIterable(req.itemIds.map((id) => result(id, "live")))))
            )
          ]
        })
      )
    )
  })

  describe("events", () => {
    it.effect("the events raised while producing an item are published before that item is delivered", () => {
      const { collect, entries, events } = timeline()
      return Effect.gen(function* () {
        yield* collect(Mediator.stream(new StreamItems({ itemIds: ["a", "b"] })))
        assert.deepStrictEqual(entries, ["event a live", "item a live", "event b live", "item b live"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [Mediator.bind(StreamItems, (req) => produce("live", req.itemIds))],
            events
          })
        )
      )
    })

    it.effect("events raised after the last item are published when the stream completes", () => {
      const { collect, entries, events } = timeline()
      return Effect.gen(function* () {
        yield* collect(Mediator.stream(new StreamItems({ itemIds: ["a"] })))
        assert.deepStrictEqual(entries, ["event a live", "item a live", "finished live"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(StreamItems, (req) =>
                produce("live", req.itemIds).pipe(
                  Stream.concat(Stream.fromEffectDrain(Mediator.emit(new StreamFinished({ source: "live" }))))
                )
              )
            ],
            events
          })
        )
      )
    })

    it.effect("a stream that fails keeps the events of delivered items and drops those of the unfinished one", () => {
      const { collect, entries, events } = timeline()
      return Effect.gen(function* () {
        const error = yield* Effect.flip(collect(Mediator.stream(new StreamItems({ itemIds: ["a", "b"] }))))
        assert.instanceOf(error, Corrupt)
        assert.deepStrictEqual(entries, ["event a live", "item a live"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(StreamItems, (req) =>
                Stream.fromIterable(req.itemIds).pipe(
                  Stream.mapEffect((itemId, i) =>
                    Mediator.emit(new ItemProcessed({ itemId, source: "live" })).pipe(
                      Effect.andThen(
                        i === 1 ? Effect.fail(new Corrupt({ itemId })) : Effect.succeed(result(itemId, "live"))
                      )
                    )
                  )
                )
              )
            ],
            events
          })
        )
      )
    })
  })

  describe("fallback bindings", () => {
    it.effect(
      "a streaming fallback binding delivers the primary's items, then the fallback's items from its own start",
      () => {
        const { collect, entries, events } = timeline()
        return Effect.gen(function* () {
          yield* collect(Mediator.stream(request))
          assert.deepStrictEqual(
            entries.filter((e) => e.startsWith("item")),
            [
              "item a primary",
              "item b primary",
              "item a fallback",
              "item b fallback",
              "item c fallback",
              "item d fallback"
            ]
          )
          // each item's events travelled with it; the primary's failed third item left none
          assert.deepStrictEqual(entries.slice(0, 6), [
            "event a primary",
            "item a primary",
            "event b primary",
            "item b primary",
            "event a fallback",
            "item a fallback"
          ])
          assert.notInclude(entries, "event c primary")
        }).pipe(Effect.provide(Mediator.layer({ requests: [itemsFallback], events })))
      }
    )

    it.effect("a fallback can resume after the items the primary delivered", () =>
      Effect.gen(function* () {
        const items = yield* Stream.runCollect(Mediator.stream(request))
        assert.deepStrictEqual(items.map(label), ["a primary", "b primary", "c fallback", "d fallback"])
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(StreamItems, {
                primary: (req) => produceUntil("primary", req.itemIds, 2),
                fallback: (req, _trigger, { emitted }) => produce("fallback", req.itemIds.slice(emitted))
              })
            ]
          })
        )
      )
    )

    it.effect("a failure outside `on` keeps the delivered items, then fails with the original failure", () =>
      Effect.gen(function* () {
        const delivered: Array<string> = []
        const error = yield* Effect.flip(
          Stream.runForEach(Mediator.stream(request), (item) => Effect.sync(() => delivered.push(label(item))))
        )
        assert.deepStrictEqual(delivered, ["a primary"])
        assert.instanceOf(error, Corrupt)
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(StreamItems, {
                primary: (req): Stream.Stream<StreamItemResult, ConnectionError | Corrupt> =>
                  produceUntil("primary", req.itemIds, 1).pipe(
                    Stream.catchTag("ConnectionError", () => Stream.fail(new Corrupt({ itemId: "b" })))
                  ),
                fallback: (req) => produce("fallback", req.itemIds),
                on: ["ConnectionError"]
              })
            ]
          })
        )
      )
    )

    it.effect("a consumer that stops early never triggers the fallback", () => {
      let fallbacks = 0
      return Effect.gen(function* () {
        const items = yield* Stream.runCollect(Stream.take(Mediator.stream(request), 2))
        assert.deepStrictEqual(items.map(label), ["a primary", "b primary"])
        assert.strictEqual(fallbacks, 0)
      }).pipe(
        Effect.provide(
          Mediator.layer({
            requests: [
              Mediator.bind(StreamItems, {
                primary: (req) => produceUntil("primary", req.itemIds, 2),
                fallback: (req) => Stream.suspend(() => (fallbacks++, produce("fallback", req.itemIds)))
              })
            ]
          })
        )
      )
    })

    describe("through a circuit breaker", () => {
      class StreamsBreaker extends CircuitBreaker.Service<StreamsBreaker>()("test/StreamsBreaker") {}

      it.effect("failing streams open the circuit named by the request's tag; then the fallback runs at once", () => {
        let primaries = 0
        const triggers: Array<string> = []
        const layer = Mediator.layer({
          requests: [
            Mediator.bind(StreamItems, {
              primary: (req) => Stream.suspend(() => (primaries++, produceUntil("primary", req.itemIds, 2))),
              fallback: (req, trigger, { emitted }) =>
                Stream.suspend(() => (triggers.push(trigger._tag), produce("fallback", req.itemIds.slice(emitted)))),
              on: ["ConnectionError"],
              breaker: StreamsBreaker
            })
          ]
        }).pipe(Layer.provideMerge(CircuitBreaker.layer(StreamsBreaker, { failureThreshold: 2 })))
        return Effect.gen(function* () {
          const runs: Array<Array<string>> = []
          for (let i = 0; i < 3; i++) runs.push((yield* Stream.runCollect(Mediator.stream(request))).map(label))
          assert.strictEqual(primaries, 2)
          assert.deepStrictEqual(triggers, ["ConnectionError", "ConnectionError", "CircuitOpenError"])
          assert.deepStrictEqual(runs[2], ["a fallback", "b fallback", "c fallback", "d fallback"])
          const breaker = yield* StreamsBreaker
          assert.strictEqual(yield* breaker.state("StreamItems"), "Open")
        }).pipe(Effect.provide(layer))
      })
    })
  })
})
