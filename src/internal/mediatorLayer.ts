import { Duration, Effect, Layer } from "effect"
import type { Context, Scope } from "effect"
import type * as M from "../Mediator.ts"
import { decodeDurationInput } from "./durationInput.ts"
import {
  type AnySchema,
  checkId,
  compileEvent,
  compileRequest,
  compileStream,
  type EventEntry,
  flatten,
  isBinding,
  primaryOf,
  type RawBinding,
  type RequestEntry,
  type StreamEntry
} from "./mediatorBinding.ts"
import { DuplicateBinding, InvalidBinding } from "./mediatorErrors.ts"
import { type Entries, MediatorRuntime, type Settings } from "./mediatorRuntime.ts"
import { markerOf } from "./mediatorSchema.ts"
import { Mediator as MediatorKey } from "./mediatorService.ts"

// Building a mediator: the options are checked and every binding compiled when the layer builds. Anything wrong,
// a malformed binding or an option out of range, fails the layer with `InvalidBinding` naming the message tag (or
// "Mediator.layer") and the field; a type bound twice fails it with `DuplicateBinding`.

/** @internal */
export interface LayerOptions {
  readonly requests?: ReadonlyArray<unknown> | undefined
  readonly events?: ReadonlyArray<unknown> | undefined
  readonly eventConcurrency?: unknown
  readonly maxDepth?: unknown
  readonly eventHandlerTimeout?: unknown
  readonly eventDelivery?: unknown
}

/** @internal */
export const DEFAULT_MAX_DEPTH = 64

/** @internal */
export const MAX_DEPTH_LIMIT = 10_000

/** @internal */
export const DEFAULT_EVENT_HANDLER_TIMEOUT: Duration.Duration = Duration.seconds(30)

const LAYER = "Mediator.layer"

const invalidOption = (field: string, expected: string, value: unknown): never => {
  throw new InvalidBinding({ tag: LAYER, field, expected, value })
}

const concurrencyOf = (value: unknown): Settings["concurrency"] => {
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

const eventDeliveryOf = (value: unknown): Settings["eventDelivery"] => {
  if (value === undefined) return "awaited"
  if (value === "awaited" || value === "detached") return value
  return invalidOption("eventDelivery", `"awaited" or "detached"`, value)
}

const settingsOf = (options: LayerOptions): Settings => {
  if (options === null || typeof options !== "object") invalidOption("options", "an object", options)
  return {
    concurrency: concurrencyOf(options.eventConcurrency),
    maxDepth: maxDepthOf(options.maxDepth),
    eventHandlerTimeout: eventHandlerTimeoutOf(options.eventHandlerTimeout),
    eventDelivery: eventDeliveryOf(options.eventDelivery)
  }
}

const listOf = (field: string, value: unknown): ReadonlyArray<RawBinding> => {
  if (value === undefined) return []
  if (!Array.isArray(value)) return invalidOption(field, "an array of bindings", value)
  return flatten(value)
}

/** The request and streaming request bindings, compiled by tag. */
const compileRequests = (options: LayerOptions) => {
  const requests = new Map<string, RequestEntry>()
  const streams = new Map<string, StreamEntry>()
  for (const binding of listOf("requests", options.requests)) {
    const marker = isBinding(binding) ? markerOf(binding.schema) : undefined
    if (marker === undefined || marker.kind === "Event") {
      invalidOption(
        "requests",
        "bindings of Mediator.Request or Mediator.StreamRequest classes, made by Mediator.bind",
        isBinding(binding) ? binding.schema : binding
      )
    }
    const { kind, tag } = marker!
    if (requests.has(tag) || streams.has(tag)) throw new DuplicateBinding({ kind, tag })
    if (kind === "Request") requests.set(tag, compileRequest(binding))
    else streams.set(tag, compileStream(binding))
  }
  return { requests, streams }
}

/** The event bindings, compiled by tag in subscription order; each handler gets its id. */
const compileEvents = (options: LayerOptions) => {
  const events = new Map<string, Array<EventEntry>>()
  const eventSchemas = new Map<string, AnySchema>()
  /** Per event tag, each handler subscribed and whether it was given an explicit id. */
  const primaries = new Map<string, Map<unknown, boolean>>()
  for (const binding of listOf("events", options.events)) {
    const marker = isBinding(binding) ? markerOf(binding.schema) : undefined
    if (marker === undefined || marker.kind !== "Event") {
      invalidOption(
        "events",
        "bindings of Mediator.Event classes, made by Mediator.subscribe",
        isBinding(binding) ? binding.schema : binding
      )
    }
    const tag = marker!.tag
    const handlers = events.get(tag) ?? []
    const seen = primaries.get(tag) ?? new Map<unknown, boolean>()
    const primary = primaryOf(binding.spec)
    const explicitId = checkId(tag, binding.id)
    const id = explicitId ?? `${tag}#${handlers.length}`
    // The same handler twice is a mistake unless both subscriptions were named on purpose.
    const twice = seen.has(primary) && (explicitId === undefined || seen.get(primary) === false)
    if (twice || handlers.some((entry) => entry.id === id)) throw new DuplicateBinding({ kind: "Event", tag, id })
    seen.set(primary, explicitId !== undefined)
    handlers.push(compileEvent(binding, id))
    events.set(tag, handlers)
    primaries.set(tag, seen)
    eventSchemas.set(tag, binding.schema as AnySchema)
  }
  return { events, eventSchemas }
}

/** What a compile step threw, as the layer's typed failure (anything else is a bug: it stays a defect). */
const asBuildError = (error: unknown): DuplicateBinding | InvalidBinding => {
  if (error instanceof InvalidBinding || error instanceof DuplicateBinding) return error
  throw error
}

const make = (
  options: LayerOptions,
  context: Context.Context<never>,
  scope: Scope.Scope
): Effect.Effect<MediatorRuntime, DuplicateBinding | InvalidBinding> =>
  Effect.suspend(() => {
    let settings: Settings
    let entries: Entries
    try {
      settings = settingsOf(options)
      entries = { ...compileRequests(options), ...compileEvents(options) }
    } catch (error) {
      return Effect.fail(asBuildError(error))
    }
    return Effect.succeed(new MediatorRuntime(entries, settings, context, scope))
  })

/** @internal */
export const layer = (options: LayerOptions): Layer.Layer<M.Mediator, DuplicateBinding | InvalidBinding> =>
  Layer.effect(
    MediatorKey,
    Effect.flatMap(Effect.context<never>(), (context) =>
      Effect.flatMap(Effect.scope, (scope) => make(options, context, scope))
    )
  )
