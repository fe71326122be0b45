import { Cause, Context, Duration, Effect, Exit, Metric, Schema, Scope, Stream } from "effect"
import type { Fiber } from "effect"
import type * as M from "../Mediator.ts"
import { truncate } from "./failure.ts"
import {
  Attempt,
  currentAttempt,
  CurrentSlot,
  FiberCalls,
  handle,
  messageChain,
  type Publisher,
  Slot
} from "./mediatorAttempt.ts"
import type { AnySchema, EventEntry, RequestEntry, StreamEntry } from "./mediatorBinding.ts"
import {
  DispatchDepthExceeded,
  EventHandlerTimeout,
  HandlerNotFound,
  type MessageDecodeError,
  MessageDecodeError as DecodeError
} from "./mediatorErrors.ts"
import type { Kind } from "./mediatorSchema.ts"
import { Mediator as MediatorKey, SendOn, type SendsOnFiber } from "./mediatorService.ts"

// Dispatch: the mediator's one path for each kind of message. A request is looked up by tag, its handler called with
// it, and the effect run as a call on the caller's fiber (see `FiberCalls`); a stream runs as one attempt; an event
// goes to each of its handlers, isolated. Every dispatch knows the handler run it came from, and refuses to nest
// deeper than `maxDepth`.

type AnyEffect = Effect.Effect<unknown, unknown, unknown>

/** The mediator's settings, checked when its layer builds. @internal */
export interface Settings {
  /** How many handlers of one event run at once. */
  readonly concurrency: number | "unbounded"
  readonly maxDepth: number
  /** `undefined`: event handlers run as long as they need. */
  readonly eventHandlerTimeout: Duration.Duration | undefined
  /** Whether the events a handler raised are published before its answer (awaited) or beside it (detached). */
  readonly eventDelivery: "awaited" | "detached"
}

/** What the mediator dispatches to, by message tag. @internal */
export interface Entries {
  readonly requests: ReadonlyMap<string, RequestEntry>
  readonly streams: ReadonlyMap<string, StreamEntry>
  readonly events: ReadonlyMap<string, ReadonlyArray<EventEntry>>
  readonly eventSchemas: ReadonlyMap<string, AnySchema>
}

const hasTag = (u: unknown): u is { readonly _tag: string } =>
  typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string"

/** @internal */
export class MediatorRuntime implements M.Mediator, Publisher, SendsOnFiber {
  readonly entries: Entries
  readonly settings: Settings
  readonly maxDepth: number
  /** The layer's scope: detached event deliveries run in it, and end with it. */
  readonly scope: Scope.Scope
  /** The layer's context (the handlers' services) with this mediator in it. */
  readonly context: Context.Context<never>
  /** The layer's context merged with a caller's fiber context, per caller context (RpcServer does the same). */
  readonly merged = new WeakMap<Context.Context<never>, Context.Context<never>>()
  readonly unions = new Map<Kind, AnySchema>()
  /** Per fiber, the requests sent on it (see `FiberCalls`). */
  readonly fibers = new WeakMap<Fiber.Fiber<unknown, unknown>, FiberCalls>()
  /** The last fiber that sent, and its calls: a loop of sends on one fiber skips the WeakMap. */
  lastFiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  lastCalls: FiberCalls | undefined = undefined

  constructor(entries: Entries, settings: Settings, context: Context.Context<never>, scope: Scope.Scope) {
    this.entries = entries
    this.settings = settings
    this.maxDepth = settings.maxDepth
    this.scope = scope
    this.context = Context.add(context, MediatorKey, this)
  }

  contextFor(fiberContext: Context.Context<never>): Context.Context<never> {
    let merged = this.merged.get(fiberContext)
    if (merged === undefined) {
      // The caller's context wins (its tracer, clock, log annotations, current span), except for the mediator. The
      // layer's services it lacks are added on top of it rather than merged into a new map, so the result shares the
      // caller's fiber cache and switching a fiber between the two stays cheap.
      const present = fiberContext.mapUnsafe
      merged = fiberContext
      for (const [key, service] of this.context.mapUnsafe) {
        if (!present.has(key)) merged = Context.addUnsafe(merged, key, service)
      }
      if (Context.getOrUndefined(merged, MediatorKey) !== this) merged = Context.add(merged, MediatorKey, this)
      this.merged.set(fiberContext, merged)
    }
    return merged
  }

  /** The defect of `message` dispatched from `parent`, one level deeper than `maxDepth`. */
  tooDeep(parent: Attempt, message: { readonly _tag: string }): DispatchDepthExceeded {
    return new DispatchDepthExceeded({
      maxDepth: this.settings.maxDepth,
      chain: [...messageChain(parent), message._tag]
    })
  }

  /** The handler run `message` is dispatched from; throws the defect when that would nest too deep. */
  parentOf(fiber: Fiber.Fiber<unknown, unknown>, message: { readonly _tag: string }): Attempt | undefined {
    const parent = currentAttempt(fiber)
    if (parent !== undefined && parent.depth >= this.maxDepth) throw this.tooDeep(parent, message)
    return parent
  }

  // ---- requests

  callsOf(fiber: Fiber.Fiber<unknown, unknown>): FiberCalls {
    if (fiber === this.lastFiber) return this.lastCalls!
    let calls = this.fibers.get(fiber)
    if (calls === undefined) {
      calls = new FiberCalls(fiber)
      this.fibers.set(fiber, calls)
    }
    this.lastFiber = fiber
    this.lastCalls = calls
    return calls
  }

  /**
   * The one path of a request: a map lookup, the handler called with the request, one call on the fiber. A handler
   * that answers with an `Exit` has nothing left to run (nor emitted, sent or published anything), so it is answered
   * as is. A handler that throws dies (the fiber turns the throw into a defect); so does a call nested too deep.
   */
  readonly sendOn = (fiber: Fiber.Fiber<unknown, unknown>, request: M.AnyRequest): AnyEffect => {
    const entry = this.entries.requests.get(request._tag)
    if (entry === undefined) return Effect.fail(new HandlerNotFound({ kind: "Request", tag: request._tag }))
    const handled = entry.run(request)
    if (Exit.isExit(handled)) return handled
    return this.callsOf(fiber).run(request, this, handled)
  }

  readonly [SendOn] = this.sendOn as SendsOnFiber[typeof SendOn]

  readonly send = (request: M.AnyRequest): Effect.Effect<any, any> =>
    Effect.withFiber((fiber) => this.sendOn(fiber, request)) as Effect.Effect<any, any>

  // ---- streams

  readonly stream = (request: M.AnyStreamRequest): Stream.Stream<any, any> => {
    const entry = this.entries.streams.get(request._tag)
    if (entry === undefined) return Stream.fail(new HandlerNotFound({ kind: "StreamRequest", tag: request._tag }))
    return Stream.unwrap(
      Effect.withFiber((fiber) => {
        const call = new Attempt(request, this, this.parentOf(fiber, request))
        return Effect.succeed(
          Stream.updateContext(
            entry.stream(call) as Stream.Stream<unknown, unknown>,
            (callerContext: Context.Context<never>) =>
              Context.add(this.contextFor(callerContext), CurrentSlot, new Slot(call)) as Context.Context<unknown>
          )
        )
      })
    ) as Stream.Stream<any, any>
  }

  // ---- events

  /**
   * One handler's run of one event published from the handler run `parent`, isolated: whatever it ends with (a
   * failure, a defect, a throw, its timeout, a dispatch too deep) is logged and counted, never passed on. A handler
   * that answers with an `Exit` is done: only an effect that still has to run is given the timeout.
   */
  runHandler(entry: EventEntry, event: M.AnyEvent, parent: Attempt | undefined): Effect.Effect<void> {
    if (parent !== undefined && parent.depth >= this.maxDepth) {
      return this.reportFailure(entry, Cause.die(this.tooDeep(parent, event)))
    }
    const attempt = new Attempt(event, this, parent)
    let handled = handle(entry.run, event)
    const timeout = this.settings.eventHandlerTimeout
    if (timeout !== undefined && !Exit.isExit(handled)) {
      handled = Effect.timeoutOrElse(handled, {
        duration: timeout,
        orElse: () => Effect.fail(new EventHandlerTimeout({ event: event._tag, handler: entry.id, timeout }))
      })
    }
    return Effect.catchCause(
      Effect.provideService(
        Effect.flatMap(handled, (value) => attempt.finish(value)),
        CurrentSlot,
        new Slot(attempt)
      ),
      (cause) => this.reportFailure(entry, cause)
    ) as Effect.Effect<void>
  }

  reportFailure(entry: EventEntry, cause: Cause.Cause<unknown>): Effect.Effect<void> {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause) as Effect.Effect<never>
    const message = `Event handler ${entry.id} failed on ${entry.tag}; the other handlers still run`
    return Effect.logError(message, cause).pipe(
      Effect.annotateLogs({ "mediator.event": entry.tag, "mediator.handler": entry.id }),
      Effect.andThen(Metric.update(entry.failures, 1))
    )
  }

  publishOne(event: M.AnyEvent, parent: Attempt | undefined): Effect.Effect<void> {
    const handlers = this.entries.events.get(event._tag)
    if (handlers === undefined) return Effect.void
    if (handlers.length === 1) return this.runHandler(handlers[0], event, parent)
    return Effect.forEach(handlers, (entry) => this.runHandler(entry, event, parent), {
      concurrency: this.settings.concurrency,
      discard: true
    })
  }

  /**
   * Publishes the events the handler run `from` raised, in order. Detached, they run in a fiber of the mediator's
   * scope and the handler's answer does not wait for them.
   */
  readonly publishAll = (events: ReadonlyArray<M.AnyEvent>, from: Attempt): Effect.Effect<void> => {
    const publishing =
      events.length === 1
        ? this.publishOne(events[0], from)
        : Effect.forEach(events, (event) => this.publishOne(event, from), { discard: true })
    return this.settings.eventDelivery === "awaited" ? publishing : Effect.asVoid(Effect.forkIn(publishing, this.scope))
  }

  readonly publish = (event: M.AnyEvent): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const context = this.contextFor(fiber.context)
      return Effect.updateContext(this.publishOne(event, currentAttempt(fiber)), () => context)
    })

  // ---- payloads from the outside

  union(kind: Kind): AnySchema {
    let union = this.unions.get(kind)
    if (union === undefined) {
      const { eventSchemas, requests, streams } = this.entries
      const members =
        kind === "Event"
          ? [...eventSchemas.values()]
          : [...(kind === "Request" ? requests : streams).values()].map((entry) => entry.schema)
      union = members.length === 0 ? (Schema.Never as AnySchema) : (Schema.Union(members as any) as any as AnySchema)
      this.unions.set(kind, union)
    }
    return union
  }

  schemaOf(kind: Kind, tag: string): AnySchema | undefined {
    const { eventSchemas, requests, streams } = this.entries
    if (kind === "Event") return eventSchemas.get(tag)
    return (kind === "Request" ? requests : streams).get(tag)?.schema
  }

  /** Decodes with the payload's own class when its tag is known, else with the union (whose error lists them). */
  decode(kind: Kind, payload: unknown): Effect.Effect<any, MessageDecodeError> {
    const tag = hasTag(payload) ? payload._tag : undefined
    const schema = (tag === undefined ? undefined : this.schemaOf(kind, tag)) ?? this.union(kind)
    return Effect.mapError(
      Schema.decodeUnknownEffect(schema)(payload) as Effect.Effect<unknown, Schema.SchemaError>,
      (cause) => new DecodeError({ kind, tag: tag === undefined ? undefined : truncate(tag), cause })
    )
  }

  readonly sendUnknown = (payload: unknown): Effect.Effect<unknown, unknown> =>
    Effect.flatMap(this.decode("Request", payload), this.send)

  readonly streamUnknown = (payload: unknown): Stream.Stream<unknown, unknown> =>
    Stream.unwrap(Effect.map(this.decode("StreamRequest", payload), this.stream))

  readonly publishUnknown = (payload: unknown): Effect.Effect<void, MessageDecodeError> =>
    Effect.flatMap(this.decode("Event", payload), this.publish)
}
