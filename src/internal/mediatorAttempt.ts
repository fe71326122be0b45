import { Context, Effect, Stream } from "effect"
import type { Cause, Fiber } from "effect"
import type { AnyEvent } from "../Mediator.ts"
import type { Recovery } from "./fallback.ts"

// Attempts: one run of one handler on one message, and the events it raised. `emit` adds to the attempt running in
// the fiber; the attempt's events are published when it succeeds and dropped when it fails, so a fallback starts
// from none. Attempts nest (a handler sends, publishes or emits): each knows the run it was dispatched from, which
// gives the dispatch depth and the chain of messages.

/** What an attempt needs from its mediator. @internal */
export interface Publisher {
  /** Publishes the events the attempt `from` raised (never fails). */
  readonly publishAll: (events: ReadonlyArray<AnyEvent>, from: Attempt) => Effect.Effect<void>
  /** The caller's context merged with the mediator layer's (the handlers' services). */
  readonly contextFor: (callerContext: Context.Context<never>) => Context.Context<never>
  /** How many dispatches may nest. */
  readonly maxDepth: number
  /** The defect of `message` dispatched from `parent`, one level deeper than `maxDepth`. */
  readonly tooDeep: (parent: Attempt, message: { readonly _tag: string }) => unknown
}

/** One run of one handler: its message, the events it raised, and the run it was dispatched from. @internal */
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
    return events === undefined ? Effect.succeed(value) : Effect.as(this.publisher.publishAll(events, this), value)
  }
}

/** A request's call on a fiber: its attempt, and what to give back to the fiber when it ends. @internal */
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
 * Where `emit` finds the attempt running in a fiber, and in the fibers its handler forks (they inherit the context
 * holding the slot). The slot is mutable so that the requests sent on one fiber can share one context (see
 * `FiberCalls`).
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
 * The requests sent on one fiber, run on that fiber: the hot path of `send`. Calls on one fiber nest (a handler may
 * send on its own fiber), so when a handler ends the fiber's slot holds its call: this object is the continuation of
 * every call on the fiber, and the context a call runs in (the caller's, the mediator layer's services, the slot) is
 * built once per caller context rather than once per call. A call allocates only its `Call`.
 *
 * Running a call switches the fiber's context directly and switches it back in the continuation, which sees every
 * exit: one frame where `updateContext` + `provideService` + `flatMap(finish)` take several (`updateContext` itself
 * switches a fiber's context the same way). The bench's "Mediator.send" rows measure what this saves.
 *
 * @internal
 */
export class FiberCalls {
  readonly slot = new Slot(undefined)
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly contexts = new WeakMap<Context.Context<never>, Context.Context<never>>()
  lastCaller: Context.Context<never> | undefined = undefined
  lastContext: Context.Context<never> | undefined = undefined
  /** The slot of the last caller context: the handler run a call from there is dispatched from. */
  lastCallerSlot: Slot | undefined = undefined

  constructor(fiber: Fiber.Fiber<unknown, unknown>) {
    this.fiber = fiber
  }

  /** The context a call from `callerContext` runs in: the mediator's, with this fiber's slot. */
  /** Makes `callerContext` the last caller: the context its calls run in, and its slot, are at hand. */
  enter(publisher: Publisher, callerContext: Context.Context<never>): void {
    if (callerContext === this.lastCaller) return
    let context = this.contexts.get(callerContext)
    if (context === undefined) {
      context = Context.add(publisher.contextFor(callerContext), CurrentSlot, this.slot)
      this.contexts.set(callerContext, context)
    }
    this.lastCaller = callerContext
    this.lastContext = context
    this.lastCallerSlot = Context.getOrUndefined(callerContext, CurrentSlot)
  }

  /**
   * Runs `effect`, the handler of `message`, as a new call; on success it first publishes what the handler raised.
   * A call nested deeper than the mediator allows dies instead.
   */
  run<A, E>(
    message: { readonly _tag: string },
    publisher: Publisher,
    effect: Effect.Effect<A, E, unknown>
  ): Effect.Effect<A, E> {
    const fiber = this.fiber
    const callerContext = fiber.context
    this.enter(publisher, callerContext)
    const parent = this.lastCallerSlot?.current
    if (parent !== undefined && parent.depth >= publisher.maxDepth)
      return Effect.die(publisher.tooDeep(parent, message))
    this.slot.current = new Call(message, publisher, parent, callerContext, this.slot.current)
    fiber.setContext(this.lastContext!)
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
    return Effect.matchCauseEffect(call.publisher.publishAll(events, call), {
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

/**
 * One attempt inside a call (a fallback binding's primary or fallback): it takes the slot while it runs and gives it
 * back after; on success its events become the call's, so only the winning attempt's events are ever published.
 */
class SubAttempt extends Attempt {
  protected readonly call: Attempt
  protected readonly slot: Slot
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
    return this.failed(cause) as Effect.Effect<never, E>
  }
  /** What the attempt's failure becomes, once the slot is given back: the failure itself. */
  protected failed(cause: Cause.Cause<unknown>): Effect.Effect<unknown, unknown, unknown> {
    return Effect.failCause(cause)
  }
}

/** `handler(message)`; a handler that throws instead of returning an Effect dies with the throw. @internal */
export const handle = (
  handler: (message: any) => Effect.Effect<unknown, unknown, unknown>,
  message: unknown
): Effect.Effect<unknown, unknown, unknown> => {
  try {
    return handler(message)
  } catch (defect) {
    return Effect.die(defect)
  }
}

/** Runs `handler(message)` as its own attempt inside the call running in the fiber (a fallback binding's fallback). */
const attemptEffect = (
  handler: (message: any) => Effect.Effect<unknown, unknown, unknown>,
  message: unknown
): Effect.Effect<unknown, unknown, unknown> =>
  Effect.withFiber((fiber) => {
    const slot = fiber.getRef(CurrentSlot) as Slot
    return Effect.matchCauseEffectEager(handle(handler, message), new SubAttempt(slot.current as Attempt, slot))
  })

/**
 * A fallback binding's primary as an attempt of the call: a failure that falls back (as `recovery` decides) runs the
 * fallback, on the same message, as the call's next attempt; any other exit is the primary's own.
 */
class PrimaryAttempt extends SubAttempt {
  readonly recovery: Recovery
  readonly isRejection: ((error: unknown) => boolean) | undefined
  readonly fallback: (message: any, trigger: unknown) => Effect.Effect<unknown, unknown, unknown>
  constructor(
    call: Attempt,
    slot: Slot,
    recovery: Recovery,
    isRejection: ((error: unknown) => boolean) | undefined,
    fallback: (message: any, trigger: unknown) => Effect.Effect<unknown, unknown, unknown>
  ) {
    super(call, slot)
    this.recovery = recovery
    this.isRejection = isRejection
    this.fallback = fallback
  }
  protected override failed(cause: Cause.Cause<unknown>): Effect.Effect<unknown, unknown, unknown> {
    const message = this.message
    const recovered = this.recovery.recover(cause, this.isRejection, (trigger) =>
      attemptEffect((request) => this.fallback(request, trigger), message)
    )
    return recovered ?? Effect.failCause(cause)
  }
}

/**
 * A fallback binding run on `message`: the primary as an attempt of the call running in the fiber (through the
 * binding's circuit when it has one), then the fallback as the next attempt if the primary's failure falls back.
 * The options were checked once, in `recovery`; a call allocates its attempts and nothing else on the success path.
 *
 * @internal
 */
export const fallbackAttempt = (
  recovery: Recovery,
  primary: (message: any) => Effect.Effect<unknown, unknown, unknown>,
  fallback: (message: any, trigger: unknown) => Effect.Effect<unknown, unknown, unknown>,
  message: unknown
): Effect.Effect<unknown, unknown, unknown> =>
  Effect.withFiber((fiber) => {
    const slot = fiber.getRef(CurrentSlot) as Slot
    let handled = handle(primary, message)
    let isRejection: ((error: unknown) => boolean) | undefined
    if (recovery.breaker !== undefined) {
      const breaker = Context.getUnsafe(fiber.context as Context.Context<unknown>, recovery.breaker)
      handled = breaker.protect(recovery.id as string)(handled)
      isRejection = recovery.rejectionOf(breaker)
    }
    return Effect.matchCauseEffectEager(
      handled,
      new PrimaryAttempt(slot.current as Attempt, slot, recovery, isRejection, fallback)
    )
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
 * `eventfulStream` of `producer(call.message)` as a new attempt of the call (a streaming fallback binding's primary
 * or fallback): each attempt raises its own events. A producer that throws dies with the throw.
 *
 * @internal
 */
export const attemptStream = (
  producer: () => Stream.Stream<unknown, unknown, unknown>,
  call: Attempt
): Stream.Stream<unknown, unknown, unknown> =>
  Stream.suspend(() => eventfulStream(producer(), new Attempt(call.message, call.publisher, call.parent)))
