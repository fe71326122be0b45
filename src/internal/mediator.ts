import { Cause, Context, Duration, Effect, Exit, Formatter, Layer, Metric, Schema, Scope, Stream } from "effect"
import type { Fiber } from "effect"
import { decodeDurationInput } from "./durationInput.ts"
import { truncate } from "./failure.ts"
import type * as Fallback from "../Fallback.ts"
import * as internalFallback from "./fallback.ts"
import { InvalidFallbackOptions } from "./fallbackErrors.ts"
import type * as M from "../Mediator.ts"
import {
  ChainExhausted,
  DispatchDepthExceeded,
  DuplicateBinding,
  EventHandlerTimeout,
  HandlerNotFound,
  InvalidBinding,
  MessageDecodeError
} from "./mediatorErrors.ts"
import { eventHandlerFailures, Mediator as MediatorKey } from "./mediatorService.ts"
import {
  Attempt,
  attemptEffect,
  attemptStream,
  currentAttempt,
  CurrentSlot,
  eventfulStream,
  FiberCaller,
  messageChain,
  type Publisher,
  Slot
} from "./mediatorAttempt.ts"
import { BindingTypeId, type Kind, markerOf } from "./mediatorSchema.ts"

export { emit } from "./mediatorAttempt.ts"

type AnyEffect = Effect.Effect<unknown, unknown, unknown>
type AnyStream = Stream.Stream<unknown, unknown, unknown>
type AnySchema = Schema.Decoder<unknown, unknown>

const variance = { _R: (_: never) => _ }

/** What `bind` and `subscribe` record; checked and compiled when the layer builds. */
interface RawBinding {
  readonly [BindingTypeId]: typeof variance
  readonly kind: Kind | "RequestMap" | "EventMap"
  readonly tag: string
  readonly schema: unknown
  readonly spec: unknown
  readonly id?: string | undefined
  readonly bindings?: ReadonlyArray<RawBinding>
}

const makeBinding = (schema: unknown, spec: unknown, id: string | undefined): RawBinding => {
  const marker = markerOf(schema)
  return {
    [BindingTypeId]: variance,
    kind: marker?.kind ?? "Request",
    tag: marker?.tag ?? Formatter.format(schema),
    schema,
    spec,
    id
  }
}

/** @internal */
export const bind = (schema: unknown, spec: unknown): RawBinding => makeBinding(schema, spec, undefined)

/** @internal */
export const subscribe = (schema: unknown, spec: unknown, options?: { readonly id?: string | undefined }) =>
  makeBinding(schema, spec, typeof spec === "function" ? options?.id : (spec as { id?: string } | undefined)?.id)

/** @internal */
export const makeMap = (kind: "RequestMap" | "EventMap", entries: ReadonlyArray<unknown>): RawBinding => ({
  [BindingTypeId]: variance,
  kind,
  tag: kind,
  schema: undefined,
  spec: undefined,
  bindings: entries as ReadonlyArray<RawBinding>
})

const flatten = (entries: ReadonlyArray<RawBinding>, out: Array<RawBinding> = []): Array<RawBinding> => {
  for (const entry of entries) {
    if (entry !== null && typeof entry === "object" && entry.bindings !== undefined) flatten(entry.bindings, out)
    else out.push(entry)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling bindings
// ---------------------------------------------------------------------------------------------------------------

class Invalid {
  readonly field: string
  readonly expected: string
  readonly value: unknown
  constructor(field: string, expected: string, value: unknown) {
    this.field = field
    this.expected = expected
    this.value = value
  }
}

const isFunction = (u: unknown): u is (...args: Array<any>) => any => typeof u === "function"

/** The defect by which a link passes the request on; the chain runner takes it back, so it never leaves a chain. */
class PassToNext extends Error {
  constructor() {
    super("Mediator.next ran outside a chain of responsibility: there is no next link to hand the request to")
    this.name = "PassToNext"
  }
}
const passToNext = new PassToNext()

/** @internal */
export const next: Effect.Effect<never> = Effect.die(passToNext)

const isPass = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.length === 1 && Cause.isDieReason(cause.reasons[0]) && cause.reasons[0].defect === passToNext

/** A chain of responsibility as one handler: each link answers or passes on; past the last, `ChainExhausted`. */
const chainHandler = (links: ReadonlyArray<(message: any) => AnyEffect>) => {
  const count = links.length
  const from = (message: any, index: number): AnyEffect =>
    index === count
      ? Effect.fail(new ChainExhausted({ tag: message._tag, links: count }))
      : Effect.catchCause(
          Effect.suspend(() => links[index](message)),
          (cause) => (isPass(cause) ? from(message, index + 1) : Effect.failCause(cause))
        )
  return (message: any): AnyEffect => from(message, 0)
}

/** @internal */
export const chain = (request: unknown, ...links: ReadonlyArray<unknown>): ((message: any) => AnyEffect) => {
  const tag = markerOf(request)?.tag ?? Formatter.format(request)
  if (links.length === 0 || !links.every(isFunction)) {
    throw new InvalidBinding({ tag, field: "links", expected: "one or more handler functions", value: links })
  }
  return chainHandler(links as ReadonlyArray<(message: any) => AnyEffect>)
}

const handlerOf = (field: string, spec: unknown): ((message: any) => AnyEffect) => {
  if (isFunction(spec)) return spec
  throw new Invalid(field, "a handler function", spec)
}

interface FallbackSpec {
  readonly primary: unknown
  readonly fallback: unknown
  readonly on?: unknown
  readonly breaker?: unknown
  readonly id?: unknown
}

const isFallbackSpec = (spec: unknown): spec is FallbackSpec =>
  spec !== null && typeof spec === "object" && !Array.isArray(spec) && "primary" in spec

const fallbackOptions = (spec: FallbackSpec, id: string) => ({
  on: spec.on,
  breaker: spec.breaker,
  id
})

/**
 * A fallback binding of an Effect handler, built once: each attempt reads the message from the call running in the
 * fiber, so the combinator (and its breaker lookup) is not rebuilt per call.
 */
const guardedEffect = (spec: FallbackSpec, id: string): AnyEffect => {
  const primary = handlerOf("primary", spec.primary)
  const fallback = spec.fallback
  if (!isFunction(fallback)) throw new Invalid("fallback", "a handler function (request, trigger) => Effect", fallback)
  return internalFallback.orElse(
    attemptEffect(primary),
    (trigger: unknown) => attemptEffect((message) => fallback(message, trigger)),
    fallbackOptions(spec, id) as any
  ) as AnyEffect
}

const guardedStream = (spec: FallbackSpec, id: string): AnyStream => {
  const { fallback, primary } = spec
  if (!isFunction(primary)) throw new Invalid("primary", "a function returning a Stream", primary)
  if (!isFunction(fallback)) {
    throw new Invalid("fallback", "a function (request, trigger, { emitted }) => Stream", fallback)
  }
  return internalFallback.stream(
    attemptStream(primary),
    (trigger: unknown, progress: Fallback.StreamProgress) =>
      attemptStream((message) => fallback(message, trigger, progress)),
    fallbackOptions(spec, id) as any
  ) as AnyStream
}

interface RequestEntry {
  readonly tag: string
  readonly schema: AnySchema
  /** Runs inside a context whose current attempt is the call; the call collects the winning attempt's events. */
  readonly run: (message: any) => AnyEffect
}

interface StreamEntry {
  readonly tag: string
  readonly schema: AnySchema
  readonly stream: (call: Attempt) => AnyStream
}

interface EventEntry {
  readonly tag: string
  readonly id: string
  /** Calls the handler; it may throw (a defect of this run). */
  readonly run: (message: any) => AnyEffect
  readonly failures: Metric.Counter<number>
}

const compileRequest = (binding: RawBinding): RequestEntry => {
  const { spec, tag } = binding
  const schema = binding.schema as AnySchema
  if (isFallbackSpec(spec)) {
    const guarded = guardedEffect(spec, idOf(spec, tag))
    return { tag, schema, run: () => guarded }
  }
  return { tag, schema, run: handlerOf("handler", spec) }
}

const compileStream = (binding: RawBinding): StreamEntry => {
  const { spec, tag } = binding
  const schema = binding.schema as AnySchema
  if (isFallbackSpec(spec)) {
    const guarded = guardedStream(spec, idOf(spec, tag))
    return { tag, schema, stream: () => guarded }
  }
  if (!isFunction(spec)) {
    throw new Invalid("handler", "a function returning a Stream, or { primary, fallback, ... }", spec)
  }
  return { tag, schema, stream: (call) => eventfulStream(spec(call.message), call) }
}

const compileEvent = (binding: RawBinding, id: string): EventEntry => {
  const { spec, tag } = binding
  const failures = Metric.withAttributes(eventHandlerFailures, { event: tag, handler: id })
  if (isFallbackSpec(spec)) {
    const guarded = guardedEffect(spec, id)
    return { tag, id, failures, run: () => guarded }
  }
  return { tag, id, failures, run: handlerOf("handler", spec) }
}

const idOf = (spec: FallbackSpec, fallbackId: string): string => {
  if (spec.id === undefined) return fallbackId
  if (typeof spec.id !== "string" || spec.id.length === 0) throw new Invalid("id", "a non-empty string", spec.id)
  return spec.id
}

// ---------------------------------------------------------------------------------------------------------------
// The mediator
// ---------------------------------------------------------------------------------------------------------------

type Concurrency = number | "unbounded"

/** How the events a handler raised are delivered: before its answer (awaited) or beside it (detached). */
type Delivery = "awaited" | "detached"

/** The settings of one mediator, checked when its layer builds. @internal */
export interface Settings {
  readonly concurrency: Concurrency
  readonly maxDepth: number
  /** `undefined`: event handlers run as long as they need. */
  readonly eventHandlerTimeout: Duration.Duration | undefined
  readonly eventDelivery: Delivery
}

const hasTag = (u: unknown): u is { readonly _tag: string } =>
  typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string"

/** A fiber's caller, and the contexts its calls ran in, by caller context (the last one kept at hand). */
class FiberCalls extends FiberCaller {
  readonly contexts = new WeakMap<Context.Context<never>, Context.Context<never>>()
  lastCaller: Context.Context<never> | undefined = undefined
  lastContext: Context.Context<never> | undefined = undefined

  contextFor(runtime: MediatorRuntime, callerContext: Context.Context<never>): Context.Context<never> {
    if (callerContext === this.lastCaller) return this.lastContext!
    let context = this.contexts.get(callerContext)
    if (context === undefined) {
      context = Context.add(runtime.contextFor(callerContext), CurrentSlot, this.slot)
      this.contexts.set(callerContext, context)
    }
    this.lastCaller = callerContext
    this.lastContext = context
    return context
  }
}

/** @internal */
export class MediatorRuntime implements M.Mediator, Publisher {
  readonly requests: ReadonlyMap<string, RequestEntry>
  readonly streams: ReadonlyMap<string, StreamEntry>
  readonly events: ReadonlyMap<string, ReadonlyArray<EventEntry>>
  readonly eventSchemas: ReadonlyMap<string, AnySchema>
  readonly concurrency: Concurrency
  readonly maxDepth: number
  readonly eventHandlerTimeout: Duration.Duration | undefined
  readonly eventDelivery: Delivery
  /** The layer's scope: detached event deliveries run in it, and end with it. */
  readonly scope: Scope.Scope
  /** The layer's context (the handlers' services) with this mediator in it. */
  readonly context: Context.Context<never>
  /** The layer's context merged with a caller's fiber context, per caller context (RpcServer does the same). */
  readonly merged = new WeakMap<Context.Context<never>, Context.Context<never>>()
  readonly unions = new Map<Kind, AnySchema>()

  constructor(
    requests: ReadonlyMap<string, RequestEntry>,
    streams: ReadonlyMap<string, StreamEntry>,
    events: ReadonlyMap<string, ReadonlyArray<EventEntry>>,
    eventSchemas: ReadonlyMap<string, AnySchema>,
    settings: Settings,
    context: Context.Context<never>,
    scope: Scope.Scope
  ) {
    this.requests = requests
    this.streams = streams
    this.events = events
    this.eventSchemas = eventSchemas
    this.concurrency = settings.concurrency
    this.maxDepth = settings.maxDepth
    this.eventHandlerTimeout = settings.eventHandlerTimeout
    this.eventDelivery = settings.eventDelivery
    this.scope = scope
    this.context = Context.add(context, MediatorKey, this)
  }

  /** The defect of a dispatch one level too deep: `message` would run under `parent`. */
  tooDeep(parent: Attempt, message: { readonly _tag: string }): DispatchDepthExceeded {
    return new DispatchDepthExceeded({ maxDepth: this.maxDepth, chain: [...messageChain(parent), message._tag] })
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

  // ---- requests

  /** Per fiber: its slot, and the context a call runs in per caller context (see `Slot`). */
  readonly fibers = new WeakMap<Fiber.Fiber<unknown, unknown>, FiberCalls>()
  /** The last fiber that sent, and its calls: a loop of sends on one fiber skips the WeakMap. */
  lastFiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  lastCalls: FiberCalls | undefined = undefined

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
   * The hot path: a map lookup, two cache lookups, one attempt, one continuation around the handler. A handler that
   * answers with an `Exit` has nothing left to run (nor emitted anything), so it is answered as is.
   */
  sendOn(fiber: Fiber.Fiber<unknown, unknown>, request: M.AnyRequest): AnyEffect {
    const entry = this.requests.get(request._tag)
    if (entry === undefined) return Effect.fail(new HandlerNotFound({ kind: "Request", tag: request._tag }))
    const parent = currentAttempt(fiber)
    if (parent !== undefined && parent.depth >= this.maxDepth) return Effect.die(this.tooDeep(parent, request))
    const handled = entry.run(request)
    if (Exit.isExit(handled)) return handled
    const calls = this.callsOf(fiber)
    return calls.run(request, this, parent, calls.contextFor(this, fiber.context), handled)
  }

  readonly send = (request: M.AnyRequest): Effect.Effect<any, any> =>
    Effect.withFiber((fiber) => this.sendOn(fiber, request)) as Effect.Effect<any, any>

  // ---- streams

  readonly stream = (request: M.AnyStreamRequest): Stream.Stream<any, any> => {
    const entry = this.streams.get(request._tag)
    if (entry === undefined) return Stream.fail(new HandlerNotFound({ kind: "StreamRequest", tag: request._tag }))
    return Stream.unwrap(
      Effect.withFiber((fiber) => {
        const parent = currentAttempt(fiber)
        if (parent !== undefined && parent.depth >= this.maxDepth) return Effect.die(this.tooDeep(parent, request))
        const call = new Attempt(request, this, parent)
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
   * One handler's run of one event, isolated: whatever it ends with (a failure, a defect, a throw, its timeout, a
   * dispatch too deep) is logged and counted, never passed on. A handler that answers with an `Exit` is done: only
   * an effect that still has to run is given the timeout.
   */
  readonly runHandler = (entry: EventEntry, event: M.AnyEvent): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const parent = currentAttempt(fiber)
      if (parent !== undefined && parent.depth >= this.maxDepth) {
        return this.reportFailure(entry, Cause.die(this.tooDeep(parent, event)))
      }
      const attempt = new Attempt(event, this, parent)
      let handled: AnyEffect
      try {
        handled = entry.run(event)
      } catch (defect) {
        handled = Effect.die(defect)
      }
      const timeout = this.eventHandlerTimeout
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
    })

  reportFailure(entry: EventEntry, cause: Cause.Cause<unknown>): Effect.Effect<void> {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause) as Effect.Effect<never>
    const message = `Event handler ${entry.id} failed on ${entry.tag}; the other handlers still run`
    return Effect.logError(message, cause).pipe(
      Effect.annotateLogs({ "mediator.event": entry.tag, "mediator.handler": entry.id }),
      Effect.andThen(Metric.update(entry.failures, 1))
    )
  }

  publishOne(event: M.AnyEvent): Effect.Effect<void> {
    const handlers = this.events.get(event._tag)
    if (handlers === undefined) return Effect.void
    if (handlers.length === 1) return this.runHandler(handlers[0], event)
    return Effect.forEach(handlers, (entry) => this.runHandler(entry, event), {
      concurrency: this.concurrency,
      discard: true
    })
  }

  /**
   * Publishes the events a handler raised, in order. Detached, they run in a fiber of the mediator's scope and the
   * handler's answer does not wait for them.
   */
  readonly publishAll = (events: ReadonlyArray<M.AnyEvent>): Effect.Effect<void> => {
    const publishing =
      events.length === 1
        ? this.publishOne(events[0])
        : Effect.forEach(events, (event) => this.publishOne(event), { discard: true })
    return this.eventDelivery === "awaited" ? publishing : Effect.asVoid(Effect.forkIn(publishing, this.scope))
  }

  readonly publish = (event: M.AnyEvent): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const context = this.contextFor(fiber.context)
      return Effect.updateContext(this.publishOne(event), () => context)
    })

  // ---- payloads from the outside

  union(kind: Kind): AnySchema {
    let union = this.unions.get(kind)
    if (union === undefined) {
      const members =
        kind === "Event"
          ? [...this.eventSchemas.values()]
          : [...(kind === "Request" ? this.requests : this.streams).values()].map((entry) => entry.schema)
      union = members.length === 0 ? (Schema.Never as AnySchema) : (Schema.Union(members as any) as any as AnySchema)
      this.unions.set(kind, union)
    }
    return union
  }

  schemaOf(kind: Kind, tag: string): AnySchema | undefined {
    if (kind === "Event") return this.eventSchemas.get(tag)
    return (kind === "Request" ? this.requests : this.streams).get(tag)?.schema
  }

  /** Decodes with the payload's own class when its tag is known, else with the union (whose error lists them). */
  decode(kind: Kind, payload: unknown): Effect.Effect<any, MessageDecodeError> {
    const tag = hasTag(payload) ? payload._tag : undefined
    const schema = (tag === undefined ? undefined : this.schemaOf(kind, tag)) ?? this.union(kind)
    return Effect.mapError(
      Schema.decodeUnknownEffect(schema)(payload) as Effect.Effect<unknown, Schema.SchemaError>,
      (cause) => new MessageDecodeError({ kind, tag: tag === undefined ? undefined : truncate(tag), cause })
    )
  }

  readonly sendUnknown = (payload: unknown): Effect.Effect<unknown, unknown> =>
    Effect.flatMap(this.decode("Request", payload), this.send)

  readonly streamUnknown = (payload: unknown): Stream.Stream<unknown, unknown> =>
    Stream.unwrap(Effect.map(this.decode("StreamRequest", payload), this.stream))

  readonly publishUnknown = (payload: unknown): Effect.Effect<void, MessageDecodeError> =>
    Effect.flatMap(this.decode("Event", payload), this.publish)
}

// ---------------------------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------------------------

interface LayerOptions {
  readonly requests?: ReadonlyArray<unknown> | undefined
  readonly events?: ReadonlyArray<unknown> | undefined
  readonly eventConcurrency?: M.EventConcurrency | undefined
  readonly maxDepth?: number | undefined
  readonly eventHandlerTimeout?: Duration.Input | undefined
  readonly eventDelivery?: Delivery | undefined
}

/** @internal */
export const DEFAULT_MAX_DEPTH = 64

/** @internal */
export const DEFAULT_EVENT_HANDLER_TIMEOUT: Duration.Duration = Duration.seconds(30)

/** @internal */
export const MAX_DEPTH_LIMIT = 10_000

const invalidOption = (field: string, expected: string, value: unknown): never => {
  throw new InvalidBinding({ tag: "Mediator.layer", field, expected, value })
}

const concurrencyOf = (value: unknown): Concurrency => {
  if (value === undefined || value === "sequential") return 1
  if (value === "unbounded") return "unbounded"
  if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value
  return invalidOption("eventConcurrency", `"sequential", "unbounded" or an integer >= 1`, value)
}

const maxDepthOf = (value: unknown): number => {
  if (value === undefined) return DEFAULT_MAX_DEPTH
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_DEPTH_LIMIT) return value
  return invalidOption("maxDepth", `an integer from 1 to ${MAX_DEPTH_LIMIT}`, value)
}

const eventHandlerTimeoutOf = (value: unknown): Duration.Duration | undefined => {
  if (value === undefined) return DEFAULT_EVENT_HANDLER_TIMEOUT
  const duration = decodeDurationInput(value)
  if (duration === undefined || !Duration.isGreaterThan(duration, Duration.zero)) {
    return invalidOption("eventHandlerTimeout", `a duration > 0 (such as "30 seconds"), or "Infinity"`, value)
  }
  return Duration.isFinite(duration) ? duration : undefined
}

const eventDeliveryOf = (value: unknown): Delivery => {
  if (value === undefined) return "awaited"
  if (value === "awaited" || value === "detached") return value
  return invalidOption("eventDelivery", `"awaited" or "detached"`, value)
}

const settingsOf = (options: LayerOptions): Settings => ({
  concurrency: concurrencyOf(options.eventConcurrency),
  maxDepth: maxDepthOf(options.maxDepth),
  eventHandlerTimeout: eventHandlerTimeoutOf(options.eventHandlerTimeout),
  eventDelivery: eventDeliveryOf(options.eventDelivery)
})

const listOf = (field: string, value: unknown): ReadonlyArray<RawBinding> => {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    throw new InvalidBinding({ tag: "Mediator.layer", field, expected: "an array of bindings", value })
  }
  return flatten(value)
}

/** Turns what a compile step threw into the typed failure of the layer. */
const asBuildError = (tag: string, error: unknown): InvalidBinding => {
  if (error instanceof InvalidBinding) return error
  if (error instanceof Invalid) {
    return new InvalidBinding({ tag, field: error.field, expected: error.expected, value: error.value })
  }
  if (error instanceof InvalidFallbackOptions) {
    return new InvalidBinding({ tag, field: error.field, expected: error.expected, value: error.value })
  }
  throw error
}

const isBinding = (u: unknown): u is RawBinding => typeof u === "object" && u !== null && BindingTypeId in u

const make = (
  options: LayerOptions,
  context: Context.Context<never>,
  scope: Scope.Scope
): Effect.Effect<MediatorRuntime, DuplicateBinding | InvalidBinding> =>
  Effect.suspend((): Effect.Effect<MediatorRuntime, DuplicateBinding | InvalidBinding> => {
    const requests = new Map<string, RequestEntry>()
    const streams = new Map<string, StreamEntry>()
    const events = new Map<string, Array<EventEntry>>()
    const eventSchemas = new Map<string, AnySchema>()
    /** Per event tag, each handler subscribed and whether it was given an explicit id. */
    const eventPrimaries = new Map<string, Map<unknown, boolean>>()
    let settings: Settings
    let current = "Mediator.layer"
    try {
      if (options === null || typeof options !== "object") {
        throw new InvalidBinding({ tag: current, field: "options", expected: "an object", value: options })
      }
      settings = settingsOf(options)
      for (const binding of listOf("requests", options.requests)) {
        const marker = isBinding(binding) ? markerOf(binding.schema) : undefined
        if (marker === undefined || marker.kind === "Event") {
          throw new InvalidBinding({
            tag: current,
            field: "requests",
            expected: "bindings of Mediator.Request or Mediator.StreamRequest classes, made by Mediator.bind",
            value: isBinding(binding) ? binding.schema : binding
          })
        }
        current = marker.tag
        if (requests.has(marker.tag) || streams.has(marker.tag)) {
          return Effect.fail(new DuplicateBinding({ kind: marker.kind, tag: marker.tag }))
        }
        if (marker.kind === "Request") requests.set(marker.tag, compileRequest(binding as RawBinding))
        else streams.set(marker.tag, compileStream(binding as RawBinding))
      }
      current = "Mediator.layer"
      for (const binding of listOf("events", options.events)) {
        const marker = isBinding(binding) ? markerOf(binding.schema) : undefined
        if (marker === undefined || marker.kind !== "Event") {
          throw new InvalidBinding({
            tag: current,
            field: "events",
            expected: "bindings of Mediator.Event classes, made by Mediator.subscribe",
            value: isBinding(binding) ? binding.schema : binding
          })
        }
        current = marker.tag
        const handlers = events.get(marker.tag) ?? []
        const primaries = eventPrimaries.get(marker.tag) ?? new Map<unknown, boolean>()
        const spec = (binding as RawBinding).spec
        const primary = isFallbackSpec(spec) ? spec.primary : spec
        const rawId = (binding as RawBinding).id
        if (rawId !== undefined && (typeof rawId !== "string" || rawId.length === 0)) {
          throw new Invalid("id", "a non-empty string", rawId)
        }
        const id = rawId ?? `${marker.tag}#${handlers.length}`
        // The same handler twice is a mistake unless both subscriptions were named on purpose.
        const twice = primaries.has(primary) && (rawId === undefined || primaries.get(primary) === false)
        if (twice || handlers.some((entry) => entry.id === id)) {
          return Effect.fail(new DuplicateBinding({ kind: "Event", tag: marker.tag, id }))
        }
        primaries.set(primary, rawId !== undefined)
        handlers.push(compileEvent(binding as RawBinding, id))
        events.set(marker.tag, handlers)
        eventPrimaries.set(marker.tag, primaries)
        eventSchemas.set(marker.tag, (binding as RawBinding).schema as AnySchema)
      }
    } catch (error) {
      return Effect.fail(asBuildError(current, error))
    }
    return Effect.succeed(new MediatorRuntime(requests, streams, events, eventSchemas, settings, context, scope))
  })

/** @internal */
export const layer = (options: LayerOptions): Layer.Layer<M.Mediator, DuplicateBinding | InvalidBinding> =>
  Layer.effect(
    MediatorKey,
    Effect.flatMap(Effect.context<never>(), (context) =>
      Effect.flatMap(Effect.scope, (scope) => make(options, context, scope))
    )
  )

// ---------------------------------------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------------------------------------

const mediatorOf = (fiber: Fiber.Fiber<unknown, unknown>): M.Mediator => Context.getUnsafe(fiber.context, MediatorKey)

/** @internal */
export const send = (request: M.AnyRequest): Effect.Effect<any, any, M.Mediator> =>
  Effect.withFiber((fiber) => {
    const mediator = mediatorOf(fiber)
    return mediator instanceof MediatorRuntime ? mediator.sendOn(fiber, request) : mediator.send(request)
  }) as Effect.Effect<any, any, M.Mediator>

/** @internal */
export const stream = (request: M.AnyStreamRequest): Stream.Stream<any, any, M.Mediator> =>
  Stream.unwrap(Effect.withFiber((fiber) => Effect.succeed(mediatorOf(fiber).stream(request))))

/** @internal */
export const publish = (event: M.AnyEvent): Effect.Effect<void, never, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).publish(event))

/** @internal */
export const sendUnknown = (payload: unknown): Effect.Effect<unknown, unknown, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).sendUnknown(payload))

/** @internal */
export const streamUnknown = (payload: unknown): Stream.Stream<unknown, unknown, M.Mediator> =>
  Stream.unwrap(Effect.withFiber((fiber) => Effect.succeed(mediatorOf(fiber).streamUnknown(payload))))

/** @internal */
export const publishUnknown = (payload: unknown): Effect.Effect<void, MessageDecodeError, M.Mediator> =>
  Effect.withFiber((fiber) => mediatorOf(fiber).publishUnknown(payload))
