import { Context, Effect, Stream } from "effect"
import type { AnyEvent } from "../Mediator.ts"

/** Publishes the events an attempt raised; never fails. @internal */
export interface Publisher {
  readonly publishAll: (events: ReadonlyArray<AnyEvent>) => Effect.Effect<void>
}

/**
 * One run of one handler: the message it handles and the events it raised. Each attempt gets its own, so the events
 * of an attempt that failed are dropped with it and a fallback starts from none.
 *
 * @internal
 */
export class Attempt {
  events: Array<AnyEvent> | undefined = undefined
  readonly message: any
  readonly publisher: Publisher
  constructor(message: unknown, publisher: Publisher) {
    this.message = message
    this.publisher = publisher
  }
  push(event: AnyEvent): void {
    if (this.events === undefined) this.events = [event]
    else this.events.push(event)
  }
  take(): ReadonlyArray<AnyEvent> | undefined {
    const events = this.events
    this.events = undefined
    return events
  }
  /** Publishes what the attempt raised, then answers with its value: the continuation of a successful handler. */
  readonly finish = <A>(value: A): Effect.Effect<A> => {
    const events = this.take()
    return events === undefined ? Effect.succeed(value) : Effect.as(this.publisher.publishAll(events), value)
  }
}

/** The attempt of the handler running in this fiber; `undefined` outside handlers. @internal */
export const CurrentAttempt = Context.Reference<Attempt | undefined>("effect-fallback/Mediator/CurrentAttempt", {
  defaultValue: () => undefined
})

class EmitOutsideHandler extends Error {
  constructor(tag: string) {
    super(
      `Mediator.emit(${tag}) ran outside a handler run by the mediator: nothing would publish the event. ` +
        `Emit from a request, stream or event handler, or use Mediator.publish.`
    )
    this.name = "EmitOutsideHandler"
  }
}

/** @internal */
export const emit = (event: AnyEvent): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const attempt = fiber.getRef(CurrentAttempt)
    if (attempt === undefined) return Effect.die(new EmitOutsideHandler(event._tag))
    attempt.push(event)
    return Effect.void
  })

/**
 * Runs one handler as its own attempt inside a call (a fallback binding's primary or fallback). On success the
 * attempt's events become the call's, so only the winning attempt's events are ever published.
 *
 * @internal
 */
export const attemptEffect = (
  run: (message: any) => Effect.Effect<unknown, unknown, unknown>
): Effect.Effect<unknown, unknown, unknown> =>
  Effect.withFiber((fiber) => {
    const call = fiber.getRef(CurrentAttempt) as Attempt
    const attempt = new Attempt(call.message, call.publisher)
    return Effect.map(Effect.provideService(run(call.message), CurrentAttempt, attempt), (value) => {
      call.events = attempt.events
      return value
    })
  })

/**
 * A handler's stream as one attempt: the events raised while a chunk was produced are published before the chunk
 * is delivered, and those raised after the last item when the stream completes.
 *
 * @internal
 */
export const eventfulStream = (
  stream: Stream.Stream<unknown, unknown, unknown>,
  attempt: Attempt
): Stream.Stream<unknown, unknown, unknown> =>
  stream.pipe(
    Stream.mapArrayEffect((chunk) => attempt.events === undefined ? Effect.succeed(chunk) : attempt.finish(chunk)),
    Stream.concat(Stream.fromEffectDrain(Effect.suspend(() => attempt.finish(undefined)))),
    Stream.provideService(CurrentAttempt, attempt)
  )

/**
 * `eventfulStream` for a stream built once (a fallback binding's primary or fallback): the message is read from the
 * call running in the fiber when the stream starts.
 *
 * @internal
 */
export const attemptStream = (
  run: (message: any) => Stream.Stream<unknown, unknown, unknown>
): Stream.Stream<unknown, unknown, unknown> =>
  Stream.unwrap(Effect.withFiber((fiber) => {
    const call = fiber.getRef(CurrentAttempt) as Attempt
    return Effect.succeed(eventfulStream(run(call.message), new Attempt(call.message, call.publisher)))
  }))
