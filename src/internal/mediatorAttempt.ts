import { Context, Effect, Stream } from "effect"
import type { Cause, Fiber } from "effect"
import type { AnyEvent } from "../Mediator.ts"

/** Publishes the events an attempt raised (never fails), and gives the context handlers run in. @internal */
export interface Publisher {
  readonly publishAll: (events: ReadonlyArray<AnyEvent>) => Effect.Effect<void>
  /** The caller's context merged with the mediator layer's (the handlers' services). */
  readonly contextFor: (callerContext: Context.Context<never>) => Context.Context<never>
}

/**
 * Where `emit` finds the attempt of the handler running in a fiber, and in the fibers that handler forks (they
 * inherit the context holding the slot). A call on the caller's fiber reuses that fiber's slot, so the context it
 * runs in can be built once per fiber and caller context instead of once per call.
 *
 * @internal
 */
export class Slot {
  current: Attempt | undefined
  constructor(current: Attempt | undefined) {
    this.current = current
  }
}

/** The slot of the handler running in this fiber; `undefined` outside handlers. @internal */
export const CurrentSlot = Context.Reference<Slot | undefined>("effect-fallback/Mediator/CurrentAttempt", {
  defaultValue: () => undefined
})

/** The handler run in progress in this fiber (the parent of what it dispatches); `undefined` outside handlers. @internal */
export const currentAttempt = (fiber: Fiber.Fiber<unknown, unknown>): Attempt | undefined =>
  fiber.getRef(CurrentSlot)?.current

/** The tags of the messages that led to `attempt`, the outermost first. @internal */
export const messageChain = (attempt: Attempt): Array<string> => {
  const tags: Array<string> = []
  for (let run: Attempt | undefined = attempt; run !== undefined; run = run.parent) tags.push(String(run.message._tag))
  return tags.reverse()
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
  /** The handler run that sent, published or emitted this message; `undefined` for a dispatch from outside. */
  readonly parent: Attempt | undefined
  /** How many dispatches deep this run is: 1 for a dispatch from outside any handler. */
  readonly depth: number
  constructor(message: unknown, publisher: Publisher, parent: Attempt | undefined) {
    this.message = message
    this.publisher = publisher
    this.parent = parent
    this.depth = parent === undefined ? 1 : parent.depth + 1
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
  finish<A>(value: A): Effect.Effect<A> {
    const events = this.take()
    return events === undefined ? Effect.succeed(value) : Effect.as(this.publisher.publishAll(events), value)
  }
}

/** A request's call: its attempt, and what to give back to the caller's fiber when it ends. @internal */
export class Call extends Attempt {
  readonly callerContext: Context.Context<never>
  readonly outer: Attempt | undefined
  constructor(
    message: unknown,
    publisher: Publisher,
    parent: Attempt | undefined,
    callerContext: Context.Context<never>,
    outer: Attempt | undefined
  ) {
    super(message, publisher, parent)
    this.callerContext = callerContext
    this.outer = outer
  }
}

/**
 * The requests sent on one fiber, run on that fiber. Calls on one fiber nest (a handler may send further requests on
 * its own fiber, and a fallback attempt gives the slot back to its call before it ends), so when a handler ends the
 * slot holds its call: one pair of continuations per fiber serves every call, and a call allocates only its attempt.
 *
 * @internal
 */
export class FiberCaller {
  readonly slot = new Slot(undefined)
  readonly fiber: Fiber.Fiber<unknown, unknown>
  constructor(fiber: Fiber.Fiber<unknown, unknown>) {
    this.fiber = fiber
  }

  /**
   * Runs `effect` in `context` (whose slot is this fiber's) as the attempt of a new call, then restores the caller's
   * context and the slot's previous attempt; on success it first publishes what the handler raised. One continuation
   * does what `updateContext` + `provideService` + `flatMap(finish)` would do in several steps: this is the hot path
   * of `send`. (`updateContext` itself switches a fiber's context the same way.)
   */
  run<A, E>(
    message: unknown,
    publisher: Publisher,
    parent: Attempt | undefined,
    context: Context.Context<never>,
    effect: Effect.Effect<A, E, unknown>
  ): Effect.Effect<A, E> {
    const fiber = this.fiber
    this.slot.current = new Call(message, publisher, parent, fiber.context, this.slot.current)
    fiber.setContext(context)
    return Effect.matchCauseEffect(effect, this) as Effect.Effect<A, E>
  }

  private restore(call: Call): void {
    this.slot.current = call.outer
    this.fiber.setContext(call.callerContext)
  }

  readonly onSuccess = <A>(value: A): Effect.Effect<A> => {
    const call = this.slot.current as Call
    const events = call.take()
    if (events === undefined) {
      this.restore(call)
      return Effect.succeed(value)
    }
    return Effect.matchCauseEffect(call.publisher.publishAll(events), {
      onSuccess: () => {
        this.restore(call)
        return Effect.succeed(value)
      },
      onFailure: (cause) => {
        this.restore(call)
        return Effect.failCause(cause)
      }
    })
  }

  readonly onFailure = <E>(cause: Cause.Cause<E>): Effect.Effect<never, E> => {
    this.restore(this.slot.current as Call)
    return Effect.failCause(cause)
  }
}

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
    const attempt = currentAttempt(fiber)
    if (attempt === undefined) return Effect.die(new EmitOutsideHandler(event._tag))
    attempt.push(event)
    return Effect.void
  })

/**
 * One attempt inside a call (a fallback binding's primary or fallback): it takes the slot while it runs and gives it
 * back after; on success its events become the call's, so only the winning attempt's events are ever published.
 */
class SubAttempt extends Attempt {
  private readonly call: Attempt
  private readonly slot: Slot
  constructor(call: Attempt, slot: Slot) {
    super(call.message, call.publisher, call.parent)
    this.call = call
    this.slot = slot
    slot.current = this
  }
  readonly onSuccess = <A>(value: A): Effect.Effect<A> => {
    this.slot.current = this.call
    this.call.events = this.events
    return Effect.succeed(value)
  }
  readonly onFailure = <E>(cause: Cause.Cause<E>): Effect.Effect<never, E> => {
    this.slot.current = this.call
    return Effect.failCause(cause)
  }
}

/**
 * Runs one handler as its own attempt inside a call (a fallback binding's primary or fallback), built once per
 * binding: the message is read from the call running in the fiber.
 *
 * @internal
 */
export const attemptEffect = (
  run: (message: any) => Effect.Effect<unknown, unknown, unknown>
): Effect.Effect<unknown, unknown, unknown> =>
  Effect.withFiber((fiber) => {
    const slot = fiber.getRef(CurrentSlot) as Slot
    const call = slot.current as Attempt
    let handled: Effect.Effect<unknown, unknown, unknown>
    try {
      handled = run(call.message)
    } catch (defect) {
      return Effect.die(defect)
    }
    return Effect.matchCauseEffectEager(handled, new SubAttempt(call, slot))
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
    Stream.mapArrayEffect((chunk) => (attempt.events === undefined ? Effect.succeed(chunk) : attempt.finish(chunk))),
    Stream.concat(Stream.fromEffectDrain(Effect.suspend(() => attempt.finish(undefined)))),
    Stream.provideService(CurrentSlot, new Slot(attempt))
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
  Stream.unwrap(
    Effect.withFiber((fiber) => {
      const call = currentAttempt(fiber) as Attempt
      return Effect.succeed(eventfulStream(run(call.message), new Attempt(call.message, call.publisher, call.parent)))
    })
  )
